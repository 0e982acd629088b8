//! REST request and response types of `/v1`. Times are RFC 3339 on the wire.

use crate::secret::SecretString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// An RFC 3339 time, in the OpenAPI document.
fn rfc3339(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "format": "date-time"})
}

fn rfc3339_or_null(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"], "format": "date-time"})
}

/// `schema` or `null` (an optional field; serde takes `null` as absent), in
/// OpenAPI 3.1 (JSON Schema 2020-12) terms.
fn or_null(mut schema: schemars::Schema) -> schemars::Schema {
    if let Some(any) = schema.get_mut("anyOf").and_then(|v| v.as_array_mut()) {
        any.push(serde_json::json!({"type": "null"}));
    } else if let Some(t) = schema
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_string)
    {
        schema.insert("type".into(), serde_json::json!([t, "null"]));
    }
    schema
}

// ---------- the bounds of request fields, in the OpenAPI document ----------
// Each schema says exactly what the server's checks (`names`, `rules`,
// `claims`, `duration`) accept, so a schema-driven client sends nothing the
// server refuses for its form.

/// No NUL; no control characters either where `controls` is false.
fn text(min: usize, max: usize, controls: bool, nullable: bool) -> schemars::Schema {
    let pattern = if controls {
        "^[^\\x00]*$"
    } else {
        "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    };
    let mut s = schemars::json_schema!({"type": "string", "minLength": min, "maxLength": max, "pattern": pattern});
    if nullable {
        s = or_null(s);
    }
    s
}

fn name_schema(pattern: &str, nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({"type": "string", "minLength": 1, "maxLength": 63, "pattern": pattern});
    if nullable {
        s = or_null(s);
    }
    s
}

fn org_name(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    name_schema(crate::names::ORG_PATTERN, false)
}

fn username(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    name_schema(crate::names::BOT_PATTERN, false)
}

fn username_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    name_schema(crate::names::BOT_PATTERN, true)
}

fn email_schema(nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({"type": "string", "minLength": 3,
        "maxLength": crate::names::MAX_EMAIL_CHARS, "pattern": crate::names::EMAIL_PATTERN});
    if nullable {
        s = or_null(s);
    }
    s
}

fn email(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    email_schema(false)
}

fn email_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    email_schema(true)
}

/// One claim: `scope:action:specific`, each part `*` or a comma list of items.
/// Items of at most 256 characters, at most 32 a part.
pub const CLAIM_PATTERN: &str = "^(?:\\*|[A-Za-z0-9._/@-]{1,256}(?:,[A-Za-z0-9._/@-]{1,256}){0,31}):(?:\\*|[A-Za-z0-9._/@-]{1,256}(?:,[A-Za-z0-9._/@-]{1,256}){0,31}):(?:\\*|[A-Za-z0-9._/@-]{1,256}(?:,[A-Za-z0-9._/@-]{1,256}){0,31})$";

fn claims_schema(nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({
        "type": "array",
        "maxItems": crate::claims::MAX_CLAIMS,
        "items": {"type": "string", "minLength": 5, "pattern": CLAIM_PATTERN},
        "description": "Claims `scope:action:specific`; at most 32 items a part, 1024 combinations a claim and 10000 a list."
    });
    if nullable {
        s = or_null(s);
    }
    s
}

fn claims(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    claims_schema(false)
}

fn claims_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    claims_schema(true)
}

fn description_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(0, crate::rules::MAX_DESCRIPTION_CHARS, true, true)
}

fn label_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(0, crate::rules::MAX_LABEL_CHARS, false, true)
}

fn reason_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(0, crate::rules::MAX_REASON_CHARS, false, true)
}

fn identity(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(1, crate::rules::MAX_IDENTITY_CHARS, false, false)
}

fn identities_schema(nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({
        "type": "object",
        "maxProperties": crate::rules::MAX_IDENTITIES,
        "propertyNames": {"minLength": 1, "maxLength": 63, "pattern": crate::names::BOT_PATTERN},
        "additionalProperties": text(1, crate::rules::MAX_IDENTITY_CHARS, false, false),
    });
    if nullable {
        s = or_null(s);
    }
    s
}

fn identities(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    identities_schema(false)
}

fn identities_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    identities_schema(true)
}

/// A duration (`100d`, `1h30m`) or an RFC 3339 time.
pub const DURATION_PATTERN: &str = "^(?:[0-9]{1,12}(?:mo|[smhdwy]))+$";

