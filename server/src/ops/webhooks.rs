//! Webhooks: an org's receivers of events (SPEC §6), their delivery log, and
//! a test delivery. Scope `webhooks`, actions `create`, `list`, `get`,
//! `update` (also a test delivery), `delete`.
//!
//! The HMAC secret is generated (`whsec_` + 32 random bytes, base64) unless
//! given, sealed with the master key at once (`webhook:<id>` as AAD), and
//! answered only by [`create`]: no view, list, audit entry or log line holds
//! it again.

use super::{Caller, Page, PageRequest, Result, Uow};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, AttemptRow, OrgRow, WebhookRow};
use sigil_proto::api::{CreateWebhook, UpdateWebhook};
use sigil_proto::{rules, SecretString};
use uuid::Uuid;

fn rule(e: rules::RuleError) -> ApiError {
    ApiError::invalid(&e.field, e.message)
}

/// A new secret: `whsec_` and 32 random bytes in base64, the form Standard
/// Webhooks libraries take as it is.
fn generate_secret() -> SecretString {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    SecretString::new(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

fn description(d: Option<String>) -> Result<Option<String>> {
    match d {
        Some(d) => {
            rules::check_description(&d).map_err(rule)?;
            Ok((!d.is_empty()).then_some(d))
        }
        None => Ok(None),
    }
}

/// A receiver at a literal IP this server refuses to send to (see
/// [`crate::jobs::delivery::address_refused`]): 422 naming `url` — the OpenAPI
/// document allows the URL, so not a 400. A host name is checked at each
/// attempt, after resolution.
fn check_receiver(state: &AppState, url: &str) -> Result<()> {
    crate::domain::webhook::check_url_literal(url, state.deliveries.deny_private).map_err(|e| {
        ApiError::new(sigil_proto::ErrorCode::Unprocessable, e.to_string()).with_field("url")
    })
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    org: &str,
    req: CreateWebhook,
) -> Result<(OrgRow, WebhookRow, SecretString)> {
    rules::check_webhook_url(&req.url).map_err(rule)?;
    check_receiver(state, &req.url)?;
    let events =
        rules::check_events(req.events.as_deref().unwrap_or(&["*".to_string()])).map_err(rule)?;
    let description = description(req.description)?;
    let secret = match req.secret {
        Some(s) => {
            rules::check_webhook_secret(s.expose()).map_err(rule)?;
            s
        }
        None => generate_secret(),
    };
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    uow.authorize("webhooks", "create", "*", None, None)?;
    let id = super::new_id();
    let row = WebhookRow {
        id,
        org_id: org.id,
        url: req.url,
        events,
        description,
        secret_enc: state.master.seal(
            &crate::domain::webhook::secret_aad(id),
            secret.expose().as_bytes(),
        ),
        created_at: uow.now,
        updated_at: uow.now,
    };
    store::insert_webhook(uow.c(), &row).await?;
    uow.audit(
        org.id,
        "webhook.create",
        ("webhook", row.id),
        serde_json::json!({"url": row.url, "events": row.events}),
    );
    uow.commit().await?;
    Ok((org, row, secret))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: &str,
    page: PageRequest,
) -> Result<(OrgRow, Page<WebhookRow>)> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    uow.authorize("webhooks", "list", "*", None, None)?;
    let rows = store::list_webhooks(uow.c(), org.id, page.after.as_deref(), page.limit + 1).await?;
    Ok((org, Page::cut(rows, page.limit, |r| r.id.to_string())))
}

async fn find(uow: &mut Uow<'_>, org: &OrgRow, id: &str) -> Result<WebhookRow> {
    let not_found = || ApiError::not_found("webhook", id);
    let uuid = Uuid::parse_str(id).map_err(|_| not_found())?;
    store::get_webhook(uow.c(), org.id, uuid)
        .await?
        .ok_or_else(not_found)
}

pub async fn view(
    state: &AppState,
    caller: &Caller,
    org: &str,
    id: &str,
) -> Result<(OrgRow, WebhookRow)> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, &org, id).await?;
    uow.authorize("webhooks", "get", row.id, None, None)?;
    Ok((org, row))
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    org: &str,
    id: &str,
    req: UpdateWebhook,
) -> Result<(OrgRow, WebhookRow)> {
    if let Some(u) = &req.url {
        rules::check_webhook_url(u).map_err(rule)?;
        check_receiver(state, u)?;
    }
    let events = req
        .events
        .as_deref()
        .map(rules::check_events)
        .transpose()
        .map_err(rule)?;
    let new_description = req.description.map(|d| description(Some(d))).transpose()?;
    if let Some(s) = &req.secret {
        rules::check_webhook_secret(s.expose()).map_err(rule)?;
    }
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let mut row = find(&mut uow, &org, id).await?;
    uow.authorize("webhooks", "update", row.id, None, None)?;
    if let Some(u) = req.url {
        row.url = u;
    }
    if let Some(e) = events {
        row.events = e;
    }
    if let Some(d) = new_description {
        row.description = d;
    }
    let secret_rotated = req.secret.is_some();
    if let Some(s) = req.secret {
        row.secret_enc = state.master.seal(
            &crate::domain::webhook::secret_aad(row.id),
            s.expose().as_bytes(),
        );
    }
    row.updated_at = uow.now;
    store::update_webhook(uow.c(), &row).await?;
    uow.audit(
        org.id,
        "webhook.update",
        ("webhook", row.id),
        serde_json::json!({"url": row.url, "events": row.events, "secret_rotated": secret_rotated}),
    );
    uow.commit().await?;
    Ok((org, row))
}

