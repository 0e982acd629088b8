//! The extractors: the authenticated caller ([`Auth`]), the client address,
//! and bodies, queries and path segments whose every refusal is in the API's
//! own error shape and names the field or parameter.

use crate::auth::{authenticate, AuthError};
use crate::error::{ApiError, ApiResult};
use crate::ops::Caller;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use sigil_proto::ErrorCode;
use std::net::{IpAddr, SocketAddr};

/// The client's address: the TCP peer, or — behind a trusted proxy — the last
/// `X-Forwarded-For` entry, which that proxy appended (earlier entries are the
/// client's own word and are ignored). An IPv4-mapped IPv6 address
/// (`::ffff:10.1.2.3`, what a dual-stack listener reports for IPv4 peers) is
/// its IPv4 address, for address binding and rate limits alike.
///
/// Behind a trusted proxy, a header whose last entry is not an address is
/// no address at all (`None`: a token bound to networks is refused,
/// `address_not_allowed`) — never the proxy's own, which would let every
/// client through a binding that contains the proxy. An address with a
/// port (`1.2.3.4:5678`, `[2001:db8::1]:443`, as some proxies append) is
/// that address; anything else (`[2001:db8::1]` without a port, an empty
/// entry, garbage) is unknown. Without the header the peer is the client
/// (a direct connection).
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    raw_client_ip(parts, state).map(|ip| ip.to_canonical())
}

fn raw_client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    if state.settings.trust_forwarded_for {
        let last = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().ok())
            .flat_map(|v| v.map_or_else(|| vec![None], |v| v.split(',').map(Some).collect()))
            .last();
        if let Some(last) = last {
            return last.and_then(forwarded_addr);
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// One `X-Forwarded-For` entry as an address: `IP`, `IPv4:port` or
/// `[IPv6]:port` (the port dropped); anything else is none.
fn forwarded_addr(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The bearer token of a request, if any; none when the request carries
/// more than one `Authorization` header (never "first wins").
pub fn bearer(parts: &Parts) -> Option<&str> {
    let mut all = parts.headers.get_all(header::AUTHORIZATION).iter();
    let v = all.next()?.to_str().ok()?;
    if all.next().is_some() {
        return None;
    }
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// An authenticated caller. Failed authentications count against the client's
/// address; past the limit its failures are answered 429.
pub struct Auth(pub Caller);

#[axum::async_trait]
impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts, state);
        let now = state.now();
        // Over the limit, a client still gets in with a valid token (its
        // address may be a proxy shared with the attacker); only further
        // failures are answered 429 instead of 401.
        let limited = state
            .limiter
            .is_limited(ip, now, state.settings.auth_failures_per_minute);
        let refuse = |message: &str| {
            if limited {
                ApiError::new(
                    ErrorCode::RateLimited,
                    "too many failed authentications from this address; retry in a minute",
                )
            } else {
                ApiError::unauthenticated(message)
            }
        };
        // Two credentials are refused, never "first wins": a proxy and a
        // client that disagree on who is calling get a 400, not a guess.
        if parts
            .headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .nth(1)
            .is_some()
        {
            return Err(ApiError::invalid(
                "authorization",
                "more than one Authorization header: send exactly one",
            ));
        }
        let Some(token) = bearer(parts) else {
            state.limiter.record_failure(ip, now);
            state.metrics.inc_auth_failure("missing");
            return Err(refuse(
                "missing bearer token: send `Authorization: Bearer <token>`",
            ));
        };
        // The address binding is checked against `ip`, and a use is taken.
        match authenticate(state, token, ip).await {
            Ok(p) => Ok(Auth(Caller { p, ip })),
            Err(AuthError::Rejected(r)) => {
                state.limiter.record_failure(ip, now);
                state.metrics.inc_auth_failure(r.code());
                Err(refuse(&r.message()))
            }
            Err(AuthError::Server(e)) => Err(e),
        }
    }
}

/// `Json<T>` whose rejections use the API's error shape. Only a JSON *object*
/// is a body (serde would fill a struct from an array, positionally); a NUL
/// anywhere in it is refused naming the field, and so is an unknown field
/// where the type denies them.
pub struct AppJson<T>(pub T);

