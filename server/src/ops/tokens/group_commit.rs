//! Group commit for token issue: concurrent issues share one transaction,
//! so one fsync (SQLite WAL, `synchronous = FULL`) or one commit
//! (PostgreSQL) answers many requests — and each still answers only once
//! its token is committed.
//!
//! # How
//! A request has done everything that needs no write before it gets here:
//! read and authorized (org, owner, app, claims), signed the JWT, built the
//! audit entry and sealed its Idempotency-Key answer. It queues that
//! [`Job`] and waits for a *turn* (one per replica on SQLite, two on
//! PostgreSQL so that a batch fills while another commits). Whoever gets a
//! turn with its job still queued becomes a leader: it takes every queued job
//! (at most [`MAX_BATCH`]) and runs them in one transaction on a task of its
//! own (so a client that hangs up cannot cancel the others' commit): first
//! all at once — every token in one multi-row `INSERT`, every audit entry in
//! another, every Idempotency-Key answer in a third, each signing key's
//! horizon moved once — and if any row is refused (a key already holding an
//! answer, the same key twice, a constraint), rolled back and run again
//! with each job inside a savepoint, so one failing job is rolled back
//! alone and answers its own error. Then one commit, then every job is
//! answered. The refusals come from retries and races, which are rare, so
//! the common batch costs a handful of statements whatever its size.
//! Requests that arrive meanwhile queue up for the next leader: the busier
//! the server, the larger the batch.
//!
//! # What each job keeps from an issue alone
//! - Its audit entry is written in the same transaction as its token.
//!
//! # Lock order
//! As in every unit of work (see [`crate::ops::uow`]), the audit chain heads
//! are the last locks the batch takes: tokens, Idempotency-Key answers,
//! signing-key horizons (the key row) and events first, every audit entry
//! last, in one [`store::insert_audits`] (heads in org-id order) — in the
//! all-at-once path and after the last job in the one-by-one one. A batch
//! and an operation minting in a unit of work (key row, then the head at
//! commit) so never wait on each other in opposite orders.
//! - Idempotency-Key: a key holding a live answer makes the all-at-once
//!   insert store fewer answers than it was given, so the batch goes job by
//!   job, where the stored answer is looked up first, in the batch's
//!   transaction, so a second job with the same key in the same batch sees
//!   the first one's answer (same calling token and request hash only) and
//!   mints nothing; a key taken by a transaction still running elsewhere (another
//!   replica) waits for it, and the job answers what it minted after the
//!   batch commits. The lifetime check comes after the lookup, as before: a
//!   retry answers the first result even when its `expires_at` has passed.
//! - Errors are the ones an issue alone answers; if the commit fails, every
//!   job that wrote answers that error.

use super::{replay_on, IDEMPOTENCY_WINDOW};
use crate::error::ApiError;
use crate::ops::{AfterCommit, Result};
pub(super) use crate::replica::issue_queue::{Idem, Job, Outcome, Pending};
use crate::state::AppState;
use crate::store::{self, AuditRow, StoreError, TokenRow};
use sqlx::AnyConnection;
use tokio::sync::oneshot;

/// The most issues one transaction carries; the rest wait for the next.
const MAX_BATCH: usize = 512;

/// Queues `job` and answers once it is committed (or refused).
pub(super) async fn submit(state: &AppState, job: Job) -> Result<Outcome> {
    let b = &state.issues;
    let (reply, rx) = oneshot::channel();
    let seq = {
        let mut q = b.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.0 += 1;
        let seq = q.0;
        q.1.push(Pending { seq, job, reply });
        seq
    };
    loop {
        let Ok(turn) = b.turns.clone().acquire_owned().await else {
            return Err(lost());
        };
        // Still queued: lead a batch. Taken by a leader meanwhile: wait for
        // its answer.
        let jobs: Option<Vec<Pending>> = {
            let mut q = b.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.1.iter().any(|p| p.seq == seq).then(|| {
                let n = q.1.len().min(MAX_BATCH);
                q.1.drain(..n).collect()
            })
        };
        let Some(jobs) = jobs else {
            drop(turn);
            return rx.await.unwrap_or_else(|_| Err(lost()));
        };
        let ours = jobs.iter().any(|p| p.seq == seq);
        let st = state.clone();
        tokio::spawn(async move {
            run_batch(&st, jobs).await;
            drop(turn);
        });
        if ours {
            return rx.await.unwrap_or_else(|_| Err(lost()));
        }
    }
}