pub async fn delete(state: &AppState, caller: &Caller, org: &str, id: &str) -> Result<()> {
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, &org, id).await?;
    uow.authorize("webhooks", "delete", row.id, None, None)?;
    store::delete_webhook(uow.c(), row.id).await?;
    uow.audit(
        org.id,
        "webhook.delete",
        ("webhook", row.id),
        serde_json::json!({"url": row.url}),
    );
    uow.commit().await
}

/// The webhook's delivery attempts, newest first.
pub async fn deliveries(
    state: &AppState,
    caller: &Caller,
    org: &str,
    id: &str,
    page: PageRequest,
) -> Result<Page<AttemptRow>> {
    let mut uow = Uow::read(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, &org, id).await?;
    uow.authorize("webhooks", "get", row.id, None, None)?;
    let rows = store::list_attempts(uow.c(), row.id, page.after.as_deref(), page.limit + 1).await?;
    Ok(Page::cut(rows, page.limit, |r| r.id.to_string()))
}

/// Sends a `webhook.test` event to this webhook only, now, and answers the
/// first attempt. A failed test delivery is retried like any other.
pub async fn test(state: &AppState, caller: &Caller, org: &str, id: &str) -> Result<AttemptRow> {
    let mut uow = Uow::write(state, caller).await?;
    let org = uow.org(org).await?;
    let row = find(&mut uow, &org, id).await?;
    uow.authorize("webhooks", "update", row.id, None, None)?;
    let event = store::EventRow {
        id: super::new_id(),
        org_id: org.id,
        event_type: "webhook.test".into(),
        data: serde_json::json!({"webhook_id": row.id}),
        created_at: uow.now,
    };
    store::insert_event(uow.c(), &event).await?;
    // Claimed by this replica at once, so no worker takes it before this
    // request's own attempt.
    let delivery = super::new_id();
    let claim = (
        state.deliveries.replica.as_str(),
        uow.now + store::CLAIM_SECS,
    );
    let now = uow.now;
    store::insert_delivery(uow.c(), delivery, event.id, row.id, now, Some(claim)).await?;
    uow.commit().await?;
    crate::jobs::delivery::attempt(state, delivery)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("webhook", id))
}
