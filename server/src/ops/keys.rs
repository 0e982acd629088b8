//! Signing keys: rotation adds a new key that signs from then on; older keys
//! keep verifying until every token they signed has expired.

use super::{Caller, Result, Uow};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /v1/keys/rotate`: returns the new key's id and creation time.
pub async fn rotate(state: &AppState, caller: &Caller) -> Result<(String, i64)> {
    if !caller.p.in_root_org {
        return Err(ApiError::forbidden(
            "only principals of the root org may rotate signing keys",
        ));
    }
    let mut uow = Uow::write(state, caller).await?;
    uow.authorize("keys", "create", "*", None, None)?;
    let now = uow.now;
    let kid = state
        .keys
        .insert_new_key(uow.c(), now)
        .await
        .map_err(ApiError::internal)?;
    uow.audit(
        caller.p.org_id,
        "key.rotate",
        ("key", &kid),
        serde_json::json!({}),
    );
    uow.keys_rotated();
    // The root org's webhooks hear of it (the key signs for every org).
    uow.event(caller.p.org_id, "key.rotated", super::events::key(&kid));
    uow.commit().await?;
    Ok((kid, now))
}
