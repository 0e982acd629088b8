//! No import cycle between the files of `server/src`, `server/cli/src` and
//! `proto/src` (issue #18): a file must not reach itself through
//! `crate::…`/`super::…`/`self::…` paths.
//!
//! A small reader of our own over the source (no `cargo-modules`, which
//! would need a second toolchain build): every file is a module (`lib.rs` the
//! crate, `a/mod.rs` → `a`, `a/b.rs` → `a::b`); every path in a `use` tree
//! or in code (comments stripped) is resolved to the longest prefix that is a
//! file; that is an edge. Not counted: a folder's `mod.rs` (or `lib.rs`)
//! naming its own descendants (declaring and re-exporting its children is
//! what it is for), a file naming itself, and `super::` inside an inline
//! `mod … { }` (its `tests` module reaching the file). A cycle is a strongly
//! connected component of more than one file; the test prints each one.
//!
//! How to fix one: move the shared part down (into `domain/`, `store/`, or a
//! file both sides may import), or pass the narrow piece as an argument.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path, `["a", "b"]` for `crate::a::b`.
type ModPath = Vec<String>;

/// Every `.rs` file under `src` by module path.
fn modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    fn walk(dir: &Path, prefix: &ModPath, out: &mut BTreeMap<ModPath, PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                let mut m = prefix.clone();
                m.push(name);
                walk(&p, &m, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut m = prefix.clone();
                match stem {
                    // The binary's root is a crate of its own: not a module of the library.
                    "main" if prefix.is_empty() => continue,
                    "lib" if prefix.is_empty() => {}
                    "mod" => {}
                    s => m.push(s.to_string()),
                }
                out.insert(m, p);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &Vec::new(), &mut out);
    out
}

/// Whether the file of `m` is a folder's `mod.rs` or the crate root.
fn is_folder(files: &BTreeMap<ModPath, PathBuf>, m: &ModPath) -> bool {
    files.get(m).is_some_and(|p| {
        let n = p.file_name().unwrap();
        n == "mod.rs" || (m.is_empty() && n == "lib.rs")
    })
}

