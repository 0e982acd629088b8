//! Apps: named things inside an org that tokens can be scoped to. An
//! app-scoped token sees only its own app; other apps answer 404.

use super::{invalid, Caller, Page, PageRequest, Result, Uow};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, AppRow, OrgRow};
use sigil_proto::names::AppName;

pub async fn create(
    state: &AppState,
    caller: &Caller,
    org: &str,
    name: &str,
) -> Result<(OrgRow, AppRow)> {
    let name = AppName::parse(name).map_err(|e| invalid("name")(e.to_string()))?;
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    uow.authorize("apps", "create", "*", Some(name.as_str()), None)?;
    let row = AppRow {
        id: super::new_id(),
        org_id: org.id,
        name: name.to_string(),
        created_at: uow.now,
    };
    store::insert_app(uow.c(), &row)
        .await
        .map_err(super::conflict_on_unique("name", || {
            format!("an app named {:?} already exists in this org", row.name)
        }))?;
    uow.audit(
        org.id,
        "app.create",
        ("app", row.id),
        serde_json::json!({"name": row.name}),
    );
    uow.commit().await?;
    Ok((org, row))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: &str,
    page: PageRequest,
) -> Result<(OrgRow, Page<AppRow>)> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    let own = caller.p.app_id;
    uow.authorize("apps", "list", "*", None, own)?;
    let rows =
        store::list_apps(uow.c(), org.id, own, page.after.as_deref(), page.limit + 1).await?;
    Ok((org, Page::cut(rows, page.limit, |r| r.id.to_string())))
}

async fn find(uow: &mut Uow<'_>, org: &OrgRow, app: &str) -> Result<AppRow> {
    store::find_app(uow.c(), org.id, app)
        .await?
        .ok_or_else(|| ApiError::not_found("app", app))
}

pub async fn view(
    state: &AppState,
    caller: &Caller,
    org: &str,
    app: &str,
) -> Result<(OrgRow, AppRow)> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, &org, app).await?;
    // An app-scoped caller sees only its own app.
    if caller.p.app_id.as_ref().is_some_and(|a| *a != row.id) {
        return Err(ApiError::not_found("app", app));
    }
    uow.authorize("apps", "get", row.id, Some(&row.name), Some(row.id))?;
    Ok((org, row))
}

/// Deletes the app and revokes the tokens scoped to it, in one transaction.
pub async fn delete(state: &AppState, caller: &Caller, org: &str, app: &str) -> Result<()> {
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, &org, app).await?;
    // Another app answers exactly as a missing one.
    if caller.p.app_id.as_ref().is_some_and(|a| *a != row.id) {
        return Err(ApiError::not_found("app", app));
    }
    uow.authorize("apps", "delete", row.id, Some(&row.name), Some(row.id))?;
    let revoked =
        super::tokens::revoke_all(&mut uow, &org, store::Holder::App(row.id), "app deleted")
            .await?;
    store::delete_app(uow.c(), row.id).await?;
    uow.audit(
        org.id,
        "app.delete",
        ("app", row.id),
        serde_json::json!({"name": row.name, "revoked_tokens": revoked}),
    );
    uow.commit().await
}
