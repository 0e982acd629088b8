//! Principals: bots and users, one kind of thing with a [`Kind`].
//!
//! They differ only in how they are named (a username or an email), which
//! scope governs them (`bots`, `users`), and in what a bot has besides
//! (a description, identities). Creating, changing and deleting either goes
//! through the same functions, so their audit entries have the same shape
//! (`bot.create` / `user.create` …, `revoked_tokens` a list of ids) and the
//! same revoke reason (`owner deleted`).

use super::{invalid, Caller, Kind, Page, PageRequest, Result, Uow};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, OrgRow, PrincipalRow};
use sigil_proto::names::{check_email, ServiceName, Username};
use sigil_proto::rules;
use sigil_proto::ClaimSet;
use std::collections::{BTreeMap, HashMap};

/// A principal to create.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub kind: Kind,
    /// Username (bot) or email (user).
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub identities: BTreeMap<String, String>,
}

/// A change to a principal: fields left `None` stay as they are.
#[derive(Debug, Clone, Default)]
pub struct PrincipalChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
    /// Replaces the whole map when given.
    pub identities: Option<BTreeMap<String, String>>,
}

/// A principal with what its view shows besides the row.
pub struct PrincipalView {
    pub org: OrgRow,
    pub row: PrincipalRow,
    /// Live (not revoked, not expired) tokens it holds.
    pub token_count: i64,
}

fn check_name(kind: Kind, name: &str) -> Result<String> {
    match kind {
        Kind::Bot => Username::parse(name)
            .map(|u| u.to_string())
            .map_err(|e| invalid("username")(e.to_string())),
        Kind::User => check_email(name)
            .map(|()| name.to_string())
            .map_err(|e| invalid("email")(e.to_string())),
    }
}

fn rule(e: rules::RuleError) -> ApiError {
    ApiError::invalid(&e.field, e.message)
}

fn check_permissions(p: &[String]) -> Result<ClaimSet> {
    ClaimSet::parse(p).map_err(|e| super::claims_refused("permissions", p, e))
}

fn duplicate(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Bot => format!("a bot named {name:?} already exists in this org"),
        Kind::User => format!("a user with email {name:?} already exists in this org"),
    }
}

/// Commits a change to a principal, answering its view as committed.
async fn commit_with_view(
    mut uow: Uow<'_>,
    org: OrgRow,
    row: PrincipalRow,
) -> Result<PrincipalView> {
    let view = with_count(&mut uow, org, row).await?;
    uow.commit().await?;
    Ok(view)
}

async fn with_count(uow: &mut Uow<'_>, org: OrgRow, row: PrincipalRow) -> Result<PrincipalView> {
    let now = uow.now;
    let token_count = store::count_live_tokens(uow.c(), row.id, now).await?;
    Ok(PrincipalView {
        org,
        row,
        token_count,
    })
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    org: &str,
    new: NewPrincipal,
) -> Result<PrincipalView> {
    let kind = new.kind;
    let name = check_name(kind, &new.name)?;
    let description = new.description.unwrap_or_default();
    rules::check_description(&description).map_err(rule)?;
    let permissions = check_permissions(&new.permissions)?;
    rules::check_identities(&new.identities).map_err(rule)?;
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    uow.authorize(kind.scope(), "create", "*", Some(&name), None)?;
    uow.no_escalation(&permissions, "permissions")?;
    let row = PrincipalRow {
        id: super::new_id(),
        org_id: org.id,
        kind,
        name,
        description,
        permissions,
        identities: new.identities,
        created_at: uow.now,
        updated_at: uow.now,
    };
    store::insert_principal(uow.c(), &row)
        .await
        .map_err(super::conflict_on_unique(kind.name_field(), || {
            duplicate(kind, &row.name)
        }))?;
    uow.audit(
        org.id,
        &format!("{kind}.create"),
        (kind.as_str(), row.id),
        serde_json::json!({
            kind.name_field(): row.name,
            "permissions": row.permissions.to_strings(),
        }),
    );
    if kind == Kind::Bot {
        uow.event(org.id, "bot.created", super::events::bot(row.id, &row.name));
    }
    commit_with_view(uow, org, row).await
}

/// A page of principals of `kind`, each with its live token count (one
/// grouped count for the page, not one query per principal).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: &str,
    kind: Kind,
    page: PageRequest,
) -> Result<(OrgRow, Page<(PrincipalRow, i64)>)> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    uow.authorize(kind.scope(), "list", "*", None, None)?;
    let rows = store::list_principals(uow.c(), org.id, kind, page.after.as_deref(), page.limit + 1)
        .await?;
    let now = uow.now;
    let counts: HashMap<uuid::Uuid, i64> = match kind {
        Kind::Bot => store::live_token_counts(uow.c(), org.id, now).await?,
        Kind::User => HashMap::new(),
    };
    let page = Page::cut(rows, page.limit, |r| r.id.to_string()).map(|r| {
        let n = counts.get(&r.id).copied().unwrap_or(0);
        (r, n)
    });
    Ok((org, page))
}

