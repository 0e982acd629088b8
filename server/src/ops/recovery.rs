//! Owner recovery (`sigil admin owner-token`): on the server host, with the
//! database and the master key, a short-lived token for an org's owner user
//! ([`OWNER_EMAIL`]). The user is re-created, or given back `*:*:*`, when it
//! was deleted or narrowed. Acts as `system`, audited as `owner.recover`.

use super::bootstrap::OWNER_EMAIL;
use super::tokens::mint_own;
use super::{Actor, Kind, Uow};
use crate::state::AppState;
use crate::store::{self, PrincipalRow, TokenRow};
use anyhow::Context;
use sigil_proto::{Claim, ClaimSet, SecretString};

/// What recovery issued, and what it had to repair first.
pub struct Recovered {
    pub token: SecretString,
    pub row: TokenRow,
    /// The owner user did not exist any more and was created again.
    pub recreated: bool,
    /// The owner user existed without `*:*:*`, which it holds again.
    pub restored: bool,
}

/// Issues a token for `org`'s owner, expiring `lifetime` seconds from now.
pub async fn owner_token(state: &AppState, org: &str, lifetime: i64) -> anyhow::Result<Recovered> {
    let mut uow = Uow::unauthenticated(state, Actor::system()).await?;
    let now = uow.now;
    let org = store::find_org(uow.c(), org)
        .await?
        .with_context(|| format!("no org `{org}` in this database"))?;
    let all = ClaimSet(vec![Claim::all()]);
    let found = store::find_principal(uow.c(), org.id, Some(Kind::User), OWNER_EMAIL).await?;
    let (owner, recreated, restored) = match found {
        Some(p) if p.permissions == all => (p, false, false),
        Some(mut p) => {
            p.permissions = all.clone();
            p.updated_at = now;
            store::update_principal(uow.c(), &p).await?;
            (p, false, true)
        }
        None => {
            let p = PrincipalRow {
                id: super::new_id(),
                org_id: org.id,
                kind: Kind::User,
                name: OWNER_EMAIL.into(),
                description: "owner (re-created by `sigil admin owner-token`)".into(),
                permissions: all.clone(),
                identities: Default::default(),
                created_at: now,
                updated_at: now,
            };
            store::insert_principal(uow.c(), &p).await?;
            (p, true, false)
        }
    };
    // Every branch above leaves the owner holding `*:*:*`.
    let (token, row) = mint_own(&mut uow, &org, &owner, "owner-recovery", lifetime).await?;
    uow.audit(
        org.id,
        "owner.recover",
        ("token", row.id),
        serde_json::json!({
            "owner": owner.name,
            "owner_id": owner.id,
            "token_id": row.id,
            "expires_at": row.expires_at,
            "recreated": recreated,
            "permissions_restored": restored,
        }),
    );
    uow.commit().await?;
    Ok(Recovered {
        token,
        row,
        recreated,
        restored,
    })
}
