//! The middleware every router gets (the one tests drive with `oneshot`
//! too): one line and one counter per request, with credentials redacted
//! from the logged URI. A new middleware for every router goes here and is
//! layered in [`super::app`]; one for the served router only goes to
//! `crate::serve::timeouts`.

use crate::state::AppState;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Counts every request in [`crate::state::Metrics`] and logs one line per
/// request at info: method, path and query (credentials redacted, see
/// [`redact_uri`]), status, latency. Headers (the bearer token) are never
/// recorded.
pub(super) async fn count_requests(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let start = std::time::Instant::now();
    // Kept only when the line will be written: the URI is copied (cheaply,
    // `Uri` shares its bytes) only then.
    let logged = tracing::enabled!(tracing::Level::INFO).then(|| req.uri().clone());
    let method = req.method().clone();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    state.metrics.inc_request(method.as_str(), status);
    if let Some(uri) = logged {
        tracing::info!(
            method = %method,
            uri = %redact_uri(&uri),
            status,
            latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
            "request"
        );
    }
    resp
}

/// Query parameters whose values can carry a credential.
const SECRET_PARAMS: [&str; 7] = [
    "token",
    "access_token",
    "id_token",
    "jwt",
    "key",
    "secret",
    "refresh_token",
];

/// Whether a path segment or query value may hold a JWT: anything
/// [`sigil_proto::redact`] would cut — `eyJ` wherever it stands, also
/// percent-encoded (`%65%79%4A…`, `Bearer%20eyJ…`).
fn looks_like_jwt(v: &str) -> bool {
    sigil_proto::redact::contains_jwt(v)
}

/// The path and query of a request as logged: values of [`SECRET_PARAMS`],
/// and any path segment or value that looks like a JWT, read `[redacted]`.
/// A log line must never hold a credential.
pub fn redact_uri(uri: &axum::http::Uri) -> std::borrow::Cow<'_, str> {
    let path = uri.path();
    let query = uri.query();
    let path_secret = looks_like_jwt(path);
    let query_secret = query.is_some_and(|q| {
        q.split('&').any(|kv| {
            let k = kv.split_once('=').map_or(kv, |(k, _)| k);
            secret_param(k) || looks_like_jwt(kv)
        })
    });
    if !path_secret && !query_secret {
        return std::borrow::Cow::Borrowed(uri.path_and_query().map_or(path, |pq| pq.as_str()));
    }
    let mut out = String::with_capacity(path.len() + query.map_or(0, str::len) + 1);
    if path_secret {
        let segments: Vec<&str> = path
            .split('/')
            .map(|s| if looks_like_jwt(s) { "[redacted]" } else { s })
            .collect();
        out.push_str(&segments.join("/"));
    } else {
        out.push_str(path);
    }
    if let Some(q) = query {
        out.push('?');
        for (i, kv) in q.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match kv.split_once('=') {
                _ if kv.split('=').next().is_some_and(looks_like_jwt) => {
                    out.push_str("[redacted]");
                }
                Some((k, v)) if secret_param(k) || looks_like_jwt(v) => {
                    out.push_str(k);
                    out.push_str("=[redacted]");
                }
                _ => out.push_str(kv),
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A query parameter name among [`SECRET_PARAMS`], in any case, encoded or not.
fn secret_param(k: &str) -> bool {
    let name = percent_decode(k).to_ascii_lowercase();
    SECRET_PARAMS.contains(&name.as_str())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::redact_uri;

    fn r(u: &str) -> String {
        redact_uri(&u.parse().unwrap()).into_owned()
    }

    #[test]
    fn credentials_never_reach_a_logged_uri() {
        let jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln";
        assert_eq!(r("/v1/whoami"), "/v1/whoami");
        assert_eq!(r("/v1/orgs/a/tokens?limit=5"), "/v1/orgs/a/tokens?limit=5");
        for q in [
            format!("token={jwt}"),
            format!("x=1&access_token={jwt}&y=2"),
            "ID_TOKEN=opaque".into(),
            "%6Aw%74=opaque".into(),
            "secret=s3cr3t".into(),
            "key=abc".into(),
            format!("whatever=Bearer%20{jwt}"),
            jwt.into(),
        ] {
            let logged = r(&format!("/v1/x?{q}"));
            assert!(
                !logged.contains("opaque") && !logged.contains("s3cr3t"),
                "{logged}"
            );
            assert!(
                !logged.contains("eyJ") && !logged.contains("abc"),
                "{logged}"
            );
            assert!(logged.contains("[redacted]"), "{logged}");
        }
        assert_eq!(r(&format!("/v1/t/{jwt}/x?a=1")), "/v1/t/[redacted]/x?a=1");
        assert_eq!(
            r("/v1/x?x=1&access_token=a"),
            "/v1/x?x=1&access_token=[redacted]"
        );
    }
}
