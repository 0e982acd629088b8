//! `POST /v1/leaks`: anyone who found tokens can kill them, without an
//! account (SPEC §6 "Leak reports").
//!
//! # What the reporter learns: nothing
//! The answer is `202 {"received": N}` whatever the strings are, and it must
//! not be told apart by its time either. So the request does the same work
//! for garbage and for live tokens: it checks the body's shape (1 to
//! [`MAX_LEAK_TOKENS`] strings, a `source` of at most 2048 characters),
//! queues the report in memory and answers. Whether a string is a token —
//! its signature, its row — is found out after the answer, by a task that
//! drains the queue ([`process`]). Nothing in the request depends on the
//! strings' content, only on their count and length.
//!
//! # What is done with a live token
//! Each string that is a live Sigil token (its signature verifies under one
//! of this server's keys, with our issuer, not expired, naming its row) is
//! revoked with reason `leaked`, its descendants with `parent revoked`, each
//! in the revocation feed, and an audit entry `token.leaked` is written in
//! its org with the `source` (never the JWT: anything JWT-shaped in it, as
//! in `https://x/?token=eyJ…`, is cut to `eyJ…<redacted>` before it is
//! queued, see [`crate::error::redact_jwts`]) and the descendants, by the
//! actor `leak report` from the reporter's address; the webhook event
//! `token.leaked` is written there too (`leaked_event`). A token
//! already revoked, expired, or not ours changes nothing: no entry, no
//! event. One transaction per token, so one that fails does not hold back
//! the others.
//!
//! # Durability: the trade-off
//! The queue is in memory: a report is processed within milliseconds of its
//! answer (a second at worst under load, each failing token retried a few
//! times). A graceful shutdown processes what is queued before it exits
//! (within `--shutdown-timeout`, see [`settle`]); if the server dies (or
//! the bound passes) in between, the rest is lost and the reporter — who
//! was told only "received" — does not know. Writing the
//! report to the database before answering would survive a crash, but it
//! means storing the strings (which may be live JWTs) at rest, sealed, and a
//! recovery pass at start; for a best-effort public endpoint whose reporters
//! are typically scanners that report again, not taken. A client that needs
//! certainty revokes by value (`POST /v1/revoke`), which answers once done.
//!
//! What remains observable: the processing of a live token runs after the
//! answer and competes with later requests for the database, so a reporter
//! timing *other* requests might guess that an earlier report held a live
//! token. The rate limit bounds such probing to a few dozen guesses an hour
//! per address, and the answer itself never varies with the strings.
//!
//! # Memory: the queue's bound
//! The queue holds at most [`DEFAULT_QUEUE_BYTES`] (64 MiB) of reported
//! strings and sources, counted until each report is processed; a report
//! that would take it past that is answered 503 `unavailable` (retry
//! later). The bound depends on lengths only, never on content, so a 503
//! says nothing about the strings; a flood filling it can delay honest
//! reports, which the rate limit below makes costly (many addresses).
//!
//! # Rate limit
//! Per client address ([`crate::http::client_ip`], which honours
//! `--trust-forwarded-for`): at most `--leak-rate-limit` reports an hour
//! (default [`DEFAULT_PER_HOUR`]), over a sliding window, then 429
//! `rate_limited`. An IPv4 address (or IPv4-mapped IPv6) counts alone; an
//! IPv6 address counts with its whole /64, since one host typically holds
//! one and can pick any address in it. Every request counts, well-formed
//! or not. The count is per replica (in memory): behind N replicas an
//! address may file N times the limit, still bounded.

use super::{Actor, Result, Uow};
use crate::domain::jwt;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, TokenRow};
use sigil_proto::api::{LeakReceipt, LeakReport};
use sigil_proto::rules::{self, MAX_LEAK_TOKENS};
use sigil_proto::{ErrorCode, SecretString};
use std::net::IpAddr;
use std::sync::atomic::Ordering;

/// Leak reports a client address may file per hour, by default.
pub const DEFAULT_PER_HOUR: u32 = crate::config::DEFAULT_LEAK_REPORTS_PER_HOUR;
/// The audit actor of a revocation by leak report.
pub const ACTOR: &str = "leak report";
/// The revocation reason of a leaked token.
pub const REASON: &str = "leaked";
/// Attempts at one token when the database fails.
const ATTEMPTS: u32 = 5;
use crate::replica::leak_desk::Queued;
pub use crate::replica::leak_desk::{LeakDesk, DEFAULT_QUEUE_BYTES};
/// Counts a leak report from `ip` against the rate limit: 429 past it.
/// Called before the body is read, so every request counts.
pub fn admit(state: &AppState, ip: Option<IpAddr>) -> Result<()> {
    let limit = state.settings.leak_reports_per_hour;
    if state.leaks.admit(ip, state.now(), limit) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::RateLimited,
            format!("at most {limit} leak reports an hour from one address; retry later"),
        ))
    }
}