/// A batch that ended without answering (its task panicked or was
/// cancelled): nothing of it is known to have committed, so the client
/// retries — with its Idempotency-Key, safely.
fn lost() -> ApiError {
    ApiError::unavailable("the issue's batch ended without an answer; retry")
}

/// Runs `jobs` in one transaction and answers each: first all at once (a
/// few multi-row statements), and when any row is refused, again one job
/// per savepoint.
async fn run_batch(state: &AppState, jobs: Vec<Pending>) {
    // A refused lifetime without a key needs no database: answered now.
    let (refused, jobs): (Vec<Pending>, Vec<Pending>) = jobs
        .into_iter()
        .partition(|p| p.job.lifetime.is_some() && p.job.idem.is_none());
    for mut p in refused {
        if let Some(e) = p.job.lifetime.take() {
            let _ = p.reply.send(Err(e));
        }
    }
    if jobs.is_empty() {
        return;
    }
    // A refused lifetime with a key must first look for a stored answer.
    if jobs.iter().all(|p| p.job.lifetime.is_none()) {
        if let Ok(Some(deliveries)) = all_at_once(state, &jobs).await {
            let after = AfterCommit {
                issued: jobs
                    .iter()
                    .map(|p| (p.job.row.kid.clone(), p.job.row.expires_at))
                    .collect(),
                deliveries,
                ..AfterCommit::default()
            };
            // Nothing of it can fail: no key was rotated.
            let _ = after.run(state).await;
            for p in jobs {
                let _ = p.reply.send(Ok(Outcome::Minted(p.job.answer)));
            }
            return;
        }
        // Otherwise rolled back: nothing of it was written.
    }
    one_by_one(state, jobs).await;
}

/// Every job's rows in a few statements, one commit. False (and rolled
/// back) when a row was refused — a live Idempotency-Key, a key twice, a
/// constraint — for [`one_by_one`] to sort out.
async fn all_at_once(
    state: &AppState,
    jobs: &[Pending],
) -> std::result::Result<Option<usize>, sqlx::Error> {
    let mut tx = state.store.pool.begin().await?;
    let rows: Vec<&TokenRow> = jobs.iter().map(|p| &p.job.row).collect();
    if store::insert_issued(&mut tx, &rows).await.is_err() {
        tx.rollback().await?;
        return Ok(None);
    }
    let answers: Vec<store::IdempotentAnswer<'_>> = jobs
        .iter()
        .filter_map(|p| {
            p.job.idem.as_ref().map(|i| store::IdempotentAnswer {
                caller_token_id: i.caller_token,
                key: &i.key,
                request_hash: &i.hash,
                response_enc: &i.sealed,
                created_at: p.job.now,
            })
        })
        .collect();
    match store::put_idempotent_many(&mut tx, &answers, IDEMPOTENCY_WINDOW).await {
        Ok(n) if n == answers.len() as u64 => {}
        _ => {
            tx.rollback().await?;
            return Ok(None);
        }
    }
    // Each key's horizon moves once, to the latest expiry signed with it.
    let mut horizons: Vec<(&str, i64)> = Vec::new();
    for p in jobs {
        let (kid, exp) = (p.job.row.kid.as_str(), p.job.row.expires_at);
        match horizons.iter_mut().find(|(k, _)| *k == kid) {
            Some(h) => h.1 = h.1.max(exp),
            None => horizons.push((kid, exp)),
        }
    }
    // The signing key's horizon in memory is never ahead of the database's
    // (it moves after commit): at or past `exp` there, nothing to write —
    // most batches, since tokens issued in the same second share an expiry.
    let known = state.signing_key().map(|k| (k.kid, k.max_token_exp));
    for (kid, exp) in horizons {
        if known
            .as_ref()
            .is_some_and(|(k, horizon)| k == kid && *horizon >= exp)
        {
            continue;
        }
        if store::bump_key_exp(&mut tx, kid, exp).await.is_err() {
            tx.rollback().await?;
            return Ok(None);
        }
    }
    let deliveries = crate::ops::events::issued_rows(&mut tx, &rows).await?;
    // Last: the audit chain heads (see `crate::ops::uow`).
    let audits: Vec<&AuditRow> = jobs.iter().map(|p| &p.job.audit).collect();
    if store::insert_audits(&mut tx, &audits).await.is_err() {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(deliveries))
}

