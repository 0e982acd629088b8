//! Durations and expiries as the spec writes them.
//!
//! Units: `s`, `m`, `h`, `d`, `w`, `mo` (30 days), `y` (365 days), in any
//! combination of whole numbers (`1h30m`, Go's `175200h0m0s`). An expiry is a
//! duration from now or an absolute RFC 3339 time.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const ACCEPTED_FORMS: &str = "a duration such as 30s, 15m, 36h, 100d, 2w, 6mo (30 days), 1y (365 days), a combination such as 1h30m or 175200h0m0s, or an RFC 3339 time such as 2030-01-31T12:00:00Z";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} {value:?}: expected {ACCEPTED_FORMS}")]
pub struct DurationError {
    pub field: &'static str,
    pub value: String,
}

/// Parses a duration into whole seconds. Zero is refused: a token must expire later than now.
pub fn parse_duration(value: &str) -> Result<i64, DurationError> {
    parse_duration_for("expiry", value)
}

/// As [`parse_duration`], naming `field` in the error.
pub fn parse_duration_for(field: &'static str, value: &str) -> Result<i64, DurationError> {
    let err = || DurationError {
        field,
        value: value.to_string(),
    };
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return Err(err());
    }
    let mut total: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 12 {
            return Err(err());
        }
        let n: i64 = value[start..i].parse().map_err(|_| err())?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit: i64 = match &value[unit_start..i] {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "mo" => 30 * 86_400,
            "y" => 365 * 86_400,
            _ => return Err(err()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
    }
    // Beyond ~1000 years is certainly a typo, and keeps arithmetic on timestamps safe.
    if total <= 0 || total > 1000 * 365 * 86_400 {
        return Err(err());
    }
    Ok(total)
}

/// Whether `value` is written as a duration (groups of 1 to 12 digits, each
/// followed by a unit), whatever its total: a duration of zero or of more
/// than 1000 years is well-formed, and refused for what it means.
pub fn is_duration_syntax(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 12 {
            return false;
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        if !matches!(
            &value[unit_start..i],
            "s" | "m" | "h" | "d" | "w" | "mo" | "y"
        ) {
            return false;
        }
    }
    !bytes.is_empty()
}

/// When a token expires: in some seconds from now, or at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    In(i64),
    At(OffsetDateTime),
}

impl Expiry {
    /// Parses `value` as a duration or, failing that, an RFC 3339 time.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, DurationError> {
        if let Ok(secs) = parse_duration_for(field, value) {
            return Ok(Expiry::In(secs));
        }
        OffsetDateTime::parse(value, &Rfc3339)
            .map(Expiry::At)
            .map_err(|_| DurationError {
                field,
                value: value.to_string(),
            })
    }

    /// The absolute expiry in unix seconds, given `now` in unix seconds.
    pub fn resolve(&self, now: i64) -> i64 {
        match self {
            Expiry::In(secs) => now.saturating_add(*secs),
            Expiry::At(t) => t.unix_timestamp(),
        }
    }
}

/// Formats seconds compactly (`100d`, `1h30m`), for messages and tables.
pub fn format_duration(mut secs: i64) -> String {
    if secs <= 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= len {
            out.push_str(&format!("{}{unit}", secs / len));
            secs %= len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let table: &[(&str, i64)] = &[
            ("30s", 30),
            ("15m", 900),
            ("36h", 36 * 3600),
            ("100d", 100 * 86_400),
            ("2w", 14 * 86_400),
            ("6mo", 180 * 86_400),
            ("1y", 365 * 86_400),
            ("1h30m", 5_400),
            ("175200h0m0s", 175_200 * 3600),
            (
                "1y2mo3w4d5h6m7s",
                365 * 86_400 + 60 * 86_400 + 25 * 86_400 + 5 * 3600 + 367,
            ),
        ];
        for (input, secs) in table {
            assert_eq!(parse_duration(input), Ok(*secs), "{input}");
        }
    }

    #[test]
    fn rejected_forms_show_the_accepted_ones() {
        for bad in [
            "",
            "0s",
            "0h0m",
            "10",
            "h",
            "1.5h",
            "-1h",
            "1 h",
            "1H",
            "1x",
            "10mins",
            "1h30",
            "forever",
            "99999999999999d",
            "1001y",
        ] {
            let e = parse_duration(bad).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("expiry") && msg.contains("100d") && msg.contains("RFC 3339"),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn expiry_takes_durations_and_times() {
        assert_eq!(Expiry::parse("expiry", "1h").unwrap().resolve(1000), 4600);
        let at = Expiry::parse("expires_at", "2030-01-31T12:00:00Z").unwrap();
        assert_eq!(at.resolve(0), 1_896_091_200);
        let e = Expiry::parse("expires_at", "next tuesday").unwrap_err();
        assert_eq!(e.field, "expires_at");
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(5_400), "1h30m");
        assert_eq!(format_duration(100 * 86_400), "100d");
    }
}