/// Checks a report's shape, queues it and answers how many strings were
/// received. See the module documentation.
pub fn report(state: &AppState, ip: Option<IpAddr>, req: LeakReport) -> Result<LeakReceipt> {
    if req.tokens.is_empty() || req.tokens.len() > MAX_LEAK_TOKENS {
        return Err(ApiError::invalid(
            "tokens",
            format!("tokens must hold 1 to {MAX_LEAK_TOKENS} strings"),
        ));
    }
    if let Some(s) = &req.source {
        rules::check_leak_source(s).map_err(|e| ApiError::invalid(&e.field, e.message))?;
    }
    let received = req.tokens.len() as u64;
    let desk = &state.leaks;
    let queued = desk.enqueue(Queued {
        tokens: req.tokens,
        // A URL may carry a token (`?token=eyJ…`): never stored nor sent.
        source: req.source.map(crate::error::redact_jwts),
        ip,
    });
    if !queued {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "too many leak reports are waiting to be processed; retry later",
        ));
    }
    kick(state);
    Ok(LeakReceipt { received })
}

/// Starts a task draining the queue unless one runs.
fn kick(state: &AppState) {
    if !state.leaks.draining.swap(true, Ordering::SeqCst) {
        let st = state.clone();
        tokio::spawn(async move { drain(&st).await });
    }
}

/// Returns once every report queued so far has been processed (the
/// shutdown waits on it, bounded by `--shutdown-timeout`; see
/// `crate::serve`).
pub async fn settle(state: &AppState) {
    let desk = &state.leaks;
    loop {
        // Registered before the check, so a task ending in between wakes it.
        let idle = desk.idle.notified();
        if desk.settled() {
            return;
        }
        kick(state);
        idle.await;
    }
}

/// Processes queued reports until none is left, then ends (the next report
/// starts another task).
async fn drain(state: &AppState) {
    let desk = &state.leaks;
    loop {
        let next = desk
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        match next {
            Some(r) => {
                for token in &r.tokens {
                    process_with_retries(state, token, r.source.as_deref(), r.ip).await;
                }
                desk.done(&r);
            }
            None => {
                desk.draining.store(false, Ordering::SeqCst);
                desk.idle.notify_waiters();
                // A report queued between the pop and the store found the
                // flag set and started no task: take it on, unless another
                // task already did.
                let empty = desk
                    .queue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_empty();
                if empty || desk.draining.swap(true, Ordering::SeqCst) {
                    return;
                }
            }
        }
    }
}

async fn process_with_retries(
    state: &AppState,
    token: &SecretString,
    source: Option<&str>,
    ip: Option<IpAddr>,
) {
    for attempt in 0..ATTEMPTS {
        match process(state, token.expose(), source, ip).await {
            Ok(_) => return,
            Err(e) => {
                // Never the string itself: it may be a live token.
                tracing::warn!(attempt, error = %e.message, "a leak report's token could not be processed");
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
        }
    }
}

/// One reported string: when it is a live token of ours, revokes it (and its
/// descendants) and writes `token.leaked`. Answers the revoked token's id.
pub async fn process(
    state: &AppState,
    token: &str,
    source: Option<&str>,
    ip: Option<IpAddr>,
) -> Result<Option<uuid::Uuid>> {
    // Redacted when queued too; here for any other caller.
    let source = source.map(|s| crate::error::redact_jwts(s.to_string()));
    let source = source.as_deref();
    let now = state.now();
    let Ok(kid) = jwt::peek_kid(token) else {
        return Ok(None);
    };
    let Some(key) = state.key(&kid).await else {
        return Ok(None);
    };
    let Ok(payload) = jwt::verify(token, &key, &state.settings.issuer, now) else {
        return Ok(None);
    };
    let (Ok(jti), Ok(sub)) = (
        uuid::Uuid::parse_str(&payload.jti),
        uuid::Uuid::parse_str(&payload.sub),
    ) else {
        return Ok(None);
    };
    let actor = Actor {
        id: None,
        name: ACTOR.into(),
        ip,
    };
    let mut uow = Uow::unauthenticated(state, actor).await?;
    let Some(row) = store::get_token(uow.c(), None, jti).await? else {
        return Ok(None);
    };
    // The row must be the one this JWT was minted for.
    if row.owner_id != sub || row.org_name != payload.org || row.kid != kid {
        return Ok(None);
    }
    let done = super::tokens::revoke_tree(&mut uow, &row, Some(REASON)).await?;
    if !done.root {
        // Already revoked: nothing changes for it; a descendant that
        // survived an earlier revocation dies now.
        super::tokens::audit_healed(&mut uow, row.org_id, row.id, &done.descendants);
        uow.commit().await?;
        return Ok(None);
    }
    let descendants = done.descendants;
    let mut details = serde_json::json!({"source": source, "reason": REASON});
    if !descendants.is_empty() {
        details["descendants"] = serde_json::json!(super::tokens::ids(&descendants));
    }
    leaked_event(&mut uow, &row, source, &descendants);
    uow.audit(row.org_id, "token.leaked", ("token", row.id), details);
    uow.commit().await?;
    Ok(Some(row.id))
}

/// Where the org's webhooks get `token.leaked`, in the revoking transaction
/// (data: the token as [`super::events::token`] shows it, the source, the
/// descendants revoked with it — never the JWT).
fn leaked_event(
    uow: &mut Uow<'_>,
    row: &TokenRow,
    source: Option<&str>,
    descendants: &[uuid::Uuid],
) {
    let mut data = super::events::token(row);
    data["source"] = serde_json::json!(source);
    data["descendants"] = serde_json::json!(super::tokens::ids(descendants));
    uow.event(row.org_id, "token.leaked", data);
}