fn expiry_schema(durations: bool) -> schemars::Schema {
    let time = schemars::json_schema!({"type": "string", "format": "date-time",
        "maxLength": crate::rules::MAX_EXPIRY_CHARS});
    let s = if durations {
        schemars::json_schema!({"anyOf": [
            {"type": "string", "maxLength": crate::rules::MAX_EXPIRY_CHARS, "pattern": DURATION_PATTERN},
            time,
        ]})
    } else {
        time
    };
    or_null(s)
}

fn expiry_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    expiry_schema(true)
}

fn time_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    expiry_schema(false)
}

fn duration_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    or_null(schemars::json_schema!({"type": "string",
        "maxLength": crate::rules::MAX_EXPIRY_CHARS, "pattern": DURATION_PATTERN}))
}

fn ref_schema(kind: crate::names::RefKind, nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({"type": "string", "minLength": 1,
        "maxLength": kind.max_chars(), "pattern": kind.pattern()});
    if nullable {
        s = or_null(s);
    }
    s
}

fn cidrs_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["array", "null"], "maxItems": crate::rules::MAX_CIDRS,
        "items": {"type": "string", "pattern": crate::rules::CIDR_PATTERN}})
}

fn max_uses_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["integer", "null"], "minimum": 1,
        "maximum": crate::rules::MAX_USES})
}

fn leak_tokens(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "array", "minItems": 1, "maxItems": crate::rules::MAX_LEAK_TOKENS,
        "items": {"type": "string", "pattern": "^[^\\x00]*$",
            "description": "A string found somewhere: maybe a Sigil token, maybe not."}})
}

fn leak_source(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"],
        "maxLength": crate::rules::MAX_LEAK_SOURCE_CHARS, "pattern": "^[^\\x00]*$"})
}

/// What `rules::check_webhook_url` accepts, as far as a pattern can say it.
const WEBHOOK_URL_PATTERN: &str =
    "^https?://[^\\s\\x00-\\x1f\\x7f-\\x9f@/?#]+(?:[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*)?$";

fn webhook_url(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "maxLength": crate::rules::MAX_WEBHOOK_URL_CHARS,
        "pattern": WEBHOOK_URL_PATTERN})
}

fn webhook_url_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"], "maxLength": crate::rules::MAX_WEBHOOK_URL_CHARS,
        "pattern": WEBHOOK_URL_PATTERN})
}

/// What `rules::check_webhook_secret` accepts.
fn webhook_secret_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"], "minLength": 16, "maxLength": 256,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"})
}

fn events_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut types: Vec<&str> = crate::rules::EVENT_TYPES.to_vec();
    types.push("*");
    schemars::json_schema!({"type": ["array", "null"], "minItems": 1,
        "items": {"type": "string", "enum": types}})
}

fn owner_ref(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    ref_schema(crate::names::RefKind::Principal, false)
}

fn app_ref_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    ref_schema(crate::names::RefKind::App, true)
}

/// A free hint the server ignores; no NUL.
fn hint_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"], "pattern": "^[^\\x00]*$"})
}

/// A token string: something besides white space, no NUL (the server trims it).
fn token_value(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$",
        "description": "A secret (a JWT): shown once, never stored by the server."})
}

/// The schema of a reference (route segment or filter) of `kind`, for the OpenAPI document.
pub fn ref_parameter_schema(kind: crate::names::RefKind) -> schemars::Schema {
    ref_schema(kind, false)
}

/// One page of a list; pass `next_cursor` back as `cursor` for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PageOf{T}")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    /// The longest lifetime a token of this org may have, in seconds; none when uncapped.
    #[serde(default)]
    pub max_token_lifetime: Option<i64>,
    /// How long before a token expires its org's webhooks get `token.expiring`,
    /// in seconds (default 14 days).
    #[serde(default = "default_expiry_warning")]
    pub expiry_warning: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

fn default_expiry_warning() -> i64 {
    crate::rules::DEFAULT_EXPIRY_WARNING_SECS
}

/// `PATCH /v1/orgs/{org}`: change an org's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    /// A duration (`14d`, `72h`) before expiry at which `token.expiring` fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "duration_opt")]
    pub expiry_warning: Option<String>,
}

