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
//! an attempt now). At most [`SLOTS`](crate::replica::deliveries::SLOTS) attempts run at once per replica; the
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
//!
//! # Which receivers, and the signature
//! The address policy, the signature scheme and the retry schedule are the
//! pure half in [`crate::domain::webhook`]; the guarded client, the slots and
//! the counters are what the replica holds ([`crate::replica::deliveries`]).
//! This file keeps the I/O: the loop, the claim, one attempt.
//!
//! # Stopping
//! On the stop signal the worker claims nothing more and waits until every
//! attempt in flight is recorded (each holds a slot; all
//! [`SLOTS`](crate::replica::deliveries::SLOTS) free
//! means none is left), within the shutdown bound.

use super::Stop;
use crate::domain::webhook::{
    backoff, check_url_literal, secret_aad, signature, standard_key, standard_signature, Refused,
    GIVE_UP_AFTER,
};
use crate::replica::deliveries::TIMEOUT;
use crate::state::AppState;
use crate::store::{self, AttemptRow, Uuid};

/// Runs the worker until `stop`, then waits for the attempts in flight.
pub async fn run(state: AppState, stop: Stop) {
    loop {
        if let Err(e) = poll(&state).await {
            tracing::warn!("webhook deliveries: {e}");
        }
        tokio::select! {
            () = state.deliveries.woken() => {}
            () = tokio::time::sleep(state.settings.webhook_poll) => {}
            () = stop.stopped() => break,
        }
    }
    state.deliveries.in_flight_done().await;
}

/// Starts the worker alone (tests); it runs until the runtime stops.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(state, Stop::new()))
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
        let slot = state.deliveries.slot().await?;
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

/// One attempt of a delivery this replica holds the claim of: sends it and
/// records the outcome. Answers the recorded attempt (none when the delivery
/// is gone, no longer pending, or its claim was lost). A delivery whose
/// webhook or event is gone (the webhook deleted while the event's
/// transaction was open) is dropped: it can never be delivered.
pub async fn attempt(state: &AppState, id: Uuid) -> anyhow::Result<Option<AttemptRow>> {
    let me = state.deliveries.replica.as_str();
    let found = {
        let mut c = state.store.pool.acquire().await?;
        let Some(d) = store::get_delivery(&mut c, id).await? else {
            return Ok(None);
        };
        if d.state != "pending" {
            return Ok(None);
        }
        let event = store::get_event(&mut c, d.event_id).await?;
        let hook = store::webhook_by_id(&mut c, d.webhook_id).await?;
        match (event, hook) {
            (Some(event), Some(hook)) => {
                let org = store::find_org(&mut c, &event.org_id.to_string())
                    .await?
                    .map(|o| o.name)
                    .unwrap_or_default();
                let made = store::attempts_made(&mut c, &d).await?;
                Some((d, event, hook, org, made))
            }
            _ => None,
        }
    };
    let Some((d, event, hook, org, made)) = found else {
        if store::drop_orphan_delivery(&state.store.pool, id, me).await? {
            tracing::info!(delivery = %id, "dropped a delivery whose webhook or event is gone");
        }
        return Ok(None);
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
    // A literal IP never reaches the resolver: checked here (a webhook
    // stored before the policy, or under a looser one, is caught too).
    let deny_private = state.deliveries.deny_private;
    let literal = check_url_literal(&hook.url, deny_private);
    let mut refused = literal.is_err();
    // A secret that does not open (the master key changed) is a failed
    // attempt like any other: logged, retried, given up after 24 h.
    let (status_code, error) = match state.master.open(&secret_aad(hook.id), &hook.secret_enc) {
        None => (
            None,
            Some("the webhook's secret cannot be opened with this server's master key".into()),
        ),
        Some(_) if refused => (None, literal.err().map(|e| e.to_string())),
        Some(secret) => {
            let sent = state
                .deliveries
                .client
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("sigil-event", &event.event_type)
                .header("sigil-delivery", d.id.to_string())
                .header("sigil-signature", signature(&secret, t, &body))
                .header("webhook-id", d.id.to_string())
                .header("webhook-timestamp", t.to_string())
                .header(
                    "webhook-signature",
                    standard_signature(&standard_key(&secret), &d.id.to_string(), t, &body),
                )
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => (Some(i64::from(r.status().as_u16())), None),
                Ok(r) => (
                    Some(i64::from(r.status().as_u16())),
                    Some(format!("the receiver answered {}", r.status())),
                ),
                Err(e) => match refusal(&e) {
                    Some(r) => {
                        refused = true;
                        (None, Some(r))
                    }
                    None => (None, Some(describe(&e))),
                },
            }
        }
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let now = state.now();
    let n = made + 1;
    let (result, next) = if error.is_none() {
        ("delivered", None)
    } else if refused {
        // Retrying would not change the address: no retry storm.
        ("gave_up", None)
    } else {
        let next = now + backoff(state.settings.webhook_retry_base, n);
        if next > event.created_at + GIVE_UP_AFTER {
            ("gave_up", None)
        } else {
            ("failed", Some(next))
        }
    };
    let row = AttemptRow {
        id: crate::domain::new_id(),
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
    if !store::finish_attempt(&state.store.pool, &row, state_after, me).await? {
        // The claim lapsed and another replica took the delivery over; it
        // records its own attempt.
        return Ok(None);
    }
    state.deliveries.count(result);
    Ok(Some(row))
}

/// The resolver's refusal inside a request error, if that is why it failed.
fn refusal(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r.to_string());
        }
        cur = err.source();
    }
    None
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
