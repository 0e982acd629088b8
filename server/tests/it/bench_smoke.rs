//! The bench (`benches/sigil`) at a tiny scale: every line it prints is
//! measured and printed, and the plot is written. Timing is not checked —
//! timing goals live in the bench, never in tests.

#[path = "../../benches/sigil/run.rs"]
mod run;

#[test]
fn the_bench_prints_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = run::Config {
        scale: 0.0001,
        svg: dir.path().join("bench.svg"),
        pg: run::pg_url(),
        sigil: env!("CARGO_BIN_EXE_sigil").into(),
        echo: false,
    };
    let rows = run::run(&cfg).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.name).collect();
    assert_eq!(names, run::LINES);
    for r in &rows {
        assert!(r.value.is_finite(), "{}", run::format_row(r));
    }
    let svg = std::fs::read_to_string(&cfg.svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("raw EdDSA verify"),
        "{svg}"
    );
}