/// Each job in its own savepoint of one transaction.
async fn one_by_one(state: &AppState, jobs: Vec<Pending>) {
    let mut tx = match state.store.pool.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            let e = ApiError::from(e);
            for p in jobs {
                let _ = p.reply.send(Err(e.clone()));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(jobs.len());
    // The audit entries of the jobs minted, written after every job's other
    // rows: the audit chain head is the last lock a transaction takes.
    let mut audits: Vec<AuditRow> = Vec::new();
    let mut jobs = jobs.into_iter();
    while let Some(p) = jobs.next() {
        let horizon = (p.job.row.kid.clone(), p.job.row.expires_at);
        match one(&mut tx, state, p.job, &mut audits).await {
            Ok(r) => done.push((p.reply, horizon, r)),
            Err(Broken(e)) => {
                // The transaction is unusable: nothing of it commits, and
                // every job of the batch — done, failing, or still queued
                // behind — answers the error (none is left unanswered).
                let e = ApiError::from(e);
                let _ = p.reply.send(Err(e.clone()));
                for (reply, _, _) in done {
                    let _ = reply.send(Err(e.clone()));
                }
                for rest in jobs {
                    let _ = rest.reply.send(Err(e.clone()));
                }
                return;
            }
        }
    }
    let rows: Vec<&AuditRow> = audits.iter().collect();
    let written = match store::insert_audits(&mut tx, &rows).await {
        Ok(()) => tx.commit().await.map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    if let Err(e) = written {
        for (reply, _, r) in done {
            let _ = reply.send(match r {
                Ok(Outcome::Minted(_)) => Err(e.clone()),
                other => other,
            });
        }
        return;
    }
    let mut after = AfterCommit {
        // The jobs' events were written with them (any may have deliveries).
        deliveries: usize::from(!done.is_empty()),
        ..AfterCommit::default()
    };
    for (_, (kid, exp), r) in &done {
        if let Ok(Outcome::Minted(_)) = r {
            after.issued.push((kid.clone(), *exp));
        }
    }
    // Nothing of it can fail: no key was rotated.
    let _ = after.run(state).await;
    for (reply, _, r) in done {
        let _ = reply.send(r);
    }
}

/// A savepoint statement failed: the transaction cannot go on.
struct Broken(sqlx::Error);

/// One job in its savepoint. The job's own refusal is rolled back to the
/// savepoint and answered; `Err` only when the transaction itself broke.
async fn one(
    tx: &mut AnyConnection,
    state: &AppState,
    job: Job,
    audits: &mut Vec<AuditRow>,
) -> std::result::Result<Result<Outcome>, Broken> {
    sqlx::query("SAVEPOINT issue")
        .execute(&mut *tx)
        .await
        .map_err(Broken)?;
    let audit = job.audit.clone();
    let r = writes(tx, state, job).await;
    if matches!(r, Ok(Outcome::Minted(_))) {
        audits.push(audit);
    }
    if !matches!(r, Ok(Outcome::Minted(_))) {
        sqlx::query("ROLLBACK TO SAVEPOINT issue")
            .execute(&mut *tx)
            .await
            .map_err(Broken)?;
    }
    sqlx::query("RELEASE SAVEPOINT issue")
        .execute(&mut *tx)
        .await
        .map_err(Broken)?;
    Ok(r)
}

/// The writes of one issue but its audit entry (written with the batch's,
/// last): replay lookup, token, key horizon, stored answer.
async fn writes(c: &mut AnyConnection, state: &AppState, job: Job) -> Result<Outcome> {
    if let Some(i) = &job.idem {
        if let Some(answer) = replay_on(c, state, job.now, i.caller_token, &i.key, &i.hash).await? {
            return Ok(Outcome::Replayed(answer));
        }
    }
    if let Some(e) = job.lifetime {
        return Err(e);
    }
    store::insert_token(c, &job.row).await?;
    store::bump_key_exp(c, &job.row.kid, job.row.expires_at).await?;
    crate::ops::events::issued_rows(c, &[&job.row]).await?;
    if let Some(i) = &job.idem {
        match store::put_idempotent(
            c,
            i.caller_token,
            &i.key,
            &i.hash,
            &i.sealed,
            job.now,
            job.now - IDEMPOTENCY_WINDOW,
        )
        .await
        {
            Ok(()) => {}
            Err(StoreError::Unique { .. }) => return Ok(Outcome::Raced),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Outcome::Minted(job.answer))
}
