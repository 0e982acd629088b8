//! Update: the label, or a shorter expiry (which caps the descendants').

use super::*;

/// Changes the label, or shortens (never extends) the expiry.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    org: &str,
    id: &str,
    req: UpdateToken,
) -> Result<TokenRow> {
    if let Some(l) = &req.label {
        rules::check_label(l).map_err(rule)?;
    }
    let expiry = parse_expiry(req.expiry.as_deref(), req.expires_at.as_deref())?;
    let mut uow = Uow::write(state, caller).await?;
    let now = uow.now;
    let org = uow.org(org).await?;
    let mut row = find(&mut uow, caller, &org, id, "update").await?;
    if row.revoked_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::Unprocessable,
            "the token is revoked; a revoked token cannot be changed",
        ));
    }
    let mut details = serde_json::Map::new();
    if let Some(l) = &req.label {
        row.label = (!l.is_empty()).then(|| l.clone());
        details.insert("label".into(), serde_json::json!(row.label));
    }
    if let Some(e) = expiry {
        let new_exp = e.resolve(now);
        if new_exp > row.expires_at {
            return Err(ApiError::new(
                ErrorCode::ExpiryExtension,
                format!(
                    "a token's expiry can be shortened, never extended (it expires at {})",
                    to_time(row.expires_at)
                ),
            )
            .with_field(if req.expiry.is_some() {
                "expiry"
            } else {
                "expires_at"
            }));
        }
        row.expires_at = new_exp.max(now);
        details.insert("expires_at".into(), serde_json::json!(row.expires_at));
    }
    store::update_token(uow.c(), row.id, row.label.as_deref(), row.expires_at).await?;
    if expiry.is_some() {
        let capped = cap_descendants(&mut uow, row.id, row.expires_at).await?;
        if !capped.is_empty() {
            details.insert("descendants_capped".into(), serde_json::json!(ids(&capped)));
        }
    }
    uow.audit(
        org.id,
        "token.update",
        ("token", row.id),
        serde_json::Value::Object(details),
    );
    uow.commit().await?;
    Ok(row)
}