#[axum::async_trait]
impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::invalid(
                "body",
                "invalid JSON body: expected request with `Content-Type: application/json`",
            ));
        }
        let AppBytes(bytes) = AppBytes::from_request(req, state).await?;
        json_object(&bytes).map(AppJson)
    }
}

fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A request body as bytes; over the size limit a 413 in the API's shape.
pub struct AppBytes(pub axum::body::Bytes);

#[axum::async_trait]
impl<S: Send + Sync> FromRequest<S> for AppBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(AppBytes(b)),
            Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(rej) => Err(ApiError::invalid(
                "body",
                format!("cannot read the body: {}", rej.body_text()),
            )),
        }
    }
}

/// The 413 of a body over the limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        "the request body is larger than the server accepts",
    )
    .with_field("body")
}

/// Parses a JSON body that must be an object, naming the field at fault.
pub fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid("body", format!("invalid JSON body: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::invalid(
            "body",
            "invalid JSON body: expected a JSON object",
        ));
    }
    if let Some(field) = nul_at(&v, "") {
        return Err(ApiError::invalid(
            &field,
            format!("invalid JSON body: {field} must not contain a NUL character"),
        ));
    }
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let raw = e.into_inner().to_string();
        let field = if path == "." {
            // Unknown and missing fields are reported at the top: the name is in backticks.
            raw.split('`')
                .nth(1)
                .map(|name| shown_name(name).to_string())
                .unwrap_or_else(|| "body".into())
        } else {
            // A path names keys of the body, which may be anything sent.
            shown_name(&path).to_string()
        };
        let inner = without_values(&raw);
        ApiError::invalid(&field, format!("invalid JSON body: {field}: {inner}"))
    })
}

/// A key of a body as an error shows it: itself when it looks like a field
/// name, `<redacted>` when it could be anything else (a pasted secret).
fn shown_name(name: &str) -> &str {
    let plain = name.len() <= 64
        && !name.contains("eyJ")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']' | '?'));
    if plain {
        name
    } else {
        "<redacted>"
    }
}

/// A serde message without the values it quotes back (`invalid type:
/// string "…"`, `unknown variant `…``): a value sent in the wrong place may
/// be a secret, and an error never repeats one (SPEC §2). Names (expected
/// fields and variants) stay; an unknown field's name as [`shown_name`].
fn without_values(msg: &str) -> String {
    const UNKNOWN_FIELD: &str = "unknown field `";
    let msg = match msg.find(UNKNOWN_FIELD) {
        Some(at) => {
            let body = &msg[at + UNKNOWN_FIELD.len()..];
            let end = body.find('`').unwrap_or(body.len());
            format!(
                "{}{UNKNOWN_FIELD}{}{}",
                &msg[..at],
                shown_name(&body[..end]),
                &body[end..]
            )
        }
        None => msg.to_string(),
    };
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg.as_str();
    loop {
        let string_at = rest.find("string \"");
        let variant_at = rest.find("unknown variant `");
        match (string_at, variant_at) {
            (Some(at), v) if v.is_none_or(|v| at < v) => {
                out.push_str(&rest[..at]);
                out.push_str("a string");
                // Debug-quoted: the value ends at the first unescaped quote.
                let body = &rest[at + "string \"".len()..];
                let mut escaped = false;
                let end = body
                    .char_indices()
                    .find(|&(_, c)| {
                        let close = c == '"' && !escaped;
                        escaped = c == '\\' && !escaped;
                        close
                    })
                    .map_or(body.len(), |(i, _)| i + 1);
                rest = &body[end..];
            }
            (_, Some(at)) => {
                out.push_str(&rest[..at]);
                out.push_str("unknown variant");
                let body = &rest[at + "unknown variant `".len()..];
                rest = body.find('`').map_or("", |i| &body[i + 1..]);
            }
            _ => break,
        }
    }
    out.push_str(rest);
    out
}

/// The path of the first string (or key) holding a NUL, if any.
fn nul_at(v: &serde_json::Value, at: &str) -> Option<String> {
    let here = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(if at.is_empty() {
            "body".into()
        } else {
            at.into()
        }),
        serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| {
            nul_at(
                x,
                &format!("{}[{i}]", if at.is_empty() { "body" } else { at }),
            )
        }),
        serde_json::Value::Object(m) => m.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                Some(here(&k.replace('\0', "\\0")))
            } else {
                nul_at(x, &here(k))
            }
        }),
        _ => None,
    }
}

