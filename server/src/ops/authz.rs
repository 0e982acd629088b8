//! Authorization: the one place that decides whether a caller may act.
//! Pure functions of the caller's principal and the object; the unit of work
//! and the few operations that filter rather than refuse call them.

use crate::domain::principal::Principal;
use crate::error::{ApiError, ApiResult};
use crate::store::OrgRow;
use sigil_proto::{ClaimSet, ErrorCode};
use uuid::Uuid;

/// Whether `p` administers other orgs: a principal of the root org, not
/// scoped to an app, whose rights cover `orgs:get:<org>`.
pub fn can_administer(p: &Principal, org: &OrgRow) -> bool {
    p.in_root_org
        && p.app_id.is_none()
        && p.allows("orgs", "get", &org.id.to_string(), Some(&org.name))
}

/// Whether `p` administers every org (`orgs:<action>:*` in the root org).
pub fn is_org_admin(p: &Principal, action: &str) -> bool {
    p.in_root_org && p.app_id.is_none() && p.allows("orgs", action, "*", None)
}

/// Checks that the caller may do `action` on the object `id`/`name` of type
/// `scope` (`id` is `"*"` for a collection). `app` is the app the object
/// belongs to, if any: a token scoped to an app reaches only objects of that app.
pub fn authorize(
    p: &Principal,
    scope: &str,
    action: &str,
    id: impl std::fmt::Display,
    name: Option<&str>,
    app: Option<Uuid>,
) -> ApiResult<()> {
    if let Some(own) = p.app_id {
        if app != Some(own) {
            let own = own.to_string();
            return Err(ApiError::forbidden(format!(
                "this token is scoped to app {:?} and cannot {action} {scope} outside it",
                p.app_name.as_deref().unwrap_or(&own)
            )));
        }
    }
    let id = id.to_string();
    let id = id.as_str();
    if p.allows(scope, action, id, name) {
        Ok(())
    } else {
        let which = name.unwrap_or(id);
        Err(ApiError::forbidden(format!(
            "this token does not allow {action} on {scope} {which:?} (needs claim {scope}:{action}:{which} or broader)"
        )))
    }
}

/// Refuses to grant `wanted` unless the caller holds all of it (no escalation).
pub fn check_no_escalation(p: &Principal, wanted: &ClaimSet, field: &str) -> ApiResult<()> {
    let missing = p.not_covered(wanted);
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(|c| c.to_string()).collect();
    Err(ApiError::new(
        ErrorCode::Escalation,
        format!(
            "cannot grant {field} beyond your own rights: {}",
            list.join(", ")
        ),
    )
    .with_field(field))
}
