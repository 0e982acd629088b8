//! `sigil tokens report-leak`: strings found somewhere public, one a line
//! on stdin, sent to `POST /v1/leaks`, which revokes each that is a live
//! Sigil token.
//!
//! The report is anonymous on purpose: whoever found a token may have no
//! account, and a reporter's own token has no business travelling with
//! strings pasted from a public place. So the client is built without any
//! token, whatever `--token`, `SIGIL_TOKEN` or the login say. The server's
//! answer is a count and nothing else, and this command prints only that:
//! never an input line, never which lines were tokens.

use sigil_proto::api::LeakReport;
use sigil_proto::client::Client;
use sigil_proto::rules::{self, MAX_LEAK_TOKENS};
use sigil_proto::SecretString;
use std::io::{BufRead, IsTerminal};

use super::args::ReportLeakArgs;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output;

/// The non-blank lines of `input`, trimmed, each kept as a secret.
fn read_lines(input: impl BufRead) -> Result<Vec<SecretString>, CliError> {
    let mut out = Vec::new();
    for line in input.lines() {
        // The error names the stream, never the line.
        let line = line.map_err(|e| CliError::failed(format!("cannot read stdin: {e}")))?;
        let t = line.trim();
        if !t.is_empty() {
            out.push(SecretString::new(t));
        }
    }
    Ok(out)
}

/// The requests for `lines`: at most [`MAX_LEAK_TOKENS`] strings each, the
/// source on every one (each is reported, audited and rate limited alone).
fn batches(lines: Vec<SecretString>, source: Option<&str>) -> Vec<LeakReport> {
    lines
        .chunks(MAX_LEAK_TOKENS)
        .map(|chunk| LeakReport {
            tokens: chunk.to_vec(),
            source: source.map(str::to_string),
        })
        .collect()
}

pub(super) async fn report_leak(ctx: &Ctx, a: ReportLeakArgs) -> Result<(), CliError> {
    let source = a.source.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = source {
        rules::check_leak_source(s)
            .map_err(|e| CliError::usage(format!("invalid --source: {}", e.message)))?;
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        output::note("Paste the tokens, one a line, then Ctrl-D.");
    }
    let lines = read_lines(stdin.lock())?;
    if lines.is_empty() {
        return Err(CliError::usage(
            "no tokens: report-leak reads them from stdin, one a line \
             (e.g. `sigil tokens report-leak --source URL < found.txt`)",
        ));
    }
    // Anonymous: no token, whatever the context holds.
    let client = Client::new(&ctx.endpoint, None)?;
    let mut received: u64 = 0;
    for report in batches(lines, source) {
        match client.report_leak(&report).await {
            Ok(r) => received += r.received,
            Err(e) => {
                if received > 0 {
                    output::note(&format!("received {received} before this error"));
                }
                return Err(e.into());
            }
        }
    }
    if ctx.json() {
        return output::print_json(&serde_json::json!({ "received": received }));
    }
    println!("received {received}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_and_large_inputs_batched() {
        let input = "a.b.c\n\n  \n d.e.f \r\nlast";
        let lines = read_lines(input.as_bytes()).unwrap();
        let shown: Vec<&str> = lines.iter().map(|l| l.expose()).collect();
        assert_eq!(shown, ["a.b.c", "d.e.f", "last"]);

        let many: String = (0..2500).map(|i| format!("t{i}\n\n")).collect();
        let b = batches(read_lines(many.as_bytes()).unwrap(), Some("a gist"));
        let sizes: Vec<usize> = b.iter().map(|r| r.tokens.len()).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
        assert!(b.iter().all(|r| r.source.as_deref() == Some("a gist")));
        assert_eq!(b[2].tokens[499].expose(), "t2499");
        assert!(batches(vec![], None).is_empty());
    }

    #[test]
    fn a_report_never_prints_what_it_sends() {
        // Debug of the request (what an error or a log could show) hides the strings.
        let b = batches(vec![SecretString::new("eyJhbGciOi.secret.part")], None);
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("secret.part"), "{dbg}");
    }
}
