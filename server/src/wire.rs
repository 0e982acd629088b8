//! Rows and domain values to the wire types of `sigil_proto::api`: the one
//! place each answer's shape is made, for REST and for the stored answers of
//! idempotent issues alike.

use crate::clock::to_time;
use crate::domain::principal::Principal;
use crate::store::{AppRow, AuditRow, OrgRow, PrincipalRow, RevocationRow, TokenRow};
use sigil_proto::api;

pub fn org(o: OrgRow) -> api::Org {
    api::Org {
        id: o.id,
        name: o.name,
        max_token_lifetime: o.max_token_lifetime,
        expiry_warning: o.expiry_warning,
        created_at: to_time(o.created_at),
    }
}

pub fn app(org: &OrgRow, a: AppRow) -> api::App {
    api::App {
        id: a.id,
        org: org.name.clone(),
        name: a.name,
        created_at: to_time(a.created_at),
    }
}

pub fn bot(org: &OrgRow, p: PrincipalRow, token_count: i64) -> api::Bot {
    api::Bot {
        id: p.id,
        org: org.name.clone(),
        username: p.name,
        description: p.description,
        permissions: p.permissions.to_strings(),
        identities: p.identities,
        token_count,
        created_at: to_time(p.created_at),
        updated_at: to_time(p.updated_at),
    }
}

pub fn user(org: &OrgRow, p: PrincipalRow) -> api::User {
    api::User {
        id: p.id,
        org: org.name.clone(),
        email: p.name,
        permissions: p.permissions.to_strings(),
        created_at: to_time(p.created_at),
        updated_at: to_time(p.updated_at),
    }
}

pub fn token(t: TokenRow, now: i64) -> api::Token {
    let status = t.status(now).to_string();
    api::Token {
        id: t.id,
        org: t.org_name,
        owner_id: t.owner_id,
        owner: t.owner_name,
        owner_kind: t.owner_kind.as_str().to_string(),
        label: t.label,
        claims: t.claims.to_strings(),
        scope: if t.app_id.is_some() { "app" } else { "org" }.into(),
        app_id: t.app_id,
        app: t.app_name,
        created_at: to_time(t.created_at),
        created_by: t.created_by,
        created_by_name: t.created_by_name,
        expires_at: to_time(t.expires_at),
        last_used_at: t.last_used_at.map(to_time),
        revoked_at: t.revoked_at.map(to_time),
        revoked_by: t.revoked_by,
        revoked_reason: t.revoke_reason.clone(),
        revoke_reason: t.revoke_reason,
        status,
        parent_id: t.parent_id,
        allowed_cidrs: t.allowed_cidrs.iter().map(|n| n.to_string()).collect(),
        max_uses: t.max_uses,
        uses: t.uses,
    }
}

pub fn audit_entry(org: &OrgRow, r: AuditRow) -> api::AuditEntry {
    api::AuditEntry {
        id: r.id,
        org: org.name.clone(),
        actor_id: r.actor_id,
        actor: r.actor_name,
        action: r.action,
        target_type: r.target_type,
        target_id: r.target_id,
        details: r.details,
        client_ip: r.client_ip,
        created_at: to_time(r.created_at),
        chain_version: r.seq.map(|_| r.chain_version),
        seq: r.seq,
        hash: r.hash,
        org_id: Some(org.id),
    }
}

pub fn audit_verification(
    org: &OrgRow,
    v: crate::domain::audit_chain::Verification<AuditRow>,
) -> api::AuditVerification {
    let (seq, entry, reason) = match v.broken {
        Some((seq, entry, reason)) => (Some(seq), entry, Some(reason)),
        None => (None, None, None),
    };
    api::AuditVerification {
        ok: reason.is_none(),
        entries: v.entries,
        head: v.head,
        entry: entry.map(|e| audit_entry(org, e)),
        seq,
        reason,
    }
}

pub fn revocation(r: RevocationRow) -> api::Revocation {
    api::Revocation {
        token_id: r.token_id,
        org: r.org_name,
        revoked_at: to_time(r.revoked_at),
        cursor: r.seq,
    }
}

pub fn whoami(p: &Principal) -> api::Whoami {
    api::Whoami {
        id: p.id,
        kind: p.kind.as_str().to_string(),
        name: p.name.clone(),
        org: p.org_name.clone(),
        app: p.app_name.clone(),
        token_id: p.token_id,
        claims: p.effective_claims().to_strings(),
        expires_at: to_time(p.expires_at),
        parent_id: p.parent_id,
        // `exhausted` when this very call took the last use.
        status: p.status().as_str().into(),
    }
}

/// RFC 7662's answer for a token the caller may see (`None`: inactive).
pub fn introspection(p: Option<Principal>, issuer: &str) -> api::Introspection {
    let Some(p) = p else {
        return api::Introspection {
            active: false,
            ..Default::default()
        };
    };
    let claims = p.effective_claims().to_strings();
    api::Introspection {
        active: true,
        scope: Some(claims.join(" ")),
        token_type: Some("Bearer".into()),
        username: Some(p.name.clone()),
        sub: Some(p.id.to_string()),
        iss: Some(issuer.to_string()),
        jti: Some(p.token_id.to_string()),
        exp: Some(p.expires_at),
        iat: Some(p.issued_at),
        nbf: Some(p.issued_at),
        org: Some(p.org_name.clone()),
        app: p.app_name.clone(),
        kind: Some(p.kind.as_str().to_string()),
        claims: Some(claims),
        allowed_cidrs: p.allowed_cidrs.iter().map(|n| n.to_string()).collect(),
        max_uses: p.max_uses,
        uses: p.max_uses.and(p.uses),
        parent_id: p.parent_id,
    }
}

/// A webhook, without its secret (answered once, by create, beside this).
pub fn webhook(org: &OrgRow, w: crate::store::WebhookRow) -> api::Webhook {
    api::Webhook {
        id: w.id,
        org: org.name.clone(),
        url: w.url,
        events: w.events,
        description: w.description,
        created_at: to_time(w.created_at),
        updated_at: to_time(w.updated_at),
    }
}

/// One delivery attempt of the log.
pub fn delivery(a: crate::store::AttemptRow) -> api::Delivery {
    api::Delivery {
        id: a.delivery_id,
        event_id: a.event_id,
        event_type: a.event_type,
        attempt: u32::try_from(a.attempt).unwrap_or(u32::MAX),
        result: a.result,
        status_code: a.status_code.and_then(|s| u16::try_from(s).ok()),
        error: a.error,
        duration_ms: u64::try_from(a.duration_ms).unwrap_or(0),
        attempted_at: to_time(a.attempted_at),
        next_attempt_at: a.next_attempt_at.map(to_time),
    }
}