/// An optional JSON body: empty means `T::default()`; otherwise as [`AppJson`].
pub async fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json_object(body)
}

/// `Query<T>` whose rejections use the API's error shape and name the
/// parameter: a malformed value, a parameter given twice, a NUL.
pub struct AppQuery<T>(pub T);

#[axum::async_trait]
impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(AppQuery)
    }
}

/// Parses a query string into `T` (whose fields are all optional).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> ApiResult<T> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::invalid("query", format!("invalid query string: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    for (k, v) in &pairs {
        if k.contains('\0') || v.contains('\0') {
            return Err(ApiError::invalid(
                &k.replace('\0', "\\0"),
                format!("query parameter {k:?} must not contain a NUL character"),
            ));
        }
        if !seen.insert(k.as_str()) {
            return Err(ApiError::invalid(
                k,
                format!("query parameter {k:?} is given more than once"),
            ));
        }
    }
    serde_urlencoded::from_str(query).map_err(|e| {
        // Find the parameter at fault: the first that fails on its own.
        let culprit = pairs.iter().find(|(k, v)| {
            let one = serde_urlencoded::to_string([(k, v)]).unwrap_or_default();
            serde_urlencoded::from_str::<T>(&one).is_err()
        });
        match culprit {
            Some((k, v)) => ApiError::invalid(
                k,
                format!("invalid query parameter {k}={:?}: {e}", truncate(v)),
            ),
            None => ApiError::invalid("query", format!("invalid query string: {e}")),
        }
    })
}

fn truncate(v: &str) -> String {
    v.chars().take(40).collect()
}

/// `Path<T>` whose rejections use the API's error shape, naming the segment,
/// and that checks every segment before anything is looked up: `{org}`,
/// `{app}`, `{bot}`, `{user}` an id or a name of their kind, `{service}` a
/// service name, `{id}` a UUID. Invalid UTF-8 or a NUL is a 400 too.
pub struct AppPath<T>(pub T);

#[axum::async_trait]
impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        let raw = match axum::extract::RawPathParams::from_request_parts(parts, state).await {
            Ok(raw) => raw,
            Err(axum::extract::rejection::RawPathParamsRejection::InvalidUtf8InPathParam(e)) => {
                let text = e.body_text();
                let key = text.split('`').nth(1).unwrap_or("path").to_string();
                return Err(ApiError::invalid(
                    &key,
                    format!("path segment {key} is not valid UTF-8"),
                ));
            }
            Err(e) => return Err(ApiError::invalid("path", e.body_text())),
        };
        for (key, value) in raw.iter() {
            check_segment(key, value)?;
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(AppPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let key = match e.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::ParseErrorAtKey { key, .. } => key.clone(),
                    _ => "path".into(),
                };
                Err(ApiError::invalid(
                    &key,
                    format!("invalid path segment {key}: {}", e.body_text()),
                ))
            }
            Err(e) => Err(ApiError::invalid("path", e.body_text())),
        }
    }
}

/// The one check of a route segment, by its name in the route.
fn check_segment(key: &str, value: &str) -> ApiResult<()> {
    use sigil_proto::names::{check_ref, RefKind, ServiceName};
    let kind = match key {
        "org" => RefKind::Org,
        "app" => RefKind::App,
        "bot" => RefKind::Bot,
        "user" => RefKind::User,
        "service" => {
            return ServiceName::parse(value)
                .map(|_| ())
                .map_err(|e| ApiError::invalid("service", e.to_string()));
        }
        "id" => {
            return uuid::Uuid::parse_str(value).map(|_| ()).map_err(|_| {
                ApiError::invalid(
                    "id",
                    format!("invalid token id {:?}: expected a UUID", truncate(value)),
                )
            });
        }
        _ => {
            return sigil_proto::rules::check_no_nul(key, value)
                .map_err(|e| ApiError::invalid(&e.field, e.message));
        }
    };
    let field: &'static str = match kind {
        RefKind::Org => "org",
        RefKind::App => "app",
        RefKind::Bot => "bot",
        RefKind::User | RefKind::Principal => "user",
    };
    check_ref(field, kind, value).map_err(|e| ApiError::invalid(field, e.to_string()))
}
