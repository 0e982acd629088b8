//! Webhook delivery: after a commit, each replica's worker takes due
//! deliveries from the outbox ([`crate::ops::events`]) and `POST`s them,
//! signed, to their webhooks.
//!
//! # How exactly one replica delivers, and none loses one
//! Every replica runs the same worker. It is woken by a commit on its own
//! replica ([`Deliveries::wake`]) and polls every `webhook_poll` (1 s) for the
//! rest: retries that came due, other replicas' events, deliveries left by a
//! replica that stopped. A delivery is taken with a conditional UPDATE
//! ([`store::claim_delivery`]): still pending, due, and not under a live
//! claim. Of several replicas that see it at once, one wins the row; the
//! others skip it. The claim lasts 30 s, longer than an attempt can take
//! (10 s timeout), and is released when the attempt is recorded. A replica
//! that dies mid-attempt leaves a claim that lapses; another replica
//! delivers again. So delivery is at least once, and exactly once when no
//! replica dies between sending and recording — receivers deduplicate on
//! `Sigil-Delivery`, which is the same on every attempt.
//!
//! # A slow receiver never slows the API
//! Nothing here runs on a request's path (only `POST …/test`, which asks for
//! an attempt now). At most [`SLOTS`] attempts run at once per replica; the
//! worker claims a delivery only once it has a slot, so a replica never
//! holds claims it cannot serve. No database connection is held while a
//! request is in flight (SQLite has one).
//!
//! # Retries
//! A non-2xx answer, a timeout or a connection failure is recorded as
//! `failed`, and the delivery is due again after `base · 2^(n-1)` seconds
//! (base `webhook_retry_base`, 10 s; capped at 1 h) plus up to 10 % jitter, so
//! receivers coming back are not hit by every sender at once. Past 24 h after
//! the event, a failure is recorded as `gave_up` and the delivery stops.
//! Everything is in the database, so retries survive restarts.

use crate::state::AppState;
use crate::store::{self, AttemptRow, Uuid};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// Attempts in flight at once, per replica.
pub const SLOTS: usize = 8;
/// An attempt's bound.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry's delay, in seconds.
pub const DEFAULT_RETRY_BASE: i64 = 10;
/// The longest delay between two attempts.
pub const MAX_DELAY: i64 = 3600;
/// How long after its event a delivery is retried.
pub const GIVE_UP_AFTER: i64 = 24 * 3600;

/// The worker's shared parts.
pub struct Deliveries {
    wake: Notify,
    slots: Arc<Semaphore>,
    client: reqwest::Client,
    /// This replica's name in `claimed_by`.
    pub replica: String,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub gave_up: AtomicU64,
}

impl Deliveries {
    pub fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            // A redirect would send the signed body somewhere not configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sigil-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliveries {
            wake: Notify::new(),
            slots: Arc::new(Semaphore::new(SLOTS)),
            client,
            replica: format!("replica-{}", Uuid::new_v4().simple()),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            gave_up: AtomicU64::new(0),
        })
    }

    /// Wakes this replica's worker (after a commit that wrote deliveries).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn count(&self, result: &str) {
        match result {
            "delivered" => &self.delivered,
            "failed" => &self.failed,
            _ => &self.gave_up,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

/// Starts the worker; it runs until the runtime stops.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = poll(&state).await {
                tracing::warn!("webhook deliveries: {e}");
            }
            tokio::select! {
                () = state.deliveries.wake.notified() => {}
                () = tokio::time::sleep(state.settings.webhook_poll) => {}
            }
        }
    })
}

/// Claims and starts every due delivery this replica has a slot for;
/// answers how many it claimed (their attempts run on).
pub async fn poll(state: &AppState) -> anyhow::Result<usize> {
    let mut claimed = 0;
    let due = {
        let mut c = state.store.pool.acquire().await?;
        store::due_deliveries(&mut c, state.now(), 64).await?
    };
    for id in due {
        let slot = state.deliveries.slots.clone().acquire_owned().await?;
        let won = {
            let mut c = state.store.pool.acquire().await?;
            store::claim_delivery(&mut c, id, &state.deliveries.replica, state.now()).await?
        };
        if !won {
            continue;
        }
        claimed += 1;
        let state = state.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = attempt(&state, id).await {
                tracing::warn!(delivery = %id, "webhook delivery: {e}");
            }
        });
    }
    Ok(claimed)
}

