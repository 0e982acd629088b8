//! The OpenAPI document, generated from this route table and from the wire
//! types themselves (`schemars` derives on `sigil_proto::api`), so the
//! document cannot drift from what the handlers take and answer.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};
use sigil_proto::api::*;
use sigil_proto::{ErrorBody, ErrorCode};

/// One operation: method, path, summary, request body, answer (status, body).
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Option<Schema>,
    status: u16,
    response: Option<Schema>,
    query: &'static [(&'static str, &'static str)],
}

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Option<Schema> {
    Some(g.subschema_for::<T>())
}

const PAGE: &[(&str, &str)] = &[("cursor", "string"), ("limit", "integer")];

fn routes(g: &mut SchemaGenerator) -> Vec<Op> {
    macro_rules! op {
        ($m:literal, $p:literal, $s:literal, $req:expr, $st:literal, $resp:expr) => {
            op!($m, $p, $s, $req, $st, $resp, &[])
        };
        ($m:literal, $p:literal, $s:literal, $req:expr, $st:literal, $resp:expr, $q:expr) => {
            Op {
                method: $m,
                path: $p,
                summary: $s,
                request: $req,
                status: $st,
                response: $resp,
                query: $q,
            }
        };
    }
    let json_value = || Some(Schema::from(true));
    vec![
        op!("get", "/healthz", "Liveness", None, 200, json_value()),
        op!(
            "get",
            "/readyz",
            "Readiness: 503 when the database is unreachable",
            None,
            200,
            json_value()
        ),
        op!(
            "get",
            "/metrics",
            "Prometheus metrics (text)",
            None,
            200,
            None
        ),
        op!(
            "get",
            "/openapi.json",
            "This document",
            None,
            200,
            json_value()
        ),
        op!(
            "get",
            "/.well-known/jwks.json",
            "Public keys that may verify a live token",
            None,
            200,
            json_value()
        ),
        op!(
            "get",
            "/v1/whoami",
            "The calling principal, its org and effective claims",
            None,
            200,
            schema::<Whoami>(g)
        ),
        op!(
            "post",
            "/v1/orgs",
            "Create an org",
            schema::<CreateOrg>(g),
            201,
            schema::<Org>(g)
        ),
        op!(
            "get",
            "/v1/orgs",
            "List orgs",
            None,
            200,
            schema::<Page<Org>>(g),
            PAGE
        ),
        op!(
            "get",
            "/v1/orgs/{org}",
            "View an org",
            None,
            200,
            schema::<Org>(g)
        ),
        op!(
            "patch",
            "/v1/orgs/{org}",
            "Change an org's settings (`expiry_warning`)",
            schema::<UpdateOrg>(g),
            200,
            schema::<Org>(g)
        ),
        op!(
            "post",
            "/v1/orgs/{org}/webhooks",
            "Create a webhook; its signing secret is in `secret`, this once",
            schema::<CreateWebhook>(g),
            201,
            schema::<CreatedWebhook>(g)
        ),
        op!(
            "get",
            "/v1/orgs/{org}/webhooks",
            "List webhooks",
            None,
            200,
            schema::<Page<Webhook>>(g),
            PAGE
        ),
        op!(
            "get",
            "/v1/orgs/{org}/webhooks/{webhook}",
            "View a webhook",
            None,
            200,
            schema::<Webhook>(g)
        ),
        op!(
            "patch",
            "/v1/orgs/{org}/webhooks/{webhook}",
            "Change a webhook's url, events or description",
            schema::<UpdateWebhook>(g),
            200,
            schema::<Webhook>(g)
        ),
        op!(
            "delete",
            "/v1/orgs/{org}/webhooks/{webhook}",
            "Delete a webhook and its pending deliveries",
            None,
            204,
            None
        ),
        op!(
            "get",
            "/v1/orgs/{org}/webhooks/{webhook}/deliveries",
            "The webhook's delivery attempts, newest first",
            None,
            200,
            schema::<Page<Delivery>>(g),
            PAGE
        ),
        op!(
            "post",
            "/v1/orgs/{org}/webhooks/{webhook}/test",
            "Deliver a `webhook.test` event now; answers the first attempt",
            None,
            200,
            schema::<Delivery>(g)
        ),
        op!(
            "post",
            "/v1/orgs/{org}/users",
            "Create a user",
            schema::<CreateUser>(g),
            201,
            schema::<User>(g)
        ),
        op!(
            "get",
            "/v1/orgs/{org}/users",
            "List users",
            None,
            200,
            schema::<Page<User>>(g),
            PAGE
        ),
        op!(
            "get",
            "/v1/orgs/{org}/users/{user}",
            "View a user",
            None,
            200,
            schema::<User>(g)
        ),
        op!(
            "patch",
            "/v1/orgs/{org}/users/{user}",
            "Update a user",
            schema::<UpdateUser>(g),
            200,
            schema::<User>(g)
        ),
        op!(
            "delete",
            "/v1/orgs/{org}/users/{user}",
            "Delete a user and revoke its tokens",
            None,
            204,
            None
        ),
        op!(
            "post",
            "/v1/orgs/{org}/bots",
            "Create a bot",
            schema::<CreateBot>(g),
            201,
            schema::<Bot>(g)
        ),
        op!(
            "get",
            "/v1/orgs/{org}/bots",
            "List bots with live token counts",
            None,
            200,
            schema::<Page<Bot>>(g),
            PAGE
        ),
        op!(
            "get",
            "/v1/orgs/{org}/bots/{bot}",
            "View a bot",
            None,
            200,
            schema::<Bot>(g)
        ),
        op!(
            "patch",
            "/v1/orgs/{org}/bots/{bot}",
            "Update a bot",
            schema::<UpdateBot>(g),
            200,
            schema::<Bot>(g)
        ),
        op!(
            "delete",
            "/v1/orgs/{org}/bots/{bot}",
            "Delete a bot and revoke all its tokens",
            None,
            204,
            None
        ),
        op!(
            "put",
            "/v1/orgs/{org}/bots/{bot}/identities/{service}",
            "Set one identity",
            schema::<PutIdentity>(g),
            200,
            schema::<Bot>(g)
        ),
        op!(
            "delete",
            "/v1/orgs/{org}/bots/{bot}/identities/{service}",
            "Delete one identity",
            None,
            200,
            schema::<Bot>(g)
        ),
        op!(
            "post",
            "/v1/orgs/{org}/apps",
            "Create an app",
            schema::<CreateApp>(g),
            201,
            schema::<App>(g)
        ),
        op!(
            "get",
            "/v1/orgs/{org}/apps",
            "List apps",
            None,
            200,
            schema::<Page<App>>(g),
            PAGE
        ),
        op!(
            "get",
            "/v1/orgs/{org}/apps/{app}",
            "View an app",
            None,
            200,
            schema::<App>(g)
        ),
        op!(
            "delete",
            "/v1/orgs/{org}/apps/{app}",
            "Delete an app and revoke its tokens",
            None,
            204,
            None
        ),
        op!(
            "post",
            "/v1/orgs/{org}/tokens",
            "Issue a token; the JWT is in `token`, this once (header Idempotency-Key supported)",
            schema::<IssueToken>(g),
            201,
            schema::<IssuedToken>(g)
        ),
        op!(
            "get",
            "/v1/orgs/{org}/tokens",
            "List tokens",
            None,
            200,
            schema::<Page<Token>>(g),
            &[
                ("owner", "string"),
                ("app", "string"),
                ("scope", "string"),
                ("include_revoked", "boolean"),
                ("status", "string"),
                ("expiring_within", "string"),
                ("parent", "string"),
                ("cursor", "string"),
                ("limit", "integer")
            ]
        ),
        op!(
            "get",
            "/v1/orgs/{org}/tokens/{id}",
            "View a token (never the JWT)",
            None,
            200,
            schema::<Token>(g)
        ),
        op!(
            "patch",
            "/v1/orgs/{org}/tokens/{id}",
            "Change the label or shorten the expiry",
            schema::<UpdateToken>(g),
            200,
            schema::<Token>(g)
        ),
        op!(
            "delete",
            "/v1/orgs/{org}/tokens/{id}",
            "Revoke a token (idempotent)",
            schema::<RevokeToken>(g),
            200,
            schema::<Token>(g),
            &[("reason", "string")]
        ),
        op!(
            "post",
            "/v1/tokens/attenuate",
            "Derive a narrower token from the calling token (the parent); the JWT is in `token`, this once",
            schema::<AttenuateToken>(g),
            201,
            schema::<IssuedToken>(g)
        ),
        op!(
            "post",
            "/v1/leaks",
            "Report leaked tokens (no authentication; rate limited per address): each live one is revoked",
            schema::<LeakReport>(g),
            202,
            schema::<LeakReceipt>(g)
        ),
        op!(
            "post",
            "/v1/revoke",
            "Revoke by token string (RFC 7009; form or JSON)",
            schema::<RevokeByValue>(g),
            200,
            None
        ),
        op!(
            "post",
            "/v1/introspect",
            "Introspect a token (RFC 7662; form or JSON)",
            schema::<IntrospectRequest>(g),
            200,
            schema::<Introspection>(g)
        ),
        op!(
            "get",
            "/v1/revocations",
            "The revocation feed, oldest first",
            None,
            200,
            schema::<RevocationFeed>(g),
            &[("since", "integer"), ("limit", "integer")]
        ),
        op!(
            "get",
            "/v1/orgs/{org}/audit",
            "The audit log",
            None,
            200,
            schema::<Page<AuditEntry>>(g),
            PAGE
        ),
        op!(
            "get",
            "/v1/orgs/{org}/audit/verify",
            "Recompute the org's audit hash chain",
            None,
            200,
            schema::<AuditVerification>(g),
            &[("head", "string"), ("entries", "integer")]
        ),
        op!(
            "post",
            "/v1/keys/rotate",
            "Add a new signing key",
            None,
            201,
            schema::<SigningKey>(g)
        ),
    ]
}

