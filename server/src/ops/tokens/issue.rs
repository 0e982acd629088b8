//! Issue: `POST …/tokens` (with Idempotency-Key), through the group commit;
//! the lifetime rules and the bindings of an issued token.

use super::*;

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
        .map(|c| ClaimSet::parse(c).map_err(|e| crate::ops::claims_refused("claims", c, e)))
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
        id: crate::ops::new_id(),
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
pub(super) fn bindings(
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
pub(super) fn issue_details(row: &TokenRow, owner: &str) -> serde_json::Value {
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
pub(super) async fn replay_on(
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

pub(super) fn default_lifetime(state: &AppState, org: &OrgRow, kind: Kind) -> i64 {
    let mut l = state.settings.default_token_lifetime;
    if kind == Kind::User {
        l = l.min(state.settings.max_user_token_lifetime);
    }
    if let Some(max) = org.max_token_lifetime {
        l = l.min(max);
    }
    l
}

pub(super) fn check_lifetime(
    state: &AppState,
    org: &OrgRow,
    kind: Kind,
    now: i64,
    exp: i64,
) -> Result<()> {
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

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
