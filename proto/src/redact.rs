//! Redaction of JWT-shaped text: the one copy the server (errors, logs,
//! stored and sent texts) and the CLI (everything it prints) use.
//!
//! # What counts as JWT-shaped
//! Every Sigil token starts with `eyJ` (`{"` in base64url) followed by
//! base64url characters and dots. A run is redacted wherever it starts —
//! after any character, not only after a separator (`aeyJ…`, `%3DeyJ…`,
//! `Bearer%20eyJ…`) — and percent-encoding does not hide it: each character
//! may also be written `%XX` (`%2E` for a dot, `%65%79%4A` for `eyJ`) or
//! doubly encoded `%25XX`, in upper or lower case, as URLs and query strings
//! carry it. The whole run, encoded or not, becomes [`REDACTED`].
//!
//! # The trade-off
//! Any `eyJ` starts a redaction, so a word that merely contains it
//! (`heyJoe`) loses its tail in an error message or a stored leak source.
//! A false positive costs a few letters of an echo; a false negative puts a
//! live credential in a log, an audit entry or a webhook delivery. Other
//! encodings (base64 of a whole token, HTML entities, JSON `\u` escapes, which
//! the server decodes before it sees the text) are out of scope: nothing in
//! Sigil writes them.

use std::borrow::Cow;

/// What a redacted JWT becomes. Redacting it again leaves it as it is.
pub const REDACTED: &str = "eyJ…<redacted>";

fn is_jwt_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

fn hex_byte(s: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    match s {
        [h, l, ..] => Some((digit(*h)? * 16 + digit(*l)?) as u8),
        _ => None,
    }
}

/// The JWT character at the start of `s` and how many bytes spell it:
/// itself, `%XX`, or `%25XX`.
fn unit(s: &[u8]) -> Option<(u8, usize)> {
    match s.first()? {
        b'%' => {
            let b = hex_byte(&s[1..])?;
            if is_jwt_byte(b) {
                return Some((b, 3));
            }
            if b == b'%' {
                let b = hex_byte(s.get(3..)?)?;
                return is_jwt_byte(b).then_some((b, 5));
            }
            None
        }
        &b if is_jwt_byte(b) => Some((b, 1)),
        _ => None,
    }
}

/// The length in bytes of the JWT-shaped run at the start of `s`, if one
/// starts there (its decoded text begins with `eyJ`).
fn run_at(s: &[u8]) -> Option<usize> {
    let mut at = 0;
    for want in *b"eyJ" {
        let (b, n) = unit(&s[at..])?;
        if b != want {
            return None;
        }
        at += n;
    }
    let mut last = None;
    while let Some((b, n)) = unit(&s[at..]) {
        at += n;
        last = Some((b, n));
    }
    // A dot that ends the run ends the sentence (`… {jwt}.`): left standing,
    // it tells nothing (at most that the signature of an `alg: none` token is empty).
    match last {
        Some((b'.', n)) => Some(at - n),
        _ => Some(at),
    }
}

/// Where the next JWT-shaped run starts in `s` at or after `from`, and its length.
fn next_run(s: &str, mut from: usize) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    while from < bytes.len() {
        let at = from
            + bytes[from..]
                .iter()
                .position(|b| matches!(b, b'e' | b'%'))?;
        if bytes[at..].starts_with(REDACTED.as_bytes()) {
            from = at + REDACTED.len();
            continue;
        }
        if let Some(n) = run_at(&bytes[at..]) {
            return Some((at, n));
        }
        from = at + 1;
    }
    None
}

