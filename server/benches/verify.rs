//! `cargo bench -p sigil-server --bench verify`: what one authentication costs,
//! with the verification cache hit and missed, on SQLite. Prints per-call
//! times and the ratio; timing goals live here, never in tests.

use sigil_server::auth::inspect;
use sigil_server::clock::Clock;
use sigil_server::domain::keys::MasterKey;
use sigil_server::state::{AppState, Settings};
use sigil_server::store::Store;
use std::time::{Duration, Instant};

const N: u32 = 2_000;

fn per_call(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6 / f64::from(N)
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let dir = tempfile::tempdir()?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        let store = Store::connect(&url).await?;
        let state = AppState::new(
            store,
            MasterKey::generate(),
            Clock::system(),
            Settings::default(),
        )
        .await?;
        let token = sigil_server::serve::bootstrap(&state, "default".into(), 86_400)
            .await?
            .ok_or_else(|| anyhow::anyhow!("not bootstrapped"))?;
        let t = token.expose();
        inspect(&state, t)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;

        let start = Instant::now();
        for _ in 0..N {
            inspect(&state, t)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        let hit = start.elapsed();

        let start = Instant::now();
        for _ in 0..N {
            state.verify_cache.clear();
            inspect(&state, t)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        let miss = start.elapsed();

        println!("authenticate, cache hit : {:8.1} µs/call", per_call(hit));
        println!("authenticate, cache miss: {:8.1} µs/call", per_call(miss));
        println!(
            "miss / hit ratio        : {:8.2}",
            miss.as_secs_f64() / hit.as_secs_f64()
        );
        Ok(())
    })
}
