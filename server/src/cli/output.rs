//! How results reach the terminal: tables and key/value views with human
//! times for people, JSON with RFC 3339 times for scripts, colour only on a
//! terminal and never with `NO_COLOR` (or `TERM=dumb`).

use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};
use serde::Serialize;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use time::OffsetDateTime;

use super::error::CliError;

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

/// The terminal's width, on a terminal whose width is known; `None` in a
/// pipe, where a line per row is what grep and awk expect.
pub fn terminal_width() -> Option<u16> {
    std::io::stdout()
        .is_terminal()
        .then(|| console::Term::stdout().size_checked())
        .flatten()
        .map(|(_, cols)| cols)
        .filter(|cols| *cols >= 40)
}

/// A borderless table, as kubectl and flyctl print them: bold headers when
/// colour is on, wrapped to the terminal's width on a terminal.
pub fn table(headers: &[&str]) -> Table {
    table_sized(headers, terminal_width())
}

/// A borderless table wrapped to `width` columns, or never wrapped (`None`).
pub fn table_sized(headers: &[&str], width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    if colour() {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    match width {
        Some(cols) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(cols);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(
        headers
            .iter()
            .map(|h| Cell::new(h).add_attribute(Attribute::Bold)),
    );
    t
}

/// The lines of a table, two spaces between columns and no trailing blanks.
pub fn table_lines(mut t: Table) -> Vec<String> {
    let n = t.column_count();
    for (i, col) in t.column_iter_mut().enumerate() {
        col.set_padding((0, if i + 1 == n { 0 } else { 2 }));
    }
    t.lines().map(|l| l.trim_end().to_string()).collect()
}

/// Prints a table with two spaces between columns and no trailing blanks.
pub fn print_table(t: Table) {
    for line in table_lines(t) {
        println!("{line}");
    }
}

/// `text` cut to `width` display columns, ending in `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    if console::measure_text_width(text) <= width {
        return text.to_string();
    }
    console::truncate_str(text, width.max(1), "…").into_owned()
}

/// A space-separated list cut to `width` columns: the entries that fit
/// whole, then `(+N)` for the rest; a first entry too long for the width is
/// itself cut with `…` (`machines:0196f3c2… (+1)`).
pub fn truncate_list(text: &str, width: usize) -> String {
    if console::measure_text_width(text) <= width {
        return text.to_string();
    }
    let items: Vec<&str> = text.split(' ').filter(|s| !s.is_empty()).collect();
    let more = |shown: usize| {
        if shown < items.len() {
            format!(" (+{})", items.len() - shown)
        } else {
            String::new()
        }
    };
    let mut shown = 1;
    while shown < items.len() {
        let candidate = format!("{}{}", items[..=shown].join(" "), more(shown + 1));
        if console::measure_text_width(&candidate) > width {
            break;
        }
        shown += 1;
    }
    let tail = more(shown);
    let head = items[..shown].join(" ");
    let room = width.saturating_sub(tail.len()).max(2);
    format!("{}{tail}", truncate(&head, room))
}

/// A cell coloured by a token's status.
pub fn status_cell(status: &str) -> Cell {
    let c = Cell::new(status);
    match status {
        "active" => c.fg(Color::Green),
        "revoked" => c.fg(Color::Red),
        "expired" => c.fg(Color::DarkYellow),
        _ => c,
    }
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

/// A notice for people, on stderr, so stdout stays the result.
pub fn note(msg: &str) {
    eprintln!("{msg}");
}

pub fn warn(msg: &str) {
    eprintln!(
        "{} {}",
        console::style("warning:").yellow().bold().for_stderr(),
        super::error::redact(msg)
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
    fn truncation_marks_what_it_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("deploy-production", 10), "deploy-pr…");
        let two = "machines:0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d bots:*";
        assert_eq!(truncate_list(two, 200), two);
        assert_eq!(truncate_list(two, 23), "machines:0196f3c2… (+1)");
        assert_eq!(truncate_list("a:* b:* c:1234567890", 14), "a:* b:* (+1)");
        for w in [10, 14, 20, 24, 30] {
            assert!(
                console::measure_text_width(&truncate_list(two, w)) <= w,
                "{w}"
            );
        }
    }

    #[test]
    fn absolute_times() {
        let t = OffsetDateTime::UNIX_EPOCH + Duration::seconds(1_896_091_200);
        assert_eq!(absolute(t), "2030-01-31 12:00 UTC");
    }
}
