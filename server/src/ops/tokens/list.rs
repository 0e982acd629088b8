//! List and view: filters, statuses, finding a token by id or unique prefix.

use super::*;

/// The filters of a token list, as given (names or ids).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub owner: Option<String>,
    pub app: Option<String>,
    /// `org` or `app`.
    pub scope: Option<String>,
    pub include_revoked: bool,
    /// `status=`, every value given (each may be a comma list); given, it
    /// replaces `include_revoked`.
    pub status: Vec<String>,
    /// `expiring_within=DURATION`: tokens expiring within it (`now <
    /// expires_at <= now + DURATION`); status is decided by `status=` (or
    /// the default, live tokens only).
    pub expiring_within: Option<String>,
    /// `parent=ID`: tokens derived directly from this one.
    pub parent: Option<String>,
}

/// `status=` values (each a comma list) to statuses; none given: `None`.
pub(super) fn parse_statuses(values: &[String]) -> Result<Option<Vec<TokenStatus>>> {
    if values.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for v in values.iter().flat_map(|v| v.split(',')) {
        let s = TokenStatus::parse(v.trim()).map_err(rule)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(Some(out))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: &str,
    f: ListFilter,
    page: PageRequest,
) -> Result<Page<TokenRow>> {
    let app_scoped = match f.scope.as_deref() {
        None => None,
        Some("org") => Some(false),
        Some("app") => Some(true),
        Some(other) => {
            return Err(ApiError::invalid(
                "scope",
                format!("invalid scope {other:?}: expected `org` or `app`"),
            ))
        }
    };
    if let Some(o) = &f.owner {
        check_ref("owner", RefKind::Principal, o)?;
    }
    if let Some(a) = &f.app {
        check_ref("app", RefKind::App, a)?;
    }
    let statuses = parse_statuses(&f.status)?;
    let within = f
        .expiring_within
        .as_deref()
        .map(|d| {
            sigil_proto::duration::parse_duration(d).map_err(|_| {
                if is_duration_syntax(d) {
                    // Well-formed, but zero or beyond 1000 years: refused
                    // for what it means.
                    ApiError::new(
                        ErrorCode::Unprocessable,
                        "expiring_within must be more than zero and at most 1000 years",
                    )
                    .with_field("expiring_within")
                } else {
                    ApiError::invalid(
                        "expiring_within",
                        format!(
                            "invalid expiring_within {:?}: expected a duration such as 30s, 15m, 36h, 14d, 2w, 6mo, 1y or 1h30m",
                            d.chars().take(40).collect::<String>()
                        ),
                    )
                }
            })
        })
        .transpose()?;
    let parent_id = f
        .parent
        .as_deref()
        .map(|p| {
            Uuid::parse_str(p).map_err(|_| {
                ApiError::invalid(
                    "parent",
                    format!(
                        "invalid parent {:?}: expected a token id (a UUID)",
                        p.chars().take(40).collect::<String>()
                    ),
                )
            })
        })
        .transpose()?;
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    let owner = match f.owner.as_deref() {
        Some(o) => Some(
            store::find_principal(uow.c(), org.id, None, o)
                .await?
                .ok_or_else(|| ApiError::not_found("owner", o).with_field("owner"))?,
        ),
        None => None,
    };
    let mut app_id = match f.app.as_deref() {
        Some(a) => Some(
            store::find_app(uow.c(), org.id, a)
                .await?
                // An app-scoped caller: another app answers as a missing one.
                .filter(|row| caller.p.app_id.is_none_or(|own| own == row.id))
                .ok_or_else(|| ApiError::not_found("app", a).with_field("app"))?
                .id,
        ),
        None => None,
    };
    let p = &caller.p;
    // An app-scoped caller lists only its app's tokens.
    if let Some(own) = &p.app_id {
        app_id = Some(*own);
    }
    let allowed = p.allows("tokens", "list", "*", None)
        || owner
            .as_ref()
            .is_some_and(|o| p.allows("tokens", "list", &o.id.to_string(), Some(&o.name)));
    if !allowed {
        uow.authorize("tokens", "list", "*", None, app_id)?;
    }
    let q = TokenQuery {
        org_id: org.id,
        owner_id: owner.map(|o| o.id),
        app_id,
        app_scoped,
        include_revoked: f.include_revoked,
        statuses,
        expiring_before: within.map(|w| uow.now.saturating_add(w)),
        parent_id,
        now: uow.now,
        after: page.after,
        limit: page.limit + 1,
    };
    let rows = store::list_tokens(uow.c(), &q).await?;
    Ok(Page::cut(rows, page.limit, |r| r.id.to_string()))
}

/// The token `id` of `org`, if the caller may do `action` on it.
pub(super) async fn find(
    uow: &mut Uow<'_>,
    caller: &Caller,
    org: &OrgRow,
    id: &str,
    action: &str,
) -> Result<TokenRow> {
    let not_found = || ApiError::not_found("token", id);
    let Ok(token_id) = Uuid::parse_str(id) else {
        return Err(ApiError::invalid(
            "id",
            format!("invalid token id {id:?}: expected a UUID"),
        ));
    };
    let row = store::get_token(uow.c(), Some(org.id), token_id)
        .await?
        .ok_or_else(not_found)?;
    let p = &caller.p;
    if p.app_id.is_some() && p.app_id != row.app_id {
        return Err(not_found());
    }
    // A token may always see and revoke itself. Otherwise the claim's specific
    // names the token's id or its owner (id or name) — never its label, which
    // is free text anyone can choose.
    let itself = row.id == p.token_id && matches!(action, "get" | "revoke");
    if !itself && !p.allows("tokens", action, &row.id.to_string(), None) {
        uow.authorize(
            "tokens",
            action,
            row.owner_id,
            Some(&row.owner_name),
            row.app_id,
        )?;
    }
    Ok(row)
}

pub async fn view(state: &AppState, caller: &Caller, org: &str, id: &str) -> Result<TokenRow> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    find(&mut uow, caller, &org, id, "get").await
}
