//! Tokens: issue (with Idempotency-Key), list, view, update, revoke, derive
//! ([`attenuate()`]), and the pieces other operations share: [`mint`] (a signed
//! JWT and its row), [`revoke_tree`] (a token and every token derived from
//! it) and [`revoke_all`] (every token of an owner or an app).
//!
//! # Derived tokens and their parents
//! A token derived from another ([`attenuate()`]) names it (`parent_id`), and
//! dies with it: revoking a token revokes its descendants, at any depth, in
//! the same transaction, with reason `parent revoked` (by id, by value, as a
//! leak); shortening a token's expiry caps its descendants' expiries. Both
//! walk the tree one generation at a time, each generation read after its
//! parents were written (so locked, on PostgreSQL): a derivation holds its
//! parent's row from before it reads it until it commits, so a concurrent
//! revocation either commits first (the derivation then sees the parent
//! revoked and refuses) or waits for the child to commit and then finds it.

use super::{invalid, Caller, Kind, Page, PageRequest, Result, Uow};
use crate::clock::to_time;
use crate::domain::jwt::{self, Payload};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, AppRow, AuditRow, Holder, OrgRow, PrincipalRow, TokenQuery, TokenRow};
use group_commit::Outcome;
use sha2::{Digest, Sha256};
use sigil_proto::api::{IssueToken, IssuedToken, UpdateToken};
use sigil_proto::duration::{format_duration, is_duration_syntax, Expiry};
use sigil_proto::ipnet;
use sigil_proto::names::RefKind;
use sigil_proto::rules::{self, TokenStatus, MAX_TOKEN_LIFETIME_SECS};
use sigil_proto::{ClaimSet, ErrorCode, SecretString};
use uuid::Uuid;

pub mod attenuate;
mod group_commit;

pub use attenuate::attenuate;

/// How long an Idempotency-Key is remembered.
pub const IDEMPOTENCY_WINDOW: i64 = 24 * 3600;

fn rule(e: rules::RuleError) -> ApiError {
    ApiError::invalid(&e.field, e.message)
}

/// An owner or app reference, checked before it is looked up.
fn check_ref(field: &'static str, kind: RefKind, value: &str) -> Result<()> {
    sigil_proto::names::check_ref(field, kind, value).map_err(|e| invalid(field)(e.to_string()))
}

/// `expiry` xor `expires_at` to an absolute time; `None` when neither.
fn parse_expiry(expiry: Option<&str>, expires_at: Option<&str>) -> Result<Option<Expiry>> {
    for (field, v) in [("expiry", expiry), ("expires_at", expires_at)] {
        if let Some(v) = v {
            rules::check_expiry_text(field, v).map_err(rule)?;
        }
    }
    match (expiry, expires_at) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "expires_at",
            "give either expiry (a duration) or expires_at (a time), not both",
        )),
        (Some(d), None) => Expiry::parse("expiry", d).map(Some).map_err(|e| {
            if is_duration_syntax(d) {
                // Well-formed, but zero or beyond any lifetime: refused for what it means.
                ApiError::new(
                    ErrorCode::LifetimeExceeded,
                    format!(
                        "the expiry must be more than zero and at most {}",
                        format_duration(MAX_TOKEN_LIFETIME_SECS)
                    ),
                )
                .with_field("expiry")
            } else {
                invalid("expiry")(e.to_string())
            }
        }),
        // `expires_at` is a time, never a duration (that is `expiry`).
        (None, Some(t)) => match Expiry::parse("expires_at", t) {
            Ok(e @ Expiry::At(_)) => Ok(Some(e)),
            _ => Err(ApiError::invalid(
                "expires_at",
                format!(
                    "invalid expires_at {:?}: expected an RFC 3339 time such as 2030-01-31T12:00:00Z",
                    t.chars().take(64).collect::<String>()
                ),
            )),
        },
        (None, None) => Ok(None),
    }
}

