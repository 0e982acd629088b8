//! Expiry warnings: `token.expiring` once per token when it enters its org's
//! warning window (`orgs.expiry_warning`, default 14 days), `token.expired`
//! once after it expires (SPEC §6).
//!
//! Every replica scans every `expiry_scan` (5 s). For each token found, it
//! marks the token announced with a conditional UPDATE
//! ([`store::mark_token_notified`]: only while the mark is still NULL) and,
//! only when its UPDATE changed the row, queues the event in the same
//! transaction. Two replicas that find the same token race on that row: one
//! changes it, the other's UPDATE waits for the first to commit and then
//! changes nothing. So each warning is written exactly once, and — being in
//! the outbox — delivered at least once. One transaction per token keeps
//! two replicas from locking rows in opposite orders.
//!
//! Time is the state's clock, so tests move it instead of waiting. A token
//! revoked before it expires gets neither event after its revocation.

use super::Stop;
use crate::ops::{events, Actor, Uow};
use crate::state::AppState;
use crate::store::{self, Uuid};

/// Tokens looked at per scan and kind (the rest wait for the next scan).
const BATCH: i64 = 500;

/// Scans every `expiry_scan` until `stop` (a scan under way finishes:
/// each warning is one transaction).
pub async fn run(state: AppState, stop: Stop) {
    loop {
        if let Err(e) = scan(&state).await {
            tracing::warn!("expiry warnings: {e}");
        }
        tokio::select! {
            () = tokio::time::sleep(state.settings.expiry_scan) => {}
            () = stop.stopped() => return,
        }
    }
}

/// One scan: answers how many warnings this replica wrote.
pub async fn scan(state: &AppState) -> anyhow::Result<usize> {
    let now = state.now();
    let (expired, expiring) = {
        let mut c = state.store.pool.acquire().await?;
        (
            store::tokens_newly_expired(&mut c, now, BATCH).await?,
            store::tokens_entering_warning(&mut c, now, BATCH).await?,
        )
    };
    let mut n = 0;
    for (ids, is_expired) in [(expired, true), (expiring, false)] {
        for id in ids {
            n += usize::from(announce(state, id, is_expired).await?);
        }
    }
    Ok(n)
}

async fn announce(state: &AppState, id: Uuid, expired: bool) -> anyhow::Result<bool> {
    let mut uow = Uow::unauthenticated(state, Actor::system()).await?;
    let now = uow.now;
    if !store::mark_token_notified(uow.c(), id, expired, now).await? {
        return Ok(false);
    }
    let Some(t) = store::get_token(uow.c(), None, id).await? else {
        return Ok(false);
    };
    let ty = if expired {
        "token.expired"
    } else {
        "token.expiring"
    };
    uow.event(t.org_id, ty, events::token(&t));
    uow.commit().await?;
    Ok(true)
}