/// One of an org's webhooks. The signing secret is answered once, at create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub org: String,
    pub url: String,
    /// Event types (see [`crate::rules::EVENT_TYPES`]) or `*`.
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `POST /v1/orgs/{org}/webhooks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http://` or `https://`, at most 2048 characters.
    #[schemars(schema_with = "webhook_url")]
    pub url: String,
    /// Event types or `*` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "events_opt")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "description_opt")]
    pub description: Option<String>,
    /// The HMAC secret (16–256 characters); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "webhook_secret_opt")]
    pub secret: Option<SecretString>,
}

/// The answer to a webhook create: the webhook and its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedWebhook {
    pub secret: SecretString,
    #[serde(flatten)]
    pub webhook: Webhook,
}

/// `PATCH /v1/orgs/{org}/webhooks/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "webhook_url_opt")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "events_opt")]
    pub events: Option<Vec<String>>,
    /// An empty string clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "description_opt")]
    pub description: Option<String>,
    /// A new HMAC secret (16–256 characters) that replaces the current one at
    /// once; never answered back. Deliveries signed from then on use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "webhook_secret_opt")]
    pub secret: Option<SecretString>,
}

/// What a webhook receives: `POST url` with this body (never a JWT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    pub id: Uuid,
    /// `token.issued`, `token.revoked`, … (see [`crate::rules::EVENT_TYPES`]).
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// The org's name.
    pub org: String,
    pub data: serde_json::Value,
}

/// One attempt to deliver an event to a webhook (`GET …/webhooks/{id}/deliveries`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// The `Sigil-Delivery` header: one id per (event, webhook), the same on retries.
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `delivered` (2xx), `failed` (will be retried), `gave_up` (after 24 h).
    pub result: String,
    /// The receiver's HTTP status, when it answered.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// Why the attempt failed (timeout, connection refused, …), without secrets.
    #[serde(default)]
    pub error: Option<String>,
    pub duration_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub attempted_at: OffsetDateTime,
    /// When the next attempt is due, after a failure.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "rfc3339_or_null")]
    pub next_attempt_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    #[schemars(schema_with = "org_name")]
    pub name: String,
    /// A cap on token lifetimes in this org: a duration such as `90d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "duration_opt")]
    pub max_token_lifetime: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    pub id: Uuid,
    pub org: String,
    pub email: String,
    pub permissions: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schemars(schema_with = "email")]
    pub email: String,
    #[serde(default)]
    #[schemars(schema_with = "claims")]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "email_opt")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "claims_opt")]
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bot {
    pub id: Uuid,
    pub org: String,
    pub username: String,
    #[serde(default)]
    pub description: String,
    pub permissions: Vec<String>,
    /// Service name → the bot's identity in that service.
    #[serde(default)]
    pub identities: BTreeMap<String, String>,
    /// Live (not revoked, not expired) tokens the bot holds.
    #[serde(default)]
    pub token_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBot {
    #[schemars(schema_with = "username")]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "description_opt")]
    pub description: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "claims")]
    pub permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "identities")]
    pub identities: BTreeMap<String, String>,
}

/// `PATCH …/bots/{bot}`: fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "username_opt")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "description_opt")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "claims_opt")]
    pub permissions: Option<Vec<String>>,
    /// Replaces the whole map when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "identities_opt")]
    pub identities: Option<BTreeMap<String, String>>,
}

/// `PUT …/bots/{bot}/identities/{service}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutIdentity {
    /// The bot's identity in that service (a user id, an ARN, a login).
    #[schemars(schema_with = "identity")]
    pub identity: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct App {
    pub id: Uuid,
    pub org: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    #[schemars(schema_with = "org_name")]
    pub name: String,
}

/// Token metadata. The JWT itself is only in [`IssuedToken`], once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Token {
    pub id: Uuid,
    pub org: String,
    /// Owner id (the JWT `sub`).
    pub owner_id: Uuid,
    /// Owner's username (bot) or email (user).
    pub owner: String,
    /// `bot` or `user`.
    pub owner_kind: String,
    #[serde(default)]
    pub label: Option<String>,
    pub claims: Vec<String>,
    /// `org` or `app`.
    pub scope: String,
    #[serde(default)]
    pub app_id: Option<Uuid>,
    #[serde(default)]
    pub app: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// Id of the principal that issued it.
    pub created_by: Uuid,
    /// Name of the principal that issued it.
    pub created_by_name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "rfc3339_or_null")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "rfc3339_or_null")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub revoked_by: Option<Uuid>,
    #[serde(default)]
    pub revoke_reason: Option<String>,
    /// The same as `revoke_reason`, under the name SPEC §6 gives it
    /// (`leaked`, `parent revoked`, `owner deleted`, or the revoker's words).
    #[serde(default)]
    pub revoked_reason: Option<String>,
    /// `active`, `expired`, `revoked` or `exhausted` (see
    /// [`crate::rules::TokenStatus`]).
    pub status: String,
    /// The token this one was derived from (`POST /v1/tokens/attenuate`).
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// Networks the token may be used from; empty: anywhere.
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    /// How many authentications the token allows; none: unlimited.
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// Successful authentications so far (counted exactly when `max_uses` is set).
    #[serde(default)]
    pub uses: i64,
}

