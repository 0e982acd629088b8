//! First start: on an empty database, org `default`, an owner user with
//! `*:*:*`, and a token for it, all in one transaction.

use super::tokens::mint_own;
use super::{Actor, Kind, Uow};
use crate::state::AppState;
use crate::store::{self, OrgRow, PrincipalRow};
use sigil_proto::{ClaimSet, SecretString};

pub const OWNER_EMAIL: &str = "owner@sigil.local";

/// Returns the owner's token, or None when the database was already
/// bootstrapped (by this or another replica).
pub async fn bootstrap(
    state: &AppState,
    org_name: String,
    lifetime: i64,
) -> anyhow::Result<Option<SecretString>> {
    let mut uow = Uow::unauthenticated(state, Actor::system()).await?;
    if store::count_orgs(uow.c()).await? > 0 {
        return Ok(None);
    }
    let now = uow.now;
    let org = OrgRow {
        expiry_warning: sigil_proto::rules::DEFAULT_EXPIRY_WARNING_SECS,
        id: super::new_id(),
        name: org_name,
        max_token_lifetime: None,
        created_at: now,
    };
    match store::insert_org(uow.c(), &org).await {
        Ok(()) => {}
        // Another replica bootstrapped first.
        Err(store::StoreError::Unique { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let owner = PrincipalRow {
        id: super::new_id(),
        org_id: org.id,
        kind: Kind::User,
        name: OWNER_EMAIL.into(),
        description: "bootstrap owner".into(),
        permissions: ClaimSet(vec![sigil_proto::Claim::all()]),
        identities: Default::default(),
        created_at: now,
        updated_at: now,
    };
    store::insert_principal(uow.c(), &owner).await?;
    let (token, row) = mint_own(&mut uow, &org, &owner, "bootstrap", lifetime).await?;
    uow.audit(
        org.id,
        "bootstrap",
        ("org", org.id),
        serde_json::json!({"owner": owner.name, "token_id": row.id}),
    );
    uow.commit().await?;
    tracing::info!(org = %org.name, "bootstrapped a fresh database");
    Ok(Some(token))
}
