//! Revoke: a token and its descendants ([`revoke_tree`]), every token of
//! an owner or an app ([`revoke_all`]).

use super::*;

/// Revokes by id; revoking a revoked token answers it unchanged.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    org: &str,
    id: &str,
    reason: Option<String>,
) -> Result<TokenRow> {
    if let Some(r) = &reason {
        rules::check_reason(r).map_err(rule)?;
    }
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, caller, &org, id, "revoke").await?;
    let done = revoke_tree(&mut uow, &row, reason.as_deref()).await?;
    if done.root {
        let mut details = serde_json::json!({"reason": reason});
        if !done.descendants.is_empty() {
            details["descendants"] = serde_json::json!(ids(&done.descendants));
        }
        uow.audit(org.id, "token.revoke", ("token", row.id), details);
    } else {
        audit_healed(&mut uow, org.id, row.id, &done.descendants);
    }
    let after = store::get_token(uow.c(), Some(org.id), row.id)
        .await?
        .ok_or_else(|| ApiError::not_found("token", id))?;
    uow.commit().await?;
    Ok(after)
}

/// The reason a descendant is revoked with, whatever revoked its ancestor.
pub const PARENT_REVOKED: &str = "parent revoked";

/// What [`revoke_tree`] changed.
#[derive(Debug, Default)]
pub struct Revoked {
    /// The root was revoked now (false: it already was, and nothing about
    /// it changes — its caller writes no audit entry for it).
    pub root: bool,
    /// The descendants revoked now (with reason [`PARENT_REVOKED`]).
    pub descendants: Vec<Uuid>,
}

/// Revokes `root` with `reason` and every token derived from it, at any
/// depth, with reason [`PARENT_REVOKED`], each with its row in the
/// revocation feed and its `token.revoked` event, in the unit of work (whose
/// commit empties every replica's memory view: each revocation bumps the
/// change head). The actor of the unit of work is the revoker.
///
/// The children are walked even when `root` was already revoked: a child
/// that survived its parent's revocation (derived concurrently with an
/// earlier revocation that could not see it) dies with any later one. The
/// root itself is then left as it was.
///
/// The tree is walked one generation at a time, each read after its parents
/// were revoked — so, on PostgreSQL, after any derivation holding a parent
/// committed (see the module documentation). Already revoked descendants
/// are walked through too (their own descendants were revoked with them,
/// but a walk costs little next to a survivor).
pub async fn revoke_tree(
    uow: &mut Uow<'_>,
    root: &TokenRow,
    reason: Option<&str>,
) -> Result<Revoked> {
    let by = uow.actor_id();
    let now = uow.now;
    let root_now = store::revoke_token(uow.c(), root.id, root.org_id, by, reason, now).await?;
    if root_now {
        crate::ops::events::revoked(uow, root.id).await?;
        uow.revoked(1);
    }
    let descendants = revoke_descendants(uow, vec![root.id]).await?;
    Ok(Revoked {
        root: root_now,
        descendants,
    })
}

/// Revokes every unrevoked token derived from any of `roots` (revoked
/// already, or in this unit of work), at any depth, with reason
/// [`PARENT_REVOKED`]; answers those revoked now. See [`revoke_tree`].
pub(super) async fn revoke_descendants(uow: &mut Uow<'_>, roots: Vec<Uuid>) -> Result<Vec<Uuid>> {
    let by = uow.actor_id();
    let now = uow.now;
    let mut revoked = Vec::new();
    let mut generation = roots;
    // Depth is bounded (rules::MAX_DERIVATION_DEPTH); the bound on the walk
    // also guards against a cycle no code path can write. Each generation is
    // read only after the one above it is revoked (its rows locked): a
    // derivation holding one of them (FOR SHARE) has committed by then, so
    // its child is found. Reading the whole tree first would miss it; that is
    // why this walk and `cap_descendants`' stay interleaved.
    for _ in 0..=rules::MAX_DERIVATION_DEPTH {
        if generation.is_empty() {
            break;
        }
        let children = store::child_tokens(uow.c(), &generation).await?;
        generation = Vec::with_capacity(children.len());
        for child in children {
            if !child.revoked
                && store::revoke_token(
                    uow.c(),
                    child.id,
                    child.org_id,
                    by,
                    Some(PARENT_REVOKED),
                    now,
                )
                .await?
            {
                crate::ops::events::revoked(uow, child.id).await?;
                revoked.push(child.id);
            }
            generation.push(child.id);
        }
    }
    uow.revoked(revoked.len());
    Ok(revoked)
}

/// Audits the descendants a revocation of an already revoked `root` healed
/// (revoked now, as [`revoke_tree`] walks): one `token.revoke` entry per
/// descendant, none for the root, which did not change.
pub(crate) fn audit_healed(uow: &mut Uow<'_>, org_id: Uuid, root: Uuid, healed: &[Uuid]) {
    for id in healed {
        uow.audit(
            org_id,
            "token.revoke",
            ("token", *id),
            serde_json::json!({"reason": PARENT_REVOKED, "root": root.to_string()}),
        );
    }
}

/// Caps the expiry of every token derived from `root` (at any depth) at
/// `expires_at`, in the unit of work; answers those that changed. Walked as
/// [`revoke_tree`] walks.
pub(super) async fn cap_descendants(
    uow: &mut Uow<'_>,
    root: Uuid,
    expires_at: i64,
) -> Result<Vec<Uuid>> {
    let mut capped = Vec::new();
    let mut generation = vec![root];
    for _ in 0..=rules::MAX_DERIVATION_DEPTH {
        if generation.is_empty() {
            break;
        }
        let children = store::child_tokens(uow.c(), &generation).await?;
        generation = Vec::with_capacity(children.len());
        for child in children {
            if !child.revoked
                && child.expires_at > expires_at
                && store::cap_token_expiry(uow.c(), child.id, expires_at).await?
            {
                capped.push(child.id);
            }
            generation.push(child.id);
        }
    }
    Ok(capped)
}

/// Ids as audit details show them.
pub(crate) fn ids(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

/// Revokes every unrevoked token of an owner or an app in the unit of work,
/// and every token derived from them (at any depth, reason
/// [`PARENT_REVOKED`], walked as [`revoke_tree`] walks: after the holder's
/// tokens are revoked, so a derivation that held one of them has committed
/// and its child is found); answers the holder's tokens revoked, then the
/// descendants. The caller is the revoker.
pub async fn revoke_all(
    uow: &mut Uow<'_>,
    org: &OrgRow,
    of: Holder,
    reason: &str,
) -> Result<Vec<Uuid>> {
    let ids = store::unrevoked_token_ids(uow.c(), of).await?;
    let by = uow.actor_id();
    let now = uow.now;
    let mut revoked = Vec::with_capacity(ids.len());
    for id in &ids {
        // Another revoker may have come first (it then walked the children).
        if store::revoke_token(uow.c(), *id, org.id, by, Some(reason), now).await? {
            crate::ops::events::revoked(uow, *id).await?;
            revoked.push(*id);
        }
    }
    uow.revoked(revoked.len());
    let descendants = revoke_descendants(uow, ids).await?;
    revoked.extend(descendants);
    Ok(revoked)
}