/// `POST /v1/orgs/{org}/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = {"required": ["expiry", "expires_at"],
    "properties": {"expiry": {"type": "string"}, "expires_at": {"type": "string"}}}))]
pub struct IssueToken {
    /// The bot or user the token is for: id, bot username or user email.
    #[schemars(schema_with = "owner_ref")]
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_opt")]
    pub label: Option<String>,
    /// A duration (`100d`, `1h30m`, …) from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "expiry_opt")]
    pub expiry: Option<String>,
    /// An absolute RFC 3339 time. Exactly one of `expiry` and `expires_at`, or
    /// neither (then the server's default lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "time_opt")]
    pub expires_at: Option<String>,
    /// Scope the token to this app (id or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "app_ref_opt")]
    pub app: Option<String>,
    /// Defaults to all of the owner's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "claims_opt")]
    pub claims: Option<Vec<String>>,
    /// Networks (IPv4/IPv6 CIDRs or addresses, at most 32) the token may be used from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "cidrs_opt")]
    pub allowed_cidrs: Option<Vec<String>>,
    /// Authentications allowed (1–1,000,000); none: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "max_uses_opt")]
    pub max_uses: Option<i64>,
}

/// `POST /v1/tokens/attenuate`, authenticated by the parent token: a child
/// that can only be narrower (claims ⊆ the parent's effective claims, expiry ≤
/// the parent's, same owner and app, bindings at least as narrow). Absent
/// fields are inherited from the parent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = {"required": ["expiry", "expires_at"],
    "properties": {"expiry": {"type": "string"}, "expires_at": {"type": "string"}}}))]
pub struct AttenuateToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "claims_opt")]
    pub claims: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "expiry_opt")]
    pub expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "time_opt")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_opt")]
    pub label: Option<String>,
    /// Scope an org-scoped parent's child to this app; an app-scoped parent's
    /// child keeps the parent's app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "app_ref_opt")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "cidrs_opt")]
    pub allowed_cidrs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "max_uses_opt")]
    pub max_uses: Option<i64>,
}

/// `POST /v1/leaks`, no authentication: strings found somewhere public.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakReport {
    /// 1–1000 strings; each that is a live Sigil token is revoked (`leaked`).
    #[schemars(schema_with = "leak_tokens")]
    pub tokens: Vec<SecretString>,
    /// Where they were found (a URL, a paste, a log), at most 2048 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "leak_source")]
    pub source: Option<String>,
}

/// The answer to a leak report: how many strings were received, never which
/// were tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LeakReceipt {
    pub received: u64,
}

/// The answer to an issue: the metadata plus the JWT, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IssuedToken {
    pub token: SecretString,
    #[serde(flatten)]
    pub metadata: Token,
}

/// `PATCH /v1/orgs/{org}/tokens/{id}`: change the label, or shorten the expiry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = {"required": ["expiry", "expires_at"],
    "properties": {"expiry": {"type": "string"}, "expires_at": {"type": "string"}}}))]
pub struct UpdateToken {
    /// A new label; an empty string clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_opt")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "expiry_opt")]
    pub expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "time_opt")]
    pub expires_at: Option<String>,
}

/// `DELETE /v1/orgs/{org}/tokens/{id}` (optional body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "reason_opt")]
    pub reason: Option<String>,
}

/// Query of `GET /v1/orgs/{org}/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TokenFilter {
    /// Owner id, bot username or user email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// `org` or `app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_revoked: Option<bool>,
    /// `active`, `expired`, `revoked`, `exhausted`: repeatable on the wire
    /// (`status=revoked&status=expired`) or comma-separated, as this client
    /// sends it. Given, it replaces `include_revoked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A duration (`14d`): active tokens expiring within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiring_within: Option<String>,
    /// Tokens derived directly from this token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Query of any other list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `POST /v1/revoke` (RFC 7009): form or JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeByValue {
    #[schemars(schema_with = "token_value")]
    pub token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "hint_opt")]
    pub token_type_hint: Option<String>,
}

