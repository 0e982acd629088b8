//! Tokens: issue (with Idempotency-Key), list, view, update, revoke.

use super::{
    audit, authorize, check_no_escalation, optional_json, org_for, page_params, paginate, to_uuid,
    AppJson, Auth,
};
use crate::clock::to_time;
use crate::domain::jwt::{self, Payload};
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, OrgRow, TokenQuery, TokenRow};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sha2::{Digest, Sha256};
use sigil_proto::api::{
    IssueToken, IssuedToken, Page, RevokeToken, Token, TokenFilter, UpdateToken,
};
use sigil_proto::duration::{format_duration, Expiry};
use sigil_proto::{ClaimSet, ErrorCode};
use sqlx::AnyConnection;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/:org/tokens", get(list).post(issue))
        .route(
            "/v1/orgs/:org/tokens/:id",
            get(view).patch(update).delete(revoke),
        )
}

pub fn token_json(t: TokenRow, now: i64) -> Token {
    let status = t.status(now).to_string();
    Token {
        id: to_uuid(&t.id),
        org: t.org_name,
        owner_id: to_uuid(&t.owner_id),
        owner: t.owner_name,
        owner_kind: t.owner_kind,
        label: t.label,
        claims: t.claims.to_strings(),
        scope: if t.app_id.is_some() {
            "app".into()
        } else {
            "org".into()
        },
        app_id: t.app_id.as_deref().map(to_uuid),
        app: t.app_name,
        created_at: to_time(t.created_at),
        created_by: to_uuid(&t.created_by),
        created_by_name: t.created_by_name,
        expires_at: to_time(t.expires_at),
        last_used_at: t.last_used_at.map(to_time),
        revoked_at: t.revoked_at.map(to_time),
        revoked_by: t.revoked_by.as_deref().map(to_uuid),
        revoke_reason: t.revoke_reason,
        status,
    }
}

const MAX_LABEL: usize = 200;
/// How long an Idempotency-Key is remembered.
pub const IDEMPOTENCY_WINDOW: i64 = 24 * 3600;

fn check_label(label: &str) -> ApiResult<()> {
    if label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "label",
            format!("label must be at most {MAX_LABEL} characters without control characters"),
        ));
    }
    Ok(())
}

/// `expiry` xor `expires_at` to an absolute time; `None` when neither.
fn parse_expiry(expiry: Option<&str>, expires_at: Option<&str>) -> ApiResult<Option<Expiry>> {
    match (expiry, expires_at) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "expires_at",
            "give either expiry (a duration) or expires_at (a time), not both",
        )),
        (Some(d), None) => Expiry::parse("expiry", d)
            .map(Some)
            .map_err(|e| ApiError::invalid("expiry", e.to_string())),
        (None, Some(t)) => Expiry::parse("expires_at", t)
            .map(Some)
            .map_err(|e| ApiError::invalid("expires_at", e.to_string())),
        (None, None) => Ok(None),
    }
}