/// The delay before attempt `n + 1` after `n` failed attempts.
pub fn backoff(base: i64, failed: i64) -> i64 {
    let exp = u32::try_from(failed.clamp(1, 20) - 1).unwrap_or(0);
    let d = base.saturating_mul(1i64 << exp).min(MAX_DELAY);
    let jitter = if d >= 10 {
        rand::Rng::gen_range(&mut rand::thread_rng(), 0..=d / 10)
    } else {
        0
    };
    d + jitter
}

/// `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// The AAD a webhook's secret is sealed under.
pub fn secret_aad(id: Uuid) -> String {
    format!("webhook:{id}")
}

/// One attempt of a delivery this replica holds the claim of: sends it and
/// records the outcome. Answers the recorded attempt (none when the delivery
/// or its webhook is gone, or no longer pending).
pub async fn attempt(state: &AppState, id: Uuid) -> anyhow::Result<Option<AttemptRow>> {
    let (d, event, hook, org) = {
        let mut c = state.store.pool.acquire().await?;
        let Some(d) = store::get_delivery(&mut c, id).await? else {
            return Ok(None);
        };
        if d.state != "pending" {
            return Ok(None);
        }
        let Some(event) = store::get_event(&mut c, d.event_id).await? else {
            return Ok(None);
        };
        let Some(hook) = store::webhook_by_id(&mut c, d.webhook_id).await? else {
            return Ok(None);
        };
        let org = store::find_org(&mut c, &event.org_id.to_string())
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        (d, event, hook, org)
    };
    let body = serde_json::to_vec(&sigil_proto::api::Event {
        id: event.id,
        event_type: event.event_type.clone(),
        created_at: crate::clock::to_time(event.created_at),
        org,
        data: event.data.clone(),
    })?;
    let t = state.now();
    let started = std::time::Instant::now();
    // A secret that does not open (the master key changed) is a failed
    // attempt like any other: logged, retried, given up after 24 h.
    let (status_code, error) = match state.master.open(&secret_aad(hook.id), &hook.secret_enc) {
        None => (
            None,
            Some("the webhook's secret cannot be opened with this server's master key".into()),
        ),
        Some(secret) => {
            let sent = state
                .deliveries
                .client
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("sigil-event", &event.event_type)
                .header("sigil-delivery", d.id.to_string())
                .header("sigil-signature", signature(&secret, t, &body))
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => (Some(i64::from(r.status().as_u16())), None),
                Ok(r) => (
                    Some(i64::from(r.status().as_u16())),
                    Some(format!("the receiver answered {}", r.status())),
                ),
                Err(e) => (None, Some(describe(&e))),
            }
        }
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let now = state.now();
    let n = d.attempts + 1;
    let (result, next) = if error.is_none() {
        ("delivered", None)
    } else {
        let next = now + backoff(state.settings.webhook_retry_base, n);
        if next > event.created_at + GIVE_UP_AFTER {
            ("gave_up", None)
        } else {
            ("failed", Some(next))
        }
    };
    let row = AttemptRow {
        id: crate::ops::new_id(),
        delivery_id: d.id,
        webhook_id: hook.id,
        event_id: event.id,
        event_type: event.event_type,
        attempt: n,
        result: result.to_string(),
        status_code,
        error,
        duration_ms,
        attempted_at: t,
        next_attempt_at: next,
    };
    let state_after = match result {
        "failed" => "pending",
        other => other,
    };
    let mut c = state.store.pool.acquire().await?;
    store::finish_attempt(&mut c, &row, state_after).await?;
    state.deliveries.count(result);
    Ok(Some(row))
}

/// Why a request failed, without the URL (it may hold a receiver's secret).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("timed out after {}s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect to the receiver".into()
    } else if e.is_redirect() {
        "the receiver answered a redirect (not followed)".into()
    } else {
        "the request failed before an answer".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0, 5), 0);
        let d1 = backoff(10, 1);
        assert!((10..=11).contains(&d1), "{d1}");
        let d3 = backoff(10, 3);
        assert!((40..=44).contains(&d3), "{d3}");
        let big = backoff(10, 30);
        assert!(
            (MAX_DELAY..=MAX_DELAY + MAX_DELAY / 10).contains(&big),
            "{big}"
        );
    }

    #[test]
    fn signature_is_hmac_sha256_of_t_dot_body() {
        // Computed independently:
        // (python3 -c 'import hmac,hashlib;print(hmac.new(b"k",b"1.{}",hashlib.sha256).hexdigest())').
        assert_eq!(
            signature(b"k", 1, b"{}"),
            "t=1,v1=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"
        );
    }
}