/// `POST /v1/introspect` (RFC 7662): form or JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    #[schemars(schema_with = "token_value")]
    pub token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "hint_opt")]
    pub token_type_hint: Option<String>,
}

/// RFC 7662 answer. An inactive token answers only `{"active": false}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Introspection {
    pub active: bool,
    /// Space-separated effective claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<String>>,
    /// Networks the token may be used from (absent: anywhere). A resource
    /// server that introspects enforces it against the address it saw.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_cidrs: Vec<String>,
    /// Authentications the token allows (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<i64>,
    /// Authentications so far (with `max_uses` only; introspection takes none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<i64>,
    /// The token this one was derived from (absent: issued directly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
}

/// One entry of the revocation feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Revocation {
    pub token_id: Uuid,
    pub org: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub revoked_at: OffsetDateTime,
    /// Pass as `since` to resume after this entry.
    pub cursor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RevocationFeed {
    pub items: Vec<Revocation>,
    /// The cursor to pass as `since` next time.
    pub cursor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub org: String,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    /// e.g. `bot.create`, `token.issue`, `token.revoke`.
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
    pub client_ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// Place in the org's hash chain, from 1.
    #[serde(default)]
    pub seq: Option<i64>,
    /// Hex SHA-256 over the previous entry's hash in the org and this
    /// entry's canonical JSON (`docs/audit.md`).
    #[serde(default)]
    pub hash: Option<String>,
    /// The org's id, as the hash covers it.
    #[serde(default)]
    pub org_id: Option<Uuid>,
    /// Which canonical form the hash covers: 2 (RFC 8785, JCS), or 1 for
    /// entries hashed before chain version 2 (`docs/audit.md`).
    #[serde(default)]
    pub chain_version: Option<i64>,
}

/// Query of `GET /v1/orgs/{org}/audit/verify`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditVerifyQuery {
    /// The `head` of an earlier verification, kept outside Sigil: the chain
    /// must still pass through it, or the answer says what is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// The `entries` of that earlier verification: with `head`, the answer
    /// names the entries missing since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
}

/// `GET /v1/orgs/{org}/audit/verify`: the org's chain recomputed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditVerification {
    /// Every entry matches and the chain ends at the recorded head.
    pub ok: bool,
    /// Entries that matched, in chain order.
    pub entries: u64,
    /// The hash of the last entry that matched: keep it elsewhere to detect
    /// a rewrite of the whole chain later.
    #[serde(default)]
    pub head: Option<String>,
    /// The first entry that does not match (absent when it was removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<AuditEntry>,
    /// Where the chain breaks: the seq expected there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// Why it does not match, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Whoami {
    pub id: Uuid,
    /// `bot` or `user`.
    pub kind: String,
    pub name: String,
    pub org: String,
    #[serde(default)]
    pub app: Option<String>,
    pub token_id: Uuid,
    /// Effective claims: the token's claims ∩ the owner's current permissions.
    pub claims: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The token this one was derived from.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// `active`, or `exhausted` when this call used the token's last use.
    #[serde(default = "active")]
    pub status: String,
}

fn active() -> String {
    "active".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SigningKey {
    pub kid: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_is_flat_and_debug_hides_the_jwt() {
        let t = IssuedToken {
            token: SecretString::new("header.payload.signature"),
            metadata: Token {
                id: Uuid::nil(),
                org: "default".into(),
                owner_id: Uuid::nil(),
                owner: "steve".into(),
                owner_kind: "bot".into(),
                label: Some("ci".into()),
                claims: vec!["*:*:*".into()],
                scope: "org".into(),
                app_id: None,
                app: None,
                created_at: OffsetDateTime::UNIX_EPOCH,
                created_by: Uuid::nil(),
                created_by_name: "owner".into(),
                expires_at: OffsetDateTime::UNIX_EPOCH,
                last_used_at: None,
                revoked_at: None,
                revoked_by: None,
                revoke_reason: None,
                revoked_reason: None,
                status: "active".into(),
                parent_id: None,
                allowed_cidrs: vec![],
                max_uses: None,
                uses: 0,
            },
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["token"], "header.payload.signature");
        assert_eq!(v["id"], Uuid::nil().to_string());
        assert!(!format!("{t:?}").contains("payload"));
        let back: IssuedToken = serde_json::from_value(v).unwrap();
        assert_eq!(back, t);
    }
}