async fn issue(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    headers: HeaderMap,
    AppJson(req): AppJson<IssueToken>,
) -> ApiResult<Response> {
    let now = state.now();
    if req.owner.trim().is_empty() {
        return Err(ApiError::invalid(
            "owner",
            "owner is required: a bot username, a user email or an id",
        ));
    }
    if let Some(l) = &req.label {
        check_label(l)?;
    }
    let expiry = parse_expiry(req.expiry.as_deref(), req.expires_at.as_deref())?;
    let requested = req
        .claims
        .as_ref()
        .map(|c| ClaimSet::parse(c))
        .transpose()
        .map_err(|e| ApiError::invalid("claims", e.to_string()))?;
    let idem_key = match headers.get("idempotency-key") {
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Idempotency-Key",
                        "Idempotency-Key must be 1 to 255 visible ASCII characters",
                    )
                })?;
            Some(k.to_string())
        }
        None => None,
    };

    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let request_hash = {
        let canon = serde_json::to_string(&(&org.id, &req)).unwrap_or_default();
        hex(&Sha256::digest(canon.as_bytes()))
    };
    let owner = store::find_principal(&mut tx, &org.id, None, req.owner.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("owner", &req.owner).with_field("owner"))?;
    let app = match req.app.as_deref() {
        Some(a) => Some(
            store::find_app(&mut tx, &org.id, a)
                .await?
                .ok_or_else(|| ApiError::not_found("app", a).with_field("app"))?,
        ),
        None => None,
    };
    authorize(
        &auth.p,
        "tokens",
        "issue",
        &owner.id,
        Some(&owner.name),
        app.as_ref().map(|a| a.id.as_str()),
    )?;

    let claims = requested.unwrap_or_else(|| owner.permissions.clone());
    let beyond_owner = claims.not_covered_by(&owner.permissions);
    if !beyond_owner.is_empty() {
        let list: Vec<String> = beyond_owner.iter().map(|c| c.to_string()).collect();
        return Err(ApiError::new(
            ErrorCode::ClaimsExceedOwner,
            format!(
                "claims beyond the permissions of {:?}: {}",
                owner.name,
                list.join(", ")
            ),
        )
        .with_field("claims"));
    }
    check_no_escalation(&auth.p, &claims, "claims")?;
    // A retry answers the first result — but only after the caller was
    // checked again, and only to the very token that sent the first request.
    if let Some(key) = &idem_key {
        if let Some(resp) = replay(&mut tx, &state, &auth.p.token_id, key, &request_hash).await? {
            return Ok(resp);
        }
    }

    let exp = match expiry {
        Some(e) => e.resolve(now),
        None => now + default_lifetime(&state, &org, &owner.kind),
    };
    check_lifetime(&state, &org, &owner.kind, now, exp)?;

    let key = state
        .signing_key()
        .ok_or_else(|| ApiError::internal("no signing key loaded"))?;
    let id = uuid::Uuid::now_v7().to_string();
    let row = TokenRow {
        id: id.clone(),
        org_id: org.id.clone(),
        org_name: org.name.clone(),
        owner_id: owner.id.clone(),
        owner_kind: owner.kind.clone(),
        owner_name: owner.name.clone(),
        app_id: app.as_ref().map(|a| a.id.clone()),
        app_name: app.as_ref().map(|a| a.name.clone()),
        label: req.label.clone().filter(|l| !l.is_empty()),
        claims: claims.clone(),
        kid: key.kid.clone(),
        created_at: now,
        created_by: auth.p.id.clone(),
        created_by_name: auth.p.name.clone(),
        expires_at: exp,
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
    };
    let payload = Payload {
        iss: state.settings.issuer.clone(),
        sub: owner.id.clone(),
        org: org.name.clone(),
        app: row.app_name.clone(),
        jti: id.clone(),
        iat: now,
        nbf: now,
        exp,
        claims: claims.to_strings(),
        kind: owner.kind.clone(),
    };
    let jwt = jwt::sign(&key, &payload).map_err(ApiError::internal)?;
    store::insert_token(&mut tx, &row).await?;
    store::bump_key_exp(&mut tx, &key.kid, exp).await?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "token.issue",
        ("token", Some(&id)),
        serde_json::json!({
            "owner": owner.name, "label": row.label, "claims": claims.to_strings(),
            "app": row.app_name, "expires_at": exp,
        }),
    )
    .await?;
    let body = IssuedToken {
        token: jwt,
        metadata: token_json(row, now),
    };
    if let Some(k) = &idem_key {
        let plain = serde_json::to_vec(&body).map_err(ApiError::internal)?;
        let sealed = state
            .master
            .seal(&format!("idem:{}:{k}", auth.p.token_id), &plain);
        if let Err(e) = store::put_idempotent(
            &mut tx,
            &auth.p.token_id,
            k,
            &request_hash,
            &sealed,
            now,
            now - IDEMPOTENCY_WINDOW,
        )
        .await
        {
            if is_unique_violation(&e) {
                // A concurrent request with the same key won: answer what it minted.
                drop(tx);
                let mut conn = state.store.pool.acquire().await?;
                if let Some(resp) =
                    replay(&mut conn, &state, &auth.p.token_id, k, &request_hash).await?
                {
                    return Ok(resp);
                }
            }
            return Err(e.into());
        }
    }
    tx.commit().await?;
    state.note_key_use(&key.kid, exp);
    state.metrics.add_issued();
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The stored answer to an earlier request with this Idempotency-Key.
async fn replay(
    c: &mut AnyConnection,
    state: &AppState,
    caller_token: &str,
    key: &str,
    hash: &str,
) -> ApiResult<Option<Response>> {
    let Some((stored_hash, sealed)) =
        store::get_idempotent(c, caller_token, key, state.now() - IDEMPOTENCY_WINDOW).await?
    else {
        return Ok(None);
    };
    if stored_hash != hash {
        return Err(ApiError::new(
            ErrorCode::IdempotencyMismatch,
            "this Idempotency-Key was used with a different request; use a new key",
        )
        .with_field("Idempotency-Key"));
    }
    let plain = state
        .master
        .open(&format!("idem:{caller_token}:{key}"), &sealed)
        .ok_or_else(|| ApiError::internal("cannot decrypt an idempotent response"))?;
    let body: IssuedToken = serde_json::from_slice(&plain).map_err(ApiError::internal)?;
    Ok(Some((StatusCode::CREATED, Json(body)).into_response()))
}