async fn find(uow: &mut Uow<'_>, org: &OrgRow, kind: Kind, which: &str) -> Result<PrincipalRow> {
    store::find_principal(uow.c(), org.id, Some(kind), which)
        .await?
        .ok_or_else(|| ApiError::not_found(kind.as_str(), which))
}

pub async fn view(
    state: &AppState,
    caller: &Caller,
    org: &str,
    kind: Kind,
    which: &str,
) -> Result<PrincipalView> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, &org, kind, which).await?;
    uow.authorize(kind.scope(), "get", row.id, Some(&row.name), None)?;
    with_count(&mut uow, org, row).await
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    org: &str,
    kind: Kind,
    which: &str,
    change: PrincipalChange,
) -> Result<PrincipalView> {
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let mut row = find(&mut uow, &org, kind, which).await?;
    uow.authorize(kind.scope(), "update", row.id, Some(&row.name), None)?;
    let mut details = serde_json::Map::new();
    if let Some(n) = &change.name {
        row.name = check_name(kind, n)?;
        details.insert(kind.name_field().into(), n.clone().into());
    }
    if let Some(d) = change.description {
        rules::check_description(&d).map_err(rule)?;
        details.insert("description".into(), d.clone().into());
        row.description = d;
    }
    if let Some(p) = &change.permissions {
        let permissions = check_permissions(p)?;
        // Shrinking is always allowed; granting needs the caller to hold it.
        uow.no_escalation(&permissions, "permissions")?;
        details.insert("permissions".into(), serde_json::json!(p));
        row.permissions = permissions;
    }
    if let Some(ids) = change.identities {
        rules::check_identities(&ids).map_err(rule)?;
        details.insert("identities".into(), serde_json::json!(ids));
        row.identities = ids;
    }
    row.updated_at = uow.now;
    store::update_principal(uow.c(), &row)
        .await
        .map_err(super::conflict_on_unique(kind.name_field(), || {
            duplicate(kind, &row.name)
        }))?;
    uow.audit(
        org.id,
        &format!("{kind}.update"),
        (kind.as_str(), row.id),
        serde_json::Value::Object(details),
    );
    commit_with_view(uow, org, row).await
}

/// Deletes the principal and revokes all of its tokens, in one transaction.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    org: &str,
    kind: Kind,
    which: &str,
) -> Result<()> {
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, &org, kind, which).await?;
    uow.authorize(kind.scope(), "delete", row.id, Some(&row.name), None)?;
    let revoked = super::tokens::revoke_all(
        &mut uow,
        &org,
        store::Holder::Owner(row.id),
        "owner deleted",
    )
    .await?;
    store::delete_principal(uow.c(), row.id).await?;
    uow.audit(
        org.id,
        &format!("{kind}.delete"),
        (kind.as_str(), row.id),
        serde_json::json!({kind.name_field(): row.name, "revoked_tokens": revoked}),
    );
    if kind == Kind::Bot {
        uow.event(org.id, "bot.deleted", super::events::bot(row.id, &row.name));
    }
    uow.commit().await
}

/// Sets (`Some`) or deletes (`None`) a bot's identity in one service.
pub async fn set_identity(
    state: &AppState,
    caller: &Caller,
    org: &str,
    bot: &str,
    service: &str,
    identity: Option<String>,
) -> Result<PrincipalView> {
    let service = ServiceName::parse(service).map_err(|e| invalid("service")(e.to_string()))?;
    if let Some(id) = &identity {
        rules::check_identity(id).map_err(rule)?;
    }
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let mut row = find(&mut uow, &org, Kind::Bot, bot).await?;
    uow.authorize("bots", "update", row.id, Some(&row.name), None)?;
    let action = match identity {
        Some(id) => {
            row.identities.insert(service.to_string(), id);
            "bot.identity.set"
        }
        None => {
            if row.identities.remove(service.as_str()).is_none() {
                return Err(ApiError::not_found("identity", service.as_str()));
            }
            "bot.identity.delete"
        }
    };
    row.updated_at = uow.now;
    store::update_principal(uow.c(), &row).await?;
    uow.audit(
        org.id,
        action,
        ("bot", row.id),
        serde_json::json!({"service": service.as_str()}),
    );
    commit_with_view(uow, org, row).await
}