/// The source without comments and string literals (their text is not code).
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r' && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) && {
            let j = i + 1 + b[i + 1..].iter().take_while(|c| **c == b'#').count();
            b.get(j) == Some(&b'"')
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        } {
            let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
            let mut end = String::from("\"");
            end.push_str(&"#".repeat(hashes));
            i += 2 + hashes;
            match src[i..].find(&end) {
                Some(k) => i += k + end.len(),
                None => i = b.len(),
            }
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A char literal such as '{' (lifetimes have no closing quote).
            out.push_str("' '");
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            let k = src[i + 2..].find('\'').map_or(b.len(), |k| i + 3 + k);
            out.push_str("' '");
            i = k;
        } else {
            let c = src[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Paths starting with `crate`, `super` or `self` in `code`, `use` trees
/// expanded; each with whether it sits inside an inline `mod … {}`.
fn paths(code: &str) -> Vec<(Vec<String>, bool)> {
    let toks = tokens(code);
    let mut out = Vec::new();
    // Brace depth at which each open inline module began.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
            }
            "mod" if toks.get(i + 2).map(String::as_str) == Some("{") => {
                inline.push(depth);
            }
            "use" => {
                let end = toks[i..]
                    .iter()
                    .position(|t| t == ";")
                    .map_or(toks.len(), |k| i + k);
                let mut leaves = Vec::new();
                use_tree(&toks[i + 1..end], &mut Vec::new(), &mut leaves);
                for l in leaves {
                    if matches!(
                        l.first().map(String::as_str),
                        Some("crate" | "super" | "self")
                    ) {
                        out.push((l, !inline.is_empty()));
                    }
                }
                i = end;
                continue;
            }
            "crate" | "super" | "self"
                if toks.get(i + 1).map(String::as_str) == Some("::")
                    && (i == 0 || toks[i - 1] != "::") =>
            {
                let mut p = vec![t.to_string()];
                let mut j = i + 1;
                while toks.get(j).map(String::as_str) == Some("::")
                    && toks.get(j + 1).is_some_and(|n| is_ident(n))
                {
                    p.push(toks[j + 1].clone());
                    j += 2;
                }
                out.push((p, !inline.is_empty()));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn tokens(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let cs: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_alphanumeric() || c == '_' {
            let s = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            out.push(cs[s..i].iter().collect());
        } else if c == ':' && cs.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{self, D}}` → `a::b`, `a::c`, `a::c::D`).
fn use_tree(toks: &[String], prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut cur = prefix.clone();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        match t {
            "::" => {}
            "{" => {
                // Split the group at top-level commas.
                let mut d = 0;
                let mut start = i + 1;
                let mut j = i + 1;
                while j < toks.len() {
                    match toks[j].as_str() {
                        "{" => d += 1,
                        "}" if d == 0 => break,
                        "}" => d -= 1,
                        "," if d == 0 => {
                            use_tree(&toks[start..j], &mut cur.clone(), out);
                            start = j + 1;
                        }
                        _ => {}
                    }
                    j += 1;
                }
                use_tree(&toks[start..j.min(toks.len())], &mut cur.clone(), out);
                return;
            }
            "self" if !cur.is_empty() => {}
            "as" | "*" | "pub" => break,
            _ if is_ident(t) => cur.push(t.to_string()),
            _ => {}
        }
        i += 1;
    }
    if !cur.is_empty() && cur != *prefix {
        out.push(cur);
    } else if !cur.is_empty() {
        // `a::{self}` or a glob `a::*`: the prefix itself.
        out.push(cur);
    }
}

/// The file-level import graph of a crate's `src`: file → files it names.
pub fn graph(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let files = modules(src);
    let mut g: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (m, file) in &files {
        let code = strip(&std::fs::read_to_string(file).unwrap());
        let edges = g.entry(file.clone()).or_default();
        // `self::` and `super::` are relative to the module; a non-folder
        // file's children are inline (its `mod tests`), so its own path.
        for (p, in_inline) in paths(&code) {
            let mut abs: ModPath = m.clone();
            let mut rest = &p[..];
            match p[0].as_str() {
                "crate" => {
                    abs.clear();
                    rest = &p[1..];
                }
                "self" => rest = &p[1..],
                "super" => {
                    let mut k = 0;
                    // Inside an inline module the first `super` is the file itself.
                    let mut skip = in_inline;
                    while p.get(k).map(String::as_str) == Some("super") {
                        if skip {
                            skip = false;
                        } else {
                            abs.pop();
                        }
                        k += 1;
                    }
                    rest = &p[k..];
                }
                _ => {}
            }
            abs.extend(rest.iter().cloned());
            // The longest prefix that is a file.
            let target = (0..=abs.len())
                .rev()
                .map(|n| abs[..n].to_vec())
                .find(|c| files.contains_key(c));
            let Some(t) = target else { continue };
            if t == *m {
                continue;
            }
            // A folder's mod.rs naming its own descendants is not counted.
            if is_folder(&files, m) && t.starts_with(m) {
                continue;
            }
            edges.insert(files[&t].clone());
        }
    }
    g
}

/// Strongly connected components of more than one file (Tarjan).
pub fn cycles(g: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct T<'a> {
        g: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on: BTreeSet<&'a PathBuf>,
        n: usize,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a PathBuf) {
        t.index.insert(v, t.n);
        t.low.insert(v, t.n);
        t.n += 1;
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let Some((w, _)) = g.get_key_value(w) else {
                continue;
            };
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        n: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// The cycles of `src`, each as one line naming its files (relative to `src`).
fn report(src: &Path) -> Vec<String> {
    report_with_edges(src).into_iter().map(|(c, _)| c).collect()
}

/// The cycles of `src`, and the imports inside each (`a.rs → b.rs`).
fn report_with_edges(src: &Path) -> Vec<(String, Vec<String>)> {
    let g = graph(src);
    let rel = |p: &PathBuf| p.strip_prefix(src).unwrap_or(p).display().to_string();
    cycles(&g)
        .into_iter()
        .map(|c| {
            let inside: BTreeSet<&PathBuf> = c.iter().collect();
            let edges = c
                .iter()
                .flat_map(|a| {
                    g[a].iter()
                        .filter(|b| inside.contains(b))
                        .map(|b| format!("{} → {}", rel(a), rel(b)))
                        .collect::<Vec<_>>()
                })
                .collect();
            (c.iter().map(rel).collect::<Vec<_>>().join(" ↔ "), edges)
        })
        .collect()
}

#[test]
fn no_import_cycle_between_files_of_the_server_the_cli_and_proto() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = Vec::new();
    for src in ["server/src", "server/cli/src", "proto/src"] {
        let dir = root.join(src);
        assert!(modules(&dir).len() > 5, "{src}: no source found");
        for (c, edges) in report_with_edges(&dir) {
            found.push(format!("{src}: {c}\n    {}", edges.join("\n    ")));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// A tree written to a temporary directory: (path, source) pairs.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (p, s) in files {
        let p = d.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    }
    d
}

#[test]
fn the_checker_finds_a_cycle_through_crate_and_super_paths() {
    let d = tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a/mod.rs", "pub mod x;\npub use x::X;\n"),
        ("a/x.rs", "use crate::b::{self, B};\npub struct X;\n"),
        // b reaches a/x.rs by an inline path, not a `use`.
        (
            "b.rs",
            "pub struct B;\nfn f() { let _ = crate::a::x::X; }\n",
        ),
        // c → a/x through the folder: a/mod.rs's re-export is not counted,
        // but a/x → b → a/x is.
        ("c.rs", "use super::a;\n"),
    ]);
    let found = report(d.path());
    assert_eq!(found, ["a/x.rs ↔ b.rs"], "{found:?}");
}

#[test]
fn the_checker_finds_a_cycle_through_a_use_group_and_super() {
    let d = tree(&[
        ("lib.rs", "pub mod jobs;\npub mod state;\n"),
        ("jobs/mod.rs", "mod lease;\n"),
        ("jobs/lease.rs", "use super::super::state::{self as s};\n"),
        (
            "state.rs",
            "use crate::{clock::Clock, jobs::lease::Lease};\n",
        ),
    ]);
    assert_eq!(report(d.path()), ["jobs/lease.rs ↔ state.rs"]);
}

#[test]
fn the_checker_passes_a_tree_without_cycles() {
    let d = tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub use a::A;\n"),
        // A folder re-exporting its children, and children naming their folder.
        ("a/mod.rs", "mod y;\npub use y::Y;\npub struct A;\n"),
        ("a/y.rs", "use super::A;\npub struct Y;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::A as _;\n}\n"),
        // Paths in comments and strings are not imports.
        ("b.rs", "// crate::a::y\nconst S: &str = \"crate::a::y\";\nuse crate::a::Y;\n"),
    ]);
    assert!(report(d.path()).is_empty(), "{:?}", report(d.path()));
}