/// Checks an Idempotency-Key header value: 1 to 255 visible ASCII characters.
pub fn check_idempotency_key(raw: &[u8]) -> Result<String> {
    std::str::from_utf8(raw)
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x20..0x7f).contains(&b)))
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })
}

/// A token to sign and store: who it is for, what it allows, until when.
pub struct Mint<'a> {
    pub org: &'a OrgRow,
    pub owner: &'a PrincipalRow,
    pub app: Option<&'a AppRow>,
    pub label: Option<String>,
    pub claims: ClaimSet,
    pub expires_at: i64,
    /// (id, name) of the principal issuing it.
    pub created_by: (Uuid, &'a str),
    /// Networks it may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<ipnet::IpNet>,
    pub max_uses: Option<i64>,
    /// (id, depth) of the token it is derived from; none: issued directly.
    pub parent: Option<(Uuid, i64)>,
}

/// A token for `owner` with all of its permissions, issued by itself and
/// valid for `lifetime`: the owner's token of bootstrap and of recovery.
pub async fn mint_own(
    uow: &mut Uow<'_>,
    org: &OrgRow,
    owner: &PrincipalRow,
    label: &str,
    lifetime: i64,
) -> Result<(SecretString, TokenRow)> {
    let expires_at = uow.now + lifetime;
    mint(
        uow,
        Mint {
            org,
            owner,
            app: None,
            label: Some(label.into()),
            claims: owner.permissions.clone(),
            expires_at,
            created_by: (owner.id, &owner.name),
            allowed_cidrs: Vec::new(),
            max_uses: None,
            parent: None,
        },
    )
    .await
}

/// Signs a JWT and stores its row (never the JWT) in the unit of work; the
/// key's horizon moves in the same transaction, and in memory after commit.
pub async fn mint(uow: &mut Uow<'_>, m: Mint<'_>) -> Result<(SecretString, TokenRow)> {
    let (jwt, row) = sign(uow.state(), m, uow.now)?;
    store::insert_token(uow.c(), &row).await?;
    store::bump_key_exp(uow.c(), &row.kid, row.expires_at).await?;
    uow.issued(&row.kid, row.expires_at);
    uow.event(row.org_id, "token.issued", super::events::token(&row));
    Ok((jwt, row))
}

/// The row of a new token and its JWT, signed by the current key: all of a
/// mint that needs no database.
fn sign(state: &AppState, m: Mint<'_>, now: i64) -> Result<(SecretString, TokenRow)> {
    let key = state
        .signing_key()
        .ok_or_else(|| ApiError::internal("no signing key loaded"))?;
    let row = TokenRow {
        id: super::new_id(),
        org_id: m.org.id,
        org_name: m.org.name.clone(),
        owner_id: m.owner.id,
        owner_kind: m.owner.kind,
        owner_name: m.owner.name.clone(),
        app_id: m.app.map(|a| a.id),
        app_name: m.app.map(|a| a.name.clone()),
        label: m.label.filter(|l| !l.is_empty()),
        claims: m.claims,
        kid: key.kid.clone(),
        created_at: now,
        created_by: m.created_by.0,
        created_by_name: m.created_by.1.to_string(),
        expires_at: m.expires_at,
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
        parent_id: m.parent.map(|p| p.0),
        depth: m.parent.map_or(0, |p| p.1 + 1),
        allowed_cidrs: m.allowed_cidrs,
        max_uses: m.max_uses,
        uses: 0,
    };
    let payload = Payload {
        iss: state.settings.issuer.clone(),
        sub: row.owner_id.to_string(),
        org: row.org_name.clone(),
        app: row.app_name.clone(),
        jti: row.id.to_string(),
        iat: now,
        nbf: now,
        exp: row.expires_at,
        claims: row.claims.to_strings(),
        kind: row.owner_kind.as_str().to_string(),
    };
    let jwt = jwt::sign(&key, &payload).map_err(ApiError::internal)?;
    Ok((jwt, row))
}