/// `text` with every JWT-shaped run replaced by [`REDACTED`] (borrowed when
/// there was none). Idempotent.
pub fn redact_jwts(text: &str) -> Cow<'_, str> {
    let Some(first) = next_run(text, 0) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut found = Some(first);
    while let Some((at, n)) = found {
        out.push_str(&text[last..at]);
        out.push_str(REDACTED);
        last = at + n;
        found = next_run(text, last);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Whether `text` holds anything [`redact_jwts`] would replace.
pub fn contains_jwt(text: &str) -> bool {
    next_run(text, 0).is_some()
}

/// Whether `text` holds a whole token: `eyJ`, base64url, a dot, base64url, a
/// dot (the signature may be empty), in any of the encodings above. The
/// stricter test for input that is stored ([`crate::rules::check_no_token`]):
/// a word such as `keyJson` passes it, a pasted token does not.
pub fn contains_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some((at, n)) = next_run(text, from) {
        // Decoded, with the dot that may end the run.
        let mut decoded = Vec::with_capacity(n);
        let mut i = at;
        while let Some((b, k)) = unit(&bytes[i..]) {
            decoded.push(b);
            i += k;
        }
        let mut parts = decoded.split(|b| *b == b'.');
        let header = parts.next().map_or(0, <[u8]>::len);
        let payload = parts.next().map_or(0, <[u8]>::len);
        if header > 3 && payload > 0 && parts.next().is_some() {
            return true;
        }
        from = at + n;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JWT: &str =
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4IiwianRpIjoiMSJ9.c2lnbmF0dXJlX2hlcmU";

    #[test]
    fn after_any_character_and_through_percent_encoding() {
        for (input, want) in [
            (format!("owner \"{JWT}\""), format!("owner \"{REDACTED}\"")),
            (format!("a{JWT}"), format!("a{REDACTED}")),
            (
                format!("x%3Ftoken%3D{JWT}&y"),
                format!("x%3Ftoken%3D{REDACTED}&y"),
            ),
            (
                format!("auth=Bearer%20{JWT}"),
                format!("auth=Bearer%20{REDACTED}"),
            ),
            (JWT.replace('.', "%2E"), REDACTED.to_string()),
            (JWT.replace('.', "%2e"), REDACTED.to_string()),
            (JWT.replace('.', "%252E"), REDACTED.to_string()),
            (format!("%65%79%4A{}", &JWT[3..]), REDACTED.to_string()),
            (
                "a eyJ b xeyJkeep".into(),
                format!("a {REDACTED} b x{REDACTED}"),
            ),
            (
                "plain text, 100% sure".into(),
                "plain text, 100% sure".into(),
            ),
            (
                format!("{JWT} and {JWT}."),
                format!("{REDACTED} and {REDACTED}."),
            ),
        ] {
            let got = redact_jwts(&input);
            assert_eq!(got, want, "{input}");
            assert_eq!(redact_jwts(&got), got, "idempotent on {got}");
        }
        assert!(matches!(redact_jwts("nothing"), Cow::Borrowed(_)));
        assert!(contains_jwt(&format!("…{JWT}…")) && !contains_jwt("eyj, ey J"));
        for t in [
            JWT.to_string(),
            format!("a{JWT}b"),
            JWT.replace('.', "%2E"),
            "x eyJa.b. y".into(),
        ] {
            assert!(contains_token(&t), "{t}");
        }
        for t in [
            "keyJson files",
            "eyJabc",
            "eyJabc.def",
            "eyJ..",
            "eyJa..b",
            "redacted: eyJ…<redacted>",
        ] {
            assert!(!contains_token(t), "{t}");
        }
    }

    /// A JWT-shaped string: `eyJ`, then three base64url segments.
    fn token() -> impl Strategy<Value = String> {
        let seg = "[A-Za-z0-9_-]{1,60}";
        (seg, seg, seg).prop_map(|(h, p, s)| format!("eyJ{h}.{p}.{s}"))
    }

    /// `t` written as a URL, a query string or a careless encoder might.
    fn encode(t: &str, how: u8) -> String {
        let pct = |b: u8| format!("%{b:02X}");
        match how % 6 {
            0 => t.to_string(),
            1 => t.replace('.', "%2E"),
            2 => t.replace('.', "%2e"),
            3 => t.bytes().map(pct).collect(),
            4 => t.bytes().map(|b| format!("%25{b:02x}")).collect(),
            _ => t
                .bytes()
                .enumerate()
                .map(|(i, b)| {
                    if i % 3 == 0 {
                        pct(b)
                    } else {
                        (b as char).to_string()
                    }
                })
                .collect(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whatever stands around it and however it is encoded, no part of
        /// the token longer than its `eyJ` start survives.
        #[test]
        fn no_token_survives(
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
            t in token(),
            how in any::<u8>(),
        ) {
            let text = format!("{before}{}{after}", encode(&t, how));
            let out = redact_jwts(&text);
            let (_, payload) = t.split_once('.').unwrap_or_default();
            prop_assert!(!out.contains(&t), "{out}");
            prop_assert!(!out.contains(&encode(&t, how)), "{out}");
            let decoded = out.replace("%25", "%").replace("%2E", ".").replace("%2e", ".");
            prop_assert!(!decoded.contains(payload) || before.contains(payload) || after.contains(payload), "{out}");
            prop_assert!(out.contains(REDACTED));
            prop_assert_eq!(redact_jwts(&out), out.clone());
        }
    }
}
