//! The audit log of an org, oldest first, and its hash chain
//! (`crate::domain::audit_chain`). Entries are written by
//! [`super::Uow::commit`] in the transaction of the change they record.

use super::{Caller, Page, PageRequest, Result, Uow};
use crate::domain::audit_chain::GENESIS;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, AuditRow, OrgRow};
use sigil_proto::api::AuditVerifyQuery;

pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: &str,
    page: PageRequest,
) -> Result<(OrgRow, Page<AuditRow>)> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    uow.authorize("audit", "list", "*", None, None)?;
    // Chain order (seq), which is commit order: ids are taken before commit,
    // so on several replicas they need not follow it. The cursor carries the
    // seq in an id's shape (the low 64 bits), like every other list's.
    let after = page
        .after
        .as_deref()
        .and_then(|a| uuid::Uuid::parse_str(a).ok())
        .map_or(0, |u| i64::try_from(u.as_u64_pair().1).unwrap_or(i64::MAX));
    let rows = store::chain_page(uow.c(), org.id, after, i64::MAX, page.limit + 1).await?;
    Ok((
        org,
        Page::cut(rows, page.limit, |r| {
            let seq = u64::try_from(r.seq.unwrap_or_default()).unwrap_or_default();
            uuid::Uuid::from_u64_pair(0, seq).to_string()
        }),
    ))
}

/// What recomputing an org's chain found (the shape is the domain's).
pub type Verification = crate::domain::audit_chain::Verification<AuditRow>;

/// Recomputes the org's chain, oldest first, a page at a time: each entry's
/// seq follows the last, its hash links to the last one's, and the chain ends
/// at the head recorded when the last entry was written (a removed tail is
/// found too). Entries written outside the chain (no seq) break it.
///
/// With `known.head` (the head of an earlier verification, kept elsewhere),
/// the chain must also pass through that hash: a tail cut off with the head
/// row set back, or a chain rewritten and re-hashed, no longer does, and the
/// answer names what is gone.
pub async fn verify(
    state: &AppState,
    caller: &Caller,
    org: &str,
    known: &AuditVerifyQuery,
) -> Result<(OrgRow, Verification)> {
    const PAGE: i64 = 1000;
    let known_head = known.head.as_deref();
    if let Some(h) = known_head {
        if h.len() != 64 || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ApiError::invalid(
                "head",
                "head must be the 64 lowercase hex digits of an earlier verification's head",
            ));
        }
    }
    if known.entries.is_some_and(|n| n < 0) {
        return Err(ApiError::invalid(
            "entries",
            "entries must be the entry count (0 or more) of an earlier verification",
        ));
    }
    let mut passed_known = false;
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    uow.authorize("audit", "list", "*", None, None)?;
    let mut v = Verification {
        entries: 0,
        head: None,
        broken: None,
    };
    // The head first: entries committed while this runs come after it and
    // are left for the next verification, not taken for a broken chain.
    let (head_seq, head_hash) = store::head(uow.c(), org.id)
        .await?
        .unwrap_or((0, GENESIS.to_string()));
    let mut prev = GENESIS.to_string();
    let mut seq = 0;
    'pages: loop {
        let rows = store::chain_page(uow.c(), org.id, seq, head_seq, PAGE).await?;
        let n = rows.len();
        for row in rows {
            let expected = seq + 1;
            if row.seq != Some(expected) {
                v.broken = Some((expected, Some(row), format!("entry {expected} is missing")));
                break 'pages;
            }
            if row.expected_hash(&prev).as_deref() != row.hash.as_deref() {
                v.broken = Some((
                    expected,
                    Some(row),
                    "the entry does not match its hash".into(),
                ));
                break 'pages;
            }
            seq = expected;
            prev = row.hash.clone().unwrap_or_default();
            passed_known |= known_head == Some(prev.as_str());
            v.entries += 1;
            v.head = Some(prev.clone());
        }
        if (n as i64) < PAGE {
            break;
        }
    }
    if v.broken.is_none() {
        if head_seq != seq || (seq > 0 && head_hash != prev) {
            v.broken = Some((
                seq + 1,
                None,
                format!("the chain ends at entry {seq}, but entry {head_seq} was written"),
            ));
        } else {
            let outside = store::count_unchained(uow.c(), org.id).await?;
            if outside > 0 {
                v.broken = Some((
                    seq + 1,
                    None,
                    format!("{outside} entries are outside the chain (written around the server)"),
                ));
            }
        }
    }
    if v.broken.is_none() {
        if known_head.is_some() && !passed_known {
            v.broken = Some(missing_head(seq, known.entries));
        } else if let Some(n) = known.entries.filter(|n| *n > seq) {
            v.broken = Some((
                seq + 1,
                None,
                format!(
                    "the chain has {seq} entries, but {n} were seen before: {}",
                    gone(seq, n)
                ),
            ));
        }
    }
    Ok((org, v))
}

/// The break when the chain of `seq` entries does not pass through a kept
/// head that `entries` entries had.
fn missing_head(seq: i64, then: Option<i64>) -> (i64, Option<AuditRow>, String) {
    let reason = match then {
        Some(n) if n > seq => format!(
            "the head you kept (entry {n}) is not in the chain: {} \
             (the log was cut and its head set back, or rewritten)",
            gone(seq, n)
        ),
        Some(n) => format!(
            "entry {n} no longer has the hash you kept: the chain was rewritten at or before it"
        ),
        None => format!(
            "the head you kept is not in the chain of {seq} entries: entries after it were \
             removed, or the chain was rewritten"
        ),
    };
    let at = then.map_or(seq + 1, |n| n.min(seq + 1));
    (at, None, reason)
}

/// "entry 4 is gone", "entries 4 to 9 are gone": what follows entry `seq` up to `n`.
fn gone(seq: i64, n: i64) -> String {
    if seq + 1 == n {
        format!("entry {n} is gone")
    } else {
        format!("entries {} to {n} are gone", seq + 1)
    }
}
