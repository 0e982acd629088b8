//! How results reach the terminal: key/value views with human times for
//! people, JSON with RFC 3339 times for scripts, notes and warnings on stderr,
//! colour only on a terminal and never with `NO_COLOR` (or `TERM=dumb`).
//! Tables are [`crate::table`]'s.

use serde::Serialize;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use time::OffsetDateTime;

use crate::error::CliError;

static COLOUR: AtomicBool = AtomicBool::new(false);

fn colour_allowed() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    !no_color && !dumb
}

/// Decides colour once, from the terminals and the environment.
pub fn init_colour(stdout_tty: bool) {
    let allowed = colour_allowed();
    let out = allowed && stdout_tty;
    COLOUR.store(out, Ordering::Relaxed);
    console::set_colors_enabled(out);
    console::set_colors_enabled_stderr(allowed && std::io::stderr().is_terminal());
}

pub fn colour() -> bool {
    COLOUR.load(Ordering::Relaxed)
}

/// The CLI's one clock.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Prints `key  value` lines, keys aligned, for one object.
pub fn print_kv(rows: &[(&str, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let key = format!("{k:width$}");
        let key = console::style(key).bold();
        let mut lines = v.lines();
        println!("{key}  {}", lines.next().unwrap_or(""));
        for more in lines {
            println!("{:width$}  {more}", "");
        }
    }
}

/// Pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::failed(format!("cannot encode the answer as JSON: {e}")))?;
    println!("{s}");
    Ok(())
}

/// Raw bytes on stdout (a script, a man page). A reader that went away
/// (`sigil man | head`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failed(format!("cannot write to stdout: {e}"))),
    }
}

/// A notice for people, on stderr, so stdout stays the result.
pub fn note(msg: &str) {
    eprintln!("{msg}");
}

pub fn warn(msg: &str) {
    eprintln!(
        "{} {}",
        console::style("warning:").yellow().bold().for_stderr(),
        crate::error::redact(msg)
    );
}

/// A year of 365.25 days, in seconds.
const YEAR: u64 = 31_557_600;

/// `3m ago`, `in 100d`, `in 5y`, `just now`: the largest unit that fits, rounded.
pub fn relative(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (t - now).whole_seconds();
    let abs = secs.unsigned_abs();
    if abs < 5 {
        return "just now".into();
    }
    // Rounded to the nearest unit: a 100-day token issued a second ago
    // expires "in 100d", not "in 99d".
    let round = |unit: u64| (abs + unit / 2) / unit;
    let amount = if abs < 60 {
        format!("{abs}s")
    } else if abs < 3_600 - 30 {
        format!("{}m", round(60))
    } else if abs < 2 * 86_400 - 1_800 {
        format!("{}h", round(3_600))
    } else if abs < 365 * 86_400 {
        format!("{}d", round(86_400))
    } else {
        // Past a year, days stop being readable: `in 5y`, `in 1.5y`.
        let tenths = (abs * 10 + YEAR / 2) / YEAR;
        if tenths.is_multiple_of(10) || tenths >= 100 {
            format!("{}y", (tenths + 5) / 10)
        } else {
            format!("{}.{}y", tenths / 10, tenths % 10)
        }
    };
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// `2025-06-01 12:00 UTC`
pub fn absolute(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// `2025-06-01 12:00 UTC (in 99d)`, for views.
pub fn when(t: OffsetDateTime, now: OffsetDateTime) -> String {
    format!("{} ({})", absolute(t), relative(t, now))
}

/// An optional time for a table: relative, or `never`.
pub fn relative_or(t: Option<OffsetDateTime>, now: OffsetDateTime, none: &str) -> String {
    t.map(|t| relative(t, now))
        .unwrap_or_else(|| none.to_string())
}

/// `-` for an empty cell, so columns stay visible.
pub fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn relative_times() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now + Duration::seconds(30), now), "in 30s");
        assert_eq!(relative(now - Duration::minutes(3), now), "3m ago");
        assert_eq!(relative(now + Duration::hours(36), now), "in 36h");
        assert_eq!(relative(now + Duration::days(100), now), "in 100d");
        assert_eq!(relative(now - Duration::days(3), now), "3d ago");
        assert_eq!(
            relative(now + Duration::days(100) - Duration::seconds(2), now),
            "in 100d"
        );
        assert_eq!(
            relative(now + Duration::hours(24) - Duration::seconds(2), now),
            "in 24h"
        );
        assert_eq!(relative(now + Duration::seconds(3_599), now), "in 1h");
        assert_eq!(relative(now + Duration::days(364), now), "in 364d");
        assert_eq!(relative(now + Duration::days(365), now), "in 1y");
        assert_eq!(relative(now + Duration::days(5 * 365 + 1), now), "in 5y");
        assert_eq!(relative(now + Duration::days(548), now), "in 1.5y");
        assert_eq!(relative(now - Duration::days(730), now), "2y ago");
        assert_eq!(relative(now + Duration::days(100 * 365), now), "in 100y");
    }

    #[test]
    fn absolute_times() {
        let t = OffsetDateTime::UNIX_EPOCH + Duration::seconds(1_896_091_200);
        assert_eq!(absolute(t), "2030-01-31 12:00 UTC");
    }
}