fn default_lifetime(state: &AppState, org: &OrgRow, kind: &str) -> i64 {
    let mut l = state.settings.default_token_lifetime;
    if kind == "user" {
        l = l.min(state.settings.max_user_token_lifetime);
    }
    if let Some(max) = org.max_token_lifetime {
        l = l.min(max);
    }
    l
}

/// No token lives longer than this, whatever was asked (SPEC's longest example is 20 years).
const MAX_LIFETIME: i64 = 100 * 365 * 86_400;

fn check_lifetime(state: &AppState, org: &OrgRow, kind: &str, now: i64, exp: i64) -> ApiResult<()> {
    if exp <= now {
        return Err(ApiError::invalid(
            "expires_at",
            "the expiry must be in the future",
        ));
    }
    let life = exp - now;
    if life > MAX_LIFETIME {
        return Err(ApiError::new(
            ErrorCode::LifetimeExceeded,
            format!("tokens live at most {}", format_duration(MAX_LIFETIME)),
        )
        .with_field("expiry"));
    }
    if kind == "user" && life > state.settings.max_user_token_lifetime {
        return Err(ApiError::new(
            ErrorCode::LifetimeExceeded,
            format!(
                "tokens of human users live at most {}; issue a bot token for long-lived use",
                format_duration(state.settings.max_user_token_lifetime)
            ),
        )
        .with_field("expiry"));
    }
    if let Some(max) = org.max_token_lifetime {
        if life > max {
            return Err(ApiError::new(
                ErrorCode::LifetimeExceeded,
                format!(
                    "org {:?} caps token lifetimes at {}",
                    org.name,
                    format_duration(max)
                ),
            )
            .with_field("expiry"));
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Query(f): Query<TokenFilter>,
) -> ApiResult<Json<Page<Token>>> {
    let (after, limit) = page_params(f.cursor.as_deref(), f.limit)?;
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
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    let owner = match f.owner.as_deref() {
        Some(o) => Some(
            store::find_principal(&mut conn, &org.id, None, o)
                .await?
                .ok_or_else(|| ApiError::not_found("owner", o).with_field("owner"))?,
        ),
        None => None,
    };
    let mut app_id = match f.app.as_deref() {
        Some(a) => Some(
            store::find_app(&mut conn, &org.id, a)
                .await?
                .ok_or_else(|| ApiError::not_found("app", a).with_field("app"))?
                .id,
        ),
        None => None,
    };
    // An app-scoped caller lists only its app's tokens.
    if let Some(own) = &auth.p.app_id {
        if app_id.as_ref().is_some_and(|a| a != own) {
            return Err(ApiError::forbidden("this token is scoped to another app"));
        }
        app_id = Some(own.clone());
    }
    let allowed = auth.p.allows("tokens", "list", "*", None)
        || owner
            .as_ref()
            .is_some_and(|o| auth.p.allows("tokens", "list", &o.id, Some(&o.name)));
    if !allowed {
        authorize(&auth.p, "tokens", "list", "*", None, app_id.as_deref())?;
    }
    let now = state.now();
    let q = TokenQuery {
        org_id: org.id.clone(),
        owner_id: owner.map(|o| o.id),
        app_id,
        app_scoped,
        include_revoked: f.include_revoked.unwrap_or(false),
        now,
        after,
        limit: limit + 1,
    };
    let rows = store::list_tokens(&mut conn, &q).await?;
    Ok(Json(paginate(
        rows,
        limit,
        |r| r.id.clone(),
        |r| token_json(r, now),
    )))
}

async fn find(
    c: &mut AnyConnection,
    auth: &Auth,
    org: &OrgRow,
    id: &str,
    action: &str,
) -> ApiResult<TokenRow> {
    let not_found = || ApiError::not_found("token", id);
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::invalid(
            "id",
            format!("invalid token id {id:?}: expected a UUID"),
        ));
    }
    let row = store::get_token(c, Some(&org.id), id)
        .await?
        .ok_or_else(not_found)?;
    if auth.p.app_id.is_some() && auth.p.app_id != row.app_id {
        return Err(not_found());
    }
    // A token may always see and revoke itself. Otherwise the claim's specific
    // names the token's id or its owner (id or name) — never its label, which
    // is free text anyone can choose.
    let itself = row.id == auth.p.token_id && matches!(action, "get" | "revoke");
    if !itself && !auth.p.allows("tokens", action, &row.id, None) {
        authorize(
            &auth.p,
            "tokens",
            action,
            &row.owner_id,
            Some(&row.owner_name),
            row.app_id.as_deref(),
        )?;
    }
    Ok(row)
}