pub async fn issue(
    state: &AppState,
    caller: &Caller,
    org: &str,
    req: IssueToken,
    idempotency_key: Option<String>,
) -> Result<IssuedToken> {
    if req.owner.trim().is_empty() {
        return Err(ApiError::invalid(
            "owner",
            "owner is required: a bot username, a user email or an id",
        ));
    }
    check_ref("owner", RefKind::Principal, &req.owner)?;
    if let Some(a) = &req.app {
        check_ref("app", RefKind::App, a)?;
    }
    if let Some(l) = &req.label {
        rules::check_label(l).map_err(rule)?;
    }
    let expiry = parse_expiry(req.expiry.as_deref(), req.expires_at.as_deref())?;
    let (allowed_cidrs, max_uses) = bindings(req.allowed_cidrs.as_deref(), req.max_uses)?;
    let requested = req
        .claims
        .as_ref()
        .map(|c| ClaimSet::parse(c).map_err(|e| super::claims_refused("claims", c, e)))
        .transpose()?;

    // Reads and checks on a pooled connection; the writes go to the
    // replica's group commit (see `group_commit`), which answers once they
    // are committed.
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    let request_hash = {
        let canon = serde_json::to_string(&(org.id, &req)).unwrap_or_default();
        hex(&Sha256::digest(canon.as_bytes()))
    };
    let owner = store::find_principal(uow.c(), org.id, None, req.owner.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("owner", &req.owner).with_field("owner"))?;
    let app = match req.app.as_deref() {
        Some(a) => Some(
            store::find_app(uow.c(), org.id, a)
                .await?
                // An app-scoped caller: another app answers as a missing one.
                .filter(|row| caller.p.app_id.is_none_or(|own| own == row.id))
                .ok_or_else(|| ApiError::not_found("app", a).with_field("app"))?,
        ),
        None => None,
    };
    uow.authorize(
        "tokens",
        "issue",
        owner.id,
        Some(&owner.name),
        app.as_ref().map(|a| a.id),
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
    uow.no_escalation(&claims, "claims")?;
    let now = uow.now;
    // The connection goes back before the wait (SQLite has only one).
    drop(uow);
    let expires_at = match expiry {
        Some(e) => e.resolve(now),
        None => now + default_lifetime(state, &org, owner.kind),
    };
    // Answered after the Idempotency-Key lookup: a retry answers the first
    // result, whatever its lifetime has become.
    let lifetime = check_lifetime(state, &org, owner.kind, now, expires_at).err();
    if let (Some(e), None) = (&lifetime, &idempotency_key) {
        return Err(e.clone());
    }
    let (jwt, row) = sign(
        state,
        Mint {
            org: &org,
            owner: &owner,
            app: app.as_ref(),
            label: req.label.clone(),
            claims,
            expires_at,
            created_by: (caller.p.id, &caller.p.name),
            allowed_cidrs,
            max_uses,
            parent: None,
        },
        now,
    )?;
    let audit = AuditRow {
        id: super::new_id(),
        org_id: org.id,
        actor_id: Some(caller.p.id),
        actor_name: caller.p.name.clone(),
        action: "token.issue".into(),
        target_type: "token".into(),
        target_id: Some(row.id.to_string()),
        details: issue_details(&row, &owner.name),
        client_ip: caller.ip.map(|i| i.to_string()),
        created_at: now,
        seq: None,
        hash: None,
        chain_version: crate::domain::audit_chain::CURRENT_VERSION,
    };
    let answer = IssuedToken {
        token: jwt,
        metadata: crate::wire::token(row.clone(), now),
    };
    let idem = match idempotency_key {
        Some(key) => {
            let plain = serde_json::to_vec(&answer).map_err(ApiError::internal)?;
            let sealed = state
                .master
                .seal(&format!("idem:{}:{key}", caller.p.token_id), &plain);
            Some(group_commit::Idem {
                caller_token: caller.p.token_id,
                key,
                hash: request_hash,
                sealed,
            })
        }
        None => None,
    };
    let raced = idem.as_ref().map(|i| (i.key.clone(), i.hash.clone()));
    let job = group_commit::Job {
        now,
        row,
        answer,
        audit,
        idem,
        lifetime,
    };
    match group_commit::submit(state, job).await? {
        Outcome::Minted(a) | Outcome::Replayed(a) => Ok(a),
        Outcome::Raced => {
            // A concurrent request with the same key won: answer what it minted.
            let (key, hash) = raced.unwrap_or_default();
            let mut c = state.store.pool.acquire().await?;
            match replay_on(&mut c, state, now, caller.p.token_id, &key, &hash).await? {
                Some(a) => Ok(a),
                None => Err(store::StoreError::Unique {
                    table: "idempotency",
                }
                .into()),
            }
        }
    }
}

/// `allowed_cidrs` and `max_uses` of an issue or a derivation, checked: 400
/// naming the field for a malformed value, 422 for a network of the right
/// form that is none (`10.0.0.1/8`). `allowed_cidrs: []` is no binding.
fn bindings(
    cidrs: Option<&[String]>,
    max_uses: Option<i64>,
) -> Result<(Vec<ipnet::IpNet>, Option<i64>)> {
    let nets = match cidrs {
        Some(list) => {
            // The form the OpenAPI document describes first (400, as any
            // other malformed field), then what it means (422: no such
            // network, host bits set).
            if let Some(bad) = list.iter().find(|v| !rules::is_cidr_form(v)) {
                return Err(ApiError::invalid(
                    "allowed_cidrs",
                    format!(
                        "allowed_cidrs: `{}` is not an IPv4 or IPv6 network such as 10.0.0.0/8, 2001:db8::/32 or 192.0.2.7",
                        bad.chars().take(64).collect::<String>()
                    ),
                ));
            }
            rules::parse_cidrs(list).map_err(|e| {
                if list.len() > rules::MAX_CIDRS {
                    rule(e)
                } else {
                    ApiError::new(ErrorCode::Unprocessable, e.message).with_field("allowed_cidrs")
                }
            })?
        }
        None => Vec::new(),
    };
    if let Some(n) = max_uses {
        rules::check_max_uses(n).map_err(rule)?;
    }
    Ok((nets, max_uses))
}

/// The audit details of a new token; the bindings only when set (so the
/// entries of unbound tokens read as before).
fn issue_details(row: &TokenRow, owner: &str) -> serde_json::Value {
    let mut d = serde_json::json!({
        "owner": owner, "label": row.label, "claims": row.claims.to_strings(),
        "app": row.app_name, "expires_at": row.expires_at,
    });
    if !row.allowed_cidrs.is_empty() {
        d["allowed_cidrs"] = serde_json::json!(row
            .allowed_cidrs
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>());
    }
    if let Some(m) = row.max_uses {
        d["max_uses"] = serde_json::json!(m);
    }
    if let Some(p) = row.parent_id {
        d["parent_id"] = serde_json::json!(p.to_string());
    }
    d
}

/// The stored answer to an earlier request with this Idempotency-Key, read
/// on `c` (the batch's transaction, or any connection after it).
async fn replay_on(
    c: &mut sqlx::AnyConnection,
    state: &AppState,
    now: i64,
    caller_token: Uuid,
    key: &str,
    hash: &str,
) -> Result<Option<IssuedToken>> {
    let not_before = now - IDEMPOTENCY_WINDOW;
    let Some((stored_hash, sealed)) =
        store::get_idempotent(c, caller_token, key, not_before).await?
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
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(ApiError::internal)
}

fn default_lifetime(state: &AppState, org: &OrgRow, kind: Kind) -> i64 {
    let mut l = state.settings.default_token_lifetime;
    if kind == Kind::User {
        l = l.min(state.settings.max_user_token_lifetime);
    }
    if let Some(max) = org.max_token_lifetime {
        l = l.min(max);
    }
    l
}

fn check_lifetime(state: &AppState, org: &OrgRow, kind: Kind, now: i64, exp: i64) -> Result<()> {
    if exp <= now {
        // Well-formed, refused for what it means (now): 422, not 400.
        return Err(
            ApiError::new(ErrorCode::Unprocessable, "the expiry must be in the future")
                .with_field("expires_at"),
        );
    }
    let life = exp - now;
    if life > MAX_TOKEN_LIFETIME_SECS {
        return Err(ApiError::new(
            ErrorCode::LifetimeExceeded,
            format!(
                "tokens live at most {}",
                format_duration(MAX_TOKEN_LIFETIME_SECS)
            ),
        )
        .with_field("expiry"));
    }
    if kind == Kind::User && life > state.settings.max_user_token_lifetime {
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
fn parse_statuses(values: &[String]) -> Result<Option<Vec<TokenStatus>>> {
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
async fn find(
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

/// Revokes by id; revoking a revoked token answers it unchanged.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    org: &str,
    id: &str,
    reason: Option<String>,
) -> Result<TokenRow> {
    if let Some(r) = &reason {
        rules::check_reason(r).map_err(rule)?;
    }
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, caller, &org, id, "revoke").await?;
    let done = revoke_tree(&mut uow, &row, reason.as_deref()).await?;
    if done.root {
        let mut details = serde_json::json!({"reason": reason});
        if !done.descendants.is_empty() {
            details["descendants"] = serde_json::json!(ids(&done.descendants));
        }
        uow.audit(org.id, "token.revoke", ("token", row.id), details);
    } else {
        audit_healed(&mut uow, org.id, row.id, &done.descendants);
    }
    let after = store::get_token(uow.c(), Some(org.id), row.id)
        .await?
        .ok_or_else(|| ApiError::not_found("token", id))?;
    uow.commit().await?;
    Ok(after)
}

/// The reason a descendant is revoked with, whatever revoked its ancestor.
pub const PARENT_REVOKED: &str = "parent revoked";

/// What [`revoke_tree`] changed.
#[derive(Debug, Default)]
pub struct Revoked {
    /// The root was revoked now (false: it already was, and nothing about
    /// it changes — its caller writes no audit entry for it).
    pub root: bool,
    /// The descendants revoked now (with reason [`PARENT_REVOKED`]).
    pub descendants: Vec<Uuid>,
}

/// Revokes `root` with `reason` and every token derived from it, at any
/// depth, with reason [`PARENT_REVOKED`], each with its row in the
/// revocation feed and its `token.revoked` event, in the unit of work (whose
/// commit empties every replica's memory view: each revocation bumps the
/// change head). The actor of the unit of work is the revoker.
///
/// The children are walked even when `root` was already revoked: a child
/// that survived its parent's revocation (derived concurrently with an
/// earlier revocation that could not see it) dies with any later one. The
/// root itself is then left as it was.
///
/// The tree is walked one generation at a time, each read after its parents
/// were revoked — so, on PostgreSQL, after any derivation holding a parent
/// committed (see the module documentation). Already revoked descendants
/// are walked through too (their own descendants were revoked with them,
/// but a walk costs little next to a survivor).
pub async fn revoke_tree(
    uow: &mut Uow<'_>,
    root: &TokenRow,
    reason: Option<&str>,
) -> Result<Revoked> {
    let by = uow.actor_id();
    let now = uow.now;
    let root_now = store::revoke_token(uow.c(), root.id, root.org_id, by, reason, now).await?;
    if root_now {
        super::events::revoked(uow, root.id).await?;
        uow.revoked(1);
    }
    let descendants = revoke_descendants(uow, vec![root.id]).await?;
    Ok(Revoked {
        root: root_now,
        descendants,
    })
}

/// Revokes every unrevoked token derived from any of `roots` (revoked
/// already, or in this unit of work), at any depth, with reason
/// [`PARENT_REVOKED`]; answers those revoked now. See [`revoke_tree`].
async fn revoke_descendants(uow: &mut Uow<'_>, roots: Vec<Uuid>) -> Result<Vec<Uuid>> {
    let by = uow.actor_id();
    let now = uow.now;
    let mut revoked = Vec::new();
    let mut generation = roots;
    // Depth is bounded (rules::MAX_DERIVATION_DEPTH); the bound on the walk
    // also guards against a cycle no code path can write. Each generation is
    // read only after the one above it is revoked (its rows locked): a
    // derivation holding one of them (FOR SHARE) has committed by then, so
    // its child is found. Reading the whole tree first would miss it; that is
    // why this walk and `cap_descendants`' stay interleaved.
    for _ in 0..=rules::MAX_DERIVATION_DEPTH {
        if generation.is_empty() {
            break;
        }
        let children = store::child_tokens(uow.c(), &generation).await?;
        generation = Vec::with_capacity(children.len());
        for child in children {
            if !child.revoked
                && store::revoke_token(
                    uow.c(),
                    child.id,
                    child.org_id,
                    by,
                    Some(PARENT_REVOKED),
                    now,
                )
                .await?
            {
                super::events::revoked(uow, child.id).await?;
                revoked.push(child.id);
            }
            generation.push(child.id);
        }
    }
    uow.revoked(revoked.len());
    Ok(revoked)
}

/// Audits the descendants a revocation of an already revoked `root` healed
/// (revoked now, as [`revoke_tree`] walks): one `token.revoke` entry per
/// descendant, none for the root, which did not change.
pub(crate) fn audit_healed(uow: &mut Uow<'_>, org_id: Uuid, root: Uuid, healed: &[Uuid]) {
    for id in healed {
        uow.audit(
            org_id,
            "token.revoke",
            ("token", *id),
            serde_json::json!({"reason": PARENT_REVOKED, "root": root.to_string()}),
        );
    }
}

/// Caps the expiry of every token derived from `root` (at any depth) at
/// `expires_at`, in the unit of work; answers those that changed. Walked as
/// [`revoke_tree`] walks.
async fn cap_descendants(uow: &mut Uow<'_>, root: Uuid, expires_at: i64) -> Result<Vec<Uuid>> {
    let mut capped = Vec::new();
    let mut generation = vec![root];
    for _ in 0..=rules::MAX_DERIVATION_DEPTH {
        if generation.is_empty() {
            break;
        }
        let children = store::child_tokens(uow.c(), &generation).await?;
        generation = Vec::with_capacity(children.len());
        for child in children {
            if !child.revoked
                && child.expires_at > expires_at
                && store::cap_token_expiry(uow.c(), child.id, expires_at).await?
            {
                capped.push(child.id);
            }
            generation.push(child.id);
        }
    }
    Ok(capped)
}

/// Ids as audit details show them.
pub(crate) fn ids(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

/// Revokes every unrevoked token of an owner or an app in the unit of work,
/// and every token derived from them (at any depth, reason
/// [`PARENT_REVOKED`], walked as [`revoke_tree`] walks: after the holder's
/// tokens are revoked, so a derivation that held one of them has committed
/// and its child is found); answers the holder's tokens revoked, then the
/// descendants. The caller is the revoker.
pub async fn revoke_all(
    uow: &mut Uow<'_>,
    org: &OrgRow,
    of: Holder,
    reason: &str,
) -> Result<Vec<Uuid>> {
    let ids = store::unrevoked_token_ids(uow.c(), of).await?;
    let by = uow.actor_id();
    let now = uow.now;
    let mut revoked = Vec::with_capacity(ids.len());
    for id in &ids {
        // Another revoker may have come first (it then walked the children).
        if store::revoke_token(uow.c(), *id, org.id, by, Some(reason), now).await? {
            super::events::revoked(uow, *id).await?;
            revoked.push(*id);
        }
    }
    uow.revoked(revoked.len());
    let descendants = revoke_descendants(uow, ids).await?;
    revoked.extend(descendants);
    Ok(revoked)
}
