//! The audit log of an org, oldest first. Entries are written by
//! [`super::Uow::commit`] in the transaction of the change they record.

use super::{Caller, Page, PageRequest, Result, Uow};
use crate::state::AppState;
use crate::store::{self, AuditRow, OrgRow};

pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: &str,
    page: PageRequest,
) -> Result<(OrgRow, Page<AuditRow>)> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    uow.authorize("audit", "list", "*", None, None)?;
    let rows = store::list_audit(uow.c(), org.id, page.after.as_deref(), page.limit + 1).await?;
    Ok((org, Page::cut(rows, page.limit, |r| r.id.to_string())))
}