async fn view(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Json<Token>> {
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    let row = find(&mut conn, &auth, &org, &id, "get").await?;
    Ok(Json(token_json(row, state.now())))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, id)): Path<(String, String)>,
    AppJson(req): AppJson<UpdateToken>,
) -> ApiResult<Json<Token>> {
    if let Some(l) = &req.label {
        check_label(l)?;
    }
    let expiry = parse_expiry(req.expiry.as_deref(), req.expires_at.as_deref())?;
    let now = state.now();
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let mut row = find(&mut tx, &auth, &org, &id, "update").await?;
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
    store::update_token(&mut tx, &row.id, row.label.as_deref(), row.expires_at).await?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "token.update",
        ("token", Some(&row.id)),
        serde_json::Value::Object(details),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(token_json(row, now)))
}

/// Revokes by id. Revoking a revoked token answers it unchanged.
async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, id)): Path<(String, String)>,
    Query(q): Query<RevokeToken>,
    body: Bytes,
) -> ApiResult<Json<Token>> {
    let from_body: RevokeToken = optional_json(&body).await?;
    let reason = from_body.reason.or(q.reason);
    if let Some(r) = &reason {
        check_label(r).map_err(|_| {
            ApiError::invalid(
                "reason",
                format!("reason must be at most {MAX_LABEL} characters"),
            )
        })?;
    }
    let now = state.now();
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let row = find(&mut tx, &auth, &org, &id, "revoke").await?;
    let changed = store::revoke_token(
        &mut tx,
        &row.id,
        &org.id,
        &auth.p.id,
        reason.as_deref(),
        now,
    )
    .await?;
    if changed {
        audit(
            &mut tx,
            &state,
            &auth,
            &org.id,
            "token.revoke",
            ("token", Some(&row.id)),
            serde_json::json!({"reason": reason}),
        )
        .await?;
    }
    let after = store::get_token(&mut tx, Some(&org.id), &row.id)
        .await?
        .ok_or_else(|| ApiError::not_found("token", &id))?;
    tx.commit().await?;
    if changed {
        state.metrics.add_revoked(1);
        let _ = state.revocations.send(());
    }
    Ok(Json(token_json(after, now)))
}