/// What a route segment accepts: exactly what `AppPath` checks.
fn path_schema(name: &str) -> Value {
    use sigil_proto::names::{RefKind, BOT_PATTERN, UUID_PATTERN};
    let kind = match name {
        "org" => RefKind::Org,
        "app" => RefKind::App,
        "bot" => RefKind::Bot,
        "user" => RefKind::User,
        "service" => {
            return json!({"type": "string", "minLength": 1, "maxLength": 63, "pattern": BOT_PATTERN})
        }
        "id" => return json!({"type": "string", "pattern": UUID_PATTERN}),
        _ => return json!({"type": "string"}),
    };
    serde_json::to_value(ref_parameter_schema(kind)).unwrap_or(Value::Null)
}

/// What a query parameter accepts: exactly what the handler checks.
fn query_schema(path: &str, name: &str, ty: &str) -> Value {
    use sigil_proto::names::RefKind;
    use sigil_proto::rules::MAX_REASON_CHARS;
    let max_limit = if path == "/v1/revocations" {
        super::MAX_FEED_LIMIT
    } else {
        super::MAX_LIMIT
    };
    match name {
        "limit" => json!({"type": "integer", "minimum": 1, "maximum": max_limit}),
        "since" => json!({"type": "integer", "minimum": 0, "maximum": i64::MAX}),
        "cursor" => json!({"type": "string", "pattern": super::CURSOR_PATTERN,
            "description": "The `next_cursor` of the previous page."}),
        "owner" => {
            serde_json::to_value(ref_parameter_schema(RefKind::Principal)).unwrap_or(Value::Null)
        }
        "app" => serde_json::to_value(ref_parameter_schema(RefKind::App)).unwrap_or(Value::Null),
        "scope" => json!({"type": "string", "enum": ["org", "app"]}),
        "status" => json!({"type": "string",
            "pattern": "^(active|expired|revoked|exhausted)(,(active|expired|revoked|exhausted))*$",
            "description": "Repeatable (`status=revoked&status=expired`) or comma-separated; replaces `include_revoked`."}),
        "expiring_within" => {
            json!({"type": "string", "pattern": "^([0-9]{1,12}(s|m|h|d|w|mo|y))+$",
            "description": "Active tokens expiring within this duration (`14d`)."})
        }
        "parent" => json!({"type": "string", "pattern": sigil_proto::names::UUID_PATTERN,
            "description": "Tokens derived directly from this token id."}),
        "head" => json!({"type": "string", "pattern": "^[0-9a-f]{64}$",
            "description": "The `head` of an earlier verification, kept outside Sigil."}),
        "entries" => json!({"type": "integer", "minimum": 0, "maximum": i64::MAX,
            "description": "The `entries` of an earlier verification."}),
        "reason" => {
            json!({"type": "string", "maxLength": MAX_REASON_CHARS, "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"})
        }
        _ => json!({"type": ty}),
    }
}

