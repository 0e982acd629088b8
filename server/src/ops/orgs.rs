//! Orgs: the tenants. Root-org administrators create and see every org;
//! everyone else sees their own.

use super::{invalid, Caller, Page, PageRequest, Result, Uow};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, OrgRow};
use sigil_proto::api::CreateOrg;
use sigil_proto::duration::{is_duration_syntax, parse_duration_for};
use sigil_proto::names::OrgName;
use sigil_proto::ErrorCode;

pub async fn create(state: &AppState, caller: &Caller, req: CreateOrg) -> Result<OrgRow> {
    let name = OrgName::parse(&req.name).map_err(|e| invalid("name")(e.to_string()))?;
    let max = req
        .max_token_lifetime
        .as_deref()
        .map(|d| positive_duration("max_token_lifetime", d))
        .transpose()?;
    if !caller.p.in_root_org || caller.p.app_id.is_some() {
        return Err(ApiError::forbidden(
            "only principals of the root org may create orgs",
        ));
    }
    let mut uow = Uow::write(state, caller).await?;
    uow.authorize("orgs", "create", "*", Some(name.as_str()), None)?;
    let row = OrgRow {
        expiry_warning: sigil_proto::rules::DEFAULT_EXPIRY_WARNING_SECS,
        id: super::new_id(),
        name: name.to_string(),
        max_token_lifetime: max,
        created_at: uow.now,
    };
    store::insert_org(uow.c(), &row)
        .await
        .map_err(super::conflict_on_unique("name", || {
            format!("an org named {:?} already exists", row.name)
        }))?;
    uow.audit(
        row.id,
        "org.create",
        ("org", row.id),
        serde_json::json!({"name": row.name}),
    );
    uow.commit().await?;
    Ok(row)
}

/// Root-org administrators see every org; everyone else sees their own.
pub async fn list(state: &AppState, caller: &Caller, page: PageRequest) -> Result<Page<OrgRow>> {
    let mut uow = Uow::read(state, caller).await?;
    let p = &caller.p;
    let only = (!super::is_org_admin(p, "list")).then_some(p.org_id);
    let rows = store::list_orgs(uow.c(), only, page.after.as_deref(), page.limit + 1).await?;
    let rows: Vec<OrgRow> = rows
        .into_iter()
        .filter(|o| o.id == p.org_id || super::can_administer(p, o))
        .collect();
    Ok(Page::cut(rows, page.limit, |o| o.id.to_string()))
}

pub async fn view(state: &AppState, caller: &Caller, org: &str) -> Result<OrgRow> {
    Uow::read(state, caller).await?.org(org).await
}

/// `PATCH /v1/orgs/{org}`: the org's settings (today its `expiry_warning`).
/// Needs `orgs:update` on the org — its own admins, or root-org admins.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    org: &str,
    req: sigil_proto::api::UpdateOrg,
) -> Result<OrgRow> {
    let warning = req
        .expiry_warning
        .as_deref()
        .map(|d| positive_duration("expiry_warning", d))
        .transpose()?;
    let mut uow = Uow::write(state, caller).await?;
    let mut row = uow.org(org).await?;
    uow.authorize("orgs", "update", row.id, Some(&row.name), None)?;
    if let Some(secs) = warning {
        store::set_org_expiry_warning(uow.c(), row.id, secs).await?;
        row.expiry_warning = secs;
        uow.audit(
            row.id,
            "org.update",
            ("org", row.id),
            serde_json::json!({"expiry_warning": secs}),
        );
    }
    uow.commit().await?;
    Ok(row)
}

/// A duration setting of an org (`max_token_lifetime`, `expiry_warning`) in
/// seconds: malformed text is a 400; well-formed but zero or over 1000 years
/// a 422 (`unprocessable`), both naming `field`.
fn positive_duration(field: &'static str, d: &str) -> Result<i64> {
    sigil_proto::rules::check_expiry_text(field, d).map_err(|e| invalid(field)(e.message))?;
    parse_duration_for(field, d).map_err(|e| {
        if is_duration_syntax(d) {
            ApiError::new(
                ErrorCode::Unprocessable,
                format!("{field} must be more than zero and at most 1000 years"),
            )
            .with_field(field)
        } else {
            invalid(field)(e.to_string())
        }
    })
}
