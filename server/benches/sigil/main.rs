//! `cargo bench -p sigil-server --bench sigil`: the whole of issue 9's
//! measurements in one run on this machine — raw Ed25519 verification, a bare
//! axum server, Sigil's REST and gRPC verification, issuance on SQLite and
//! PostgreSQL, revocation across two replicas, memory, and a token list at a
//! million tokens — each printed beside the raw figures and the goals, and a
//! plot (SVG) written to `docs/benchmarks.svg`.
//!
//! `SIGIL_BENCH_SCALE` (default 1) scales every count and duration, e.g. 0.01
//! for a quick run; `SIGIL_BENCH_SVG` names the plot's file; `SIGIL_TEST_PG`
//! the PostgreSQL server (a fresh database is made and dropped). The servers
//! measured are `sigil` processes of this build, on 127.0.0.1 only.
//!
//! Timing goals live here, never in tests; the test suite runs this bench at
//! a tiny scale (`tests/it/bench_smoke.rs`) only to see that every line prints.

mod run;

fn main() -> anyhow::Result<()> {
    let scale = match std::env::var("SIGIL_BENCH_SCALE") {
        Ok(s) => s
            .parse::<f64>()
            .map_err(|e| anyhow::anyhow!("SIGIL_BENCH_SCALE={s:?}: {e}"))?,
        Err(_) => 1.0,
    };
    let svg = std::env::var_os("SIGIL_BENCH_SVG")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks.svg")
        });
    let cfg = run::Config {
        scale,
        svg,
        pg: run::pg_url(),
        sigil: env!("CARGO_BIN_EXE_sigil").into(),
        echo: true,
    };
    let rows = run::run(&cfg)?;
    // The same table in Markdown, for docs/benchmarks.md.
    println!("\n| what | figure | ratio | goal | |\n|---|---:|---|---|---|");
    for r in &rows {
        let holds = match r.holds {
            Some(true) => "holds",
            Some(false) => "**missed**",
            None => "",
        };
        println!(
            "| {} | {} {} | {} | {} | {} |",
            r.name,
            run::fmt_value(r.value),
            r.unit,
            r.ratios,
            r.goal,
            holds
        );
    }
    let held = rows.iter().filter(|r| r.holds == Some(true)).count();
    let goals = rows.iter().filter(|r| r.holds.is_some()).count();
    println!(
        "\n{held} of {goals} goals hold; plot: {}",
        cfg.svg.display()
    );
    Ok(())
}