/// The whole document.
pub fn document() -> Value {
    // OpenAPI 3.1: its schemas are JSON Schema 2020-12, so `propertyNames`
    // (the service names of `identities`) and `null` types mean what they say.
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut g = settings.into_generator();
    let error = g.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for op in routes(&mut g) {
        let mut params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": path_schema(name)}))
            .collect();
        params.extend(op.query.iter().map(|(name, ty)| json!({"name": name, "in": "query", "required": false, "schema": query_schema(op.path, name, ty)})));
        let ok = match &op.response {
            Some(s) => json!({"description": "OK", "content": {"application/json": {"schema": s}}}),
            None => json!({"description": "OK"}),
        };
        let mut o = json!({
            "summary": op.summary,
            "parameters": params,
            "responses": {
                op.status.to_string(): ok,
                "default": {"description": "Error", "content": {"application/json": {"schema": &error}}}
            }
        });
        if let Some(req) = &op.request {
            o["requestBody"] = json!({"required": op.method != "delete", "content": {"application/json": {"schema": req}}});
        }
        let public =
            !op.path.starts_with("/v1/") || op.path == "/v1/revoke" || op.path == "/v1/leaks";
        if !public {
            o["security"] = json!([{"bearer": []}]);
        }
        paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}))[op.method] = o;
    }
    let codes: Vec<Value> = ErrorCode::TABLE
        .iter()
        .map(|(c, s, d)| json!({"code": c, "status": s, "description": d}))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Sigil", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Bots and their long-lived, scoped tokens."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": g.take_definitions(true),
        },
        "x-error-codes": codes,
    })
}
