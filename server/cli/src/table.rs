//! The table engine every list command prints with (`tokens list`, `bots
//! list`, `apps list`, `orgs list`): borderless, as kubectl and flyctl print
//! them, bold headers when colour is on, two spaces between columns and no
//! trailing blanks.
//!
//! # Fitting the terminal
//! A list says how each of its columns may give up width ([`Fit`]); the engine
//! does the rest, the same way for every list:
//!
//! - on a terminal whose width is known, a table that would be wider gives up
//!   width one display column at a time, from the widest [`Fit::Cut`] or
//!   [`Fit::List`] column, down to its header's width (and at least 8). Those
//!   cells are cut with `…` (a list as `a b (+N)`), never wrapped: one line
//!   per row stays one line;
//! - [`Fit::Whole`] columns are never cut nor wrapped: ids and names (what the
//!   next command needs) and the short time columns;
//! - in a pipe nothing is cut, so grep and awk see every cell whole.

use comfy_table::{presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table};
use std::io::IsTerminal;

use crate::error::CliError;
use crate::output;

/// How a column gives up width when the table is too wide for the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Never cut: ids, names, times.
    Whole,
    /// Cut with `…`.
    Cut,
    /// A space-separated list, cut as `a b (+N)`.
    List,
}

/// One column of a list: its header, how it fits, how its cells look.
pub trait Column: Copy {
    fn header(self) -> &'static str;
    fn fit(self) -> Fit;
    /// The cell showing `text`: where a column colours its values.
    fn cell(self, text: String) -> Cell {
        Cell::new(text)
    }
}

/// A column given by its header and fit, for lists whose columns are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub header: &'static str,
    pub fit: Fit,
}

impl Col {
    /// A column never cut.
    pub const fn whole(header: &'static str) -> Self {
        Col {
            header,
            fit: Fit::Whole,
        }
    }

    /// A column cut with `…` when the table is too wide.
    pub const fn cut(header: &'static str) -> Self {
        Col {
            header,
            fit: Fit::Cut,
        }
    }
}

impl Column for Col {
    fn header(self) -> &'static str {
        self.header
    }
    fn fit(self) -> Fit {
        self.fit
    }
}

/// The columns named in `-c a,b,c`, matched loosely (any case, `_` or a
/// space for `-`) against `all`; a usage error naming the choices otherwise.
pub fn parse_columns<C: Copy>(all: &[(&str, C)], raw: &[String]) -> Result<Vec<C>, CliError> {
    raw.iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            let norm = c.trim().to_ascii_lowercase().replace(['_', ' '], "-");
            all.iter()
                .find(|(n, _)| *n == norm)
                .map(|(_, c)| *c)
                .ok_or_else(|| {
                    let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
                    CliError::usage(format!(
                        "unknown column {c:?} for -c: expected some of {}",
                        names.join(", ")
                    ))
                })
        })
        .collect()
}

/// The widest each column may be so that the table fits `width`: the
/// columns that may be cut give up a column at a time, the widest first,
/// down to their header's width (and at least 8).
pub fn fit<C: Column>(columns: &[C], rows: &[Vec<String>], width: u16) -> Vec<usize> {
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| console::measure_text_width(&r[i]))
                .chain([c.header().len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let gaps = 2 * columns.len().saturating_sub(1);
    let floor = |c: C| c.header().len().max(8);
    while widths.iter().sum::<usize>() + gaps > usize::from(width) {
        let widest = (0..columns.len())
            .filter(|i| columns[*i].fit() != Fit::Whole && widths[*i] > floor(columns[*i]))
            .max_by_key(|i| widths[*i]);
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
    widths
}

/// The lines of a table of `rows` (one text per column): fitted to `width`
/// on a terminal, whole in a pipe (`None`).
pub fn render<C: Column>(columns: &[C], rows: Vec<Vec<String>>, width: Option<u16>) -> Vec<String> {
    let limits = width.map(|w| fit(columns, &rows, w));
    let headers: Vec<&str> = columns.iter().map(|c| c.header()).collect();
    let mut table = table_sized(&headers, width);
    for row in rows {
        table.add_row(
            row.into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let c = columns[i];
                    let v = match (limits.as_ref().map(|l| l[i]), c.fit()) {
                        (Some(max), Fit::List) => truncate_list(&v, max),
                        (Some(max), Fit::Cut) => truncate(&v, max),
                        _ => v,
                    };
                    c.cell(v)
                })
                .collect::<Vec<_>>(),
        );
    }
    for (i, c) in columns.iter().enumerate() {
        if c.fit() == Fit::Whole {
            if let Some(col) = table.column_mut(i) {
                col.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    table_lines(table)
}

/// A list as every `… list` command prints it: the items as JSON with
/// `-o json`, `empty` as a note when there are none, else a table with one
/// row per item, fitted to the terminal.
pub fn print_list<T: serde::Serialize, C: Column>(
    ctx: &crate::context::Ctx,
    items: &[T],
    empty: &str,
    columns: &[C],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(), crate::error::CliError> {
    if ctx.json() {
        return crate::output::print_json(items);
    }
    if items.is_empty() {
        crate::output::note(empty);
        return Ok(());
    }
    print(columns, items.iter().map(row).collect());
    Ok(())
}

/// Prints a table of `rows`, fitted to the terminal (see [`render`]).
pub fn print<C: Column>(columns: &[C], rows: Vec<Vec<String>>) {
    for line in render(columns, rows, terminal_width()) {
        println!("{line}");
    }
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

/// A borderless table laid out in `width` columns, or never wrapped (`None`).
fn table_sized(headers: &[&str], width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    if output::colour() {
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
fn table_lines(mut t: Table) -> Vec<String> {
    let n = t.column_count();
    for (i, col) in t.column_iter_mut().enumerate() {
        col.set_padding((0, if i + 1 == n { 0 } else { 2 }));
    }
    t.lines().map(|l| l.trim_end().to_string()).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn only_the_columns_that_may_be_cut_give_up_width() {
        const COLUMNS: &[Col] = &[Col::whole("NAME"), Col::cut("DESCRIPTION")];
        let rows = vec![vec![
            "a-rather-long-bot-name".to_string(),
            "a description far longer than the terminal leaves room for".to_string(),
        ]];
        let lines = render(COLUMNS, rows.clone(), Some(50));
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines.iter().all(|l| console::measure_text_width(l) <= 50));
        assert!(lines[1].starts_with("a-rather-long-bot-name  a description"));
        assert!(lines[1].ends_with('…'), "{}", lines[1]);
        // In a pipe, whole.
        let whole = render(COLUMNS, rows, None);
        assert!(whole[1].ends_with("room for"), "{}", whole[1]);
    }
}
