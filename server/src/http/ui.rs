//! The web console (SPEC §6) at `/ui/`: one HTML page, one ES module and one
//! style sheet, written by hand under `server/ui/` and compiled into the
//! binary, so the console works offline and needs no build step beyond cargo.
//!
//! The page is a client of the REST API like any other: it holds the token
//! the user pasted in `sessionStorage` and sends it as a bearer header, so
//! there is no cookie and no CSRF surface. This module only serves the files,
//! with the headers that keep the page honest:
//! - a strict Content-Security-Policy ([`CSP`]): scripts and styles only from
//!   these files (no inline script or style anywhere), requests only to this
//!   origin, no framing, and Trusted Types enforced, so even a slip into
//!   `innerHTML` in the script fails instead of injecting markup;
//! - `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`;
//! - caching: the script and the style sheet are served under names that
//!   carry a hash of their content (`app.3f9c…js`), so they are `immutable`;
//!   the page that names them is `no-cache`, so a new binary is picked up at
//!   the next load.
//!
//! Routing inside the page is by fragment (`/ui/#/tokens`): the server sees
//! only `/ui/`. `/ui` redirects there; any other path under `/ui/` is a 404
//! page that links back.

use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const INDEX_HTML: &str = include_str!("../../ui/index.html");
const APP_JS: &str = include_str!("../../ui/app.js");
const APP_CSS: &str = include_str!("../../ui/app.css");
const FAVICON_SVG: &str = include_str!("../../ui/favicon.svg");

/// The policy of every `/ui/` response. `require-trusted-types-for` makes
/// the browser refuse any string assigned to an HTML sink (`innerHTML` and
/// kin): the console builds its DOM with `textContent` only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
    require-trusted-types-for 'script'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
const NO_CACHE: &str = "no-cache";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One file of the console as served.
struct Asset {
    /// The name under `/ui/`.
    name: String,
    body: &'static str,
    content_type: &'static str,
    cache: &'static str,
}

/// The console's files, with the page rewritten to name the hashed assets.
struct Console {
    index: String,
    assets: Vec<Asset>,
}

fn console() -> &'static Console {
    static CONSOLE: OnceLock<Console> = OnceLock::new();
    CONSOLE.get_or_init(|| {
        let js = hashed_name("app", "js", APP_JS);
        let css = hashed_name("app", "css", APP_CSS);
        let index = INDEX_HTML
            .replace("/ui/app.js", &format!("/ui/{js}"))
            .replace("/ui/app.css", &format!("/ui/{css}"));
        let asset = |name: String, body, content_type, cache| Asset {
            name,
            body,
            content_type,
            cache,
        };
        Console {
            index,
            assets: vec![
                asset(js, APP_JS, JS, IMMUTABLE),
                asset(css, APP_CSS, CSS, IMMUTABLE),
                asset("favicon.svg".into(), FAVICON_SVG, SVG, NO_CACHE),
            ],
        }
    })
}

/// `stem.<first 16 hex digits of SHA-256(body)>.ext`.
fn hashed_name(stem: &str, ext: &str, body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{stem}.{hex}.{ext}")
}

/// The console's routes; state-free, so any router can merge them.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(index))
        .route("/ui/*path", get(asset))
        .layer(axum::middleware::map_response(secure))
}

async fn index() -> Response {
    page(StatusCode::OK, console().index.clone())
}

async fn asset(Path(path): Path<String>) -> Response {
    if path == "index.html" {
        return index().await;
    }
    match console().assets.iter().find(|a| a.name == path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, a.cache),
            ],
            a.body,
        )
            .into_response(),
        None => page(
            StatusCode::NOT_FOUND,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Not found · Sigil console</title></head><body><main>\
             <h1>Not found</h1><p>There is no such page. The console is at \
             <a href=\"/ui/\">/ui/</a>.</p></main></body></html>"
                .to_string(),
        ),
    }
}

fn page(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HTML),
            (header::CACHE_CONTROL, NO_CACHE),
        ],
        body,
    )
        .into_response()
}

/// The security headers of every `/ui` response (redirect and 404 included).
async fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, NO_CACHE);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = router::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    fn header<'a>(h: &'a axum::http::HeaderMap, name: &str) -> &'a str {
        h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    #[tokio::test]
    async fn the_page_names_hashed_assets_that_are_served_immutable() {
        let (status, h, body) = get("/ui/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&h, "content-type"), HTML);
        assert_eq!(header(&h, "cache-control"), NO_CACHE);
        for (ext, ty) in [("js", JS), ("css", CSS)] {
            let name = &console()
                .assets
                .iter()
                .find(|a| a.name.ends_with(ext))
                .unwrap()
                .name;
            assert!(body.contains(&format!("/ui/{name}")), "{body}");
            let (status, h, _) = get(&format!("/ui/{name}")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(header(&h, "content-type"), ty);
            assert_eq!(header(&h, "cache-control"), IMMUTABLE);
            assert_eq!(header(&h, "content-security-policy"), CSP);
        }
        // The unhashed names are not served: a stale page cannot mix versions.
        assert_eq!(get("/ui/app.js").await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn every_answer_carries_the_security_headers() {
        for path in ["/ui", "/ui/", "/ui/nope", "/ui/favicon.svg"] {
            let (_, h, _) = get(path).await;
            assert_eq!(header(&h, "content-security-policy"), CSP, "{path}");
            assert_eq!(header(&h, "x-content-type-options"), "nosniff");
            assert_eq!(header(&h, "referrer-policy"), "no-referrer");
        }
        let (status, h, _) = get("/ui").await;
        assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(header(&h, "location"), "/ui/");
        let (status, h, body) = get("/ui/x/y").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(header(&h, "content-type"), HTML);
        assert!(body.contains("href=\"/ui/\""));
    }

    #[test]
    fn the_policy_allows_nothing_inline() {
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(CSP.contains(directive), "{directive}");
        }
        assert!(!CSP.contains("unsafe"));
        // Nothing inline in the page: no script body, no style element or
        // attribute, no event-handler attribute.
        let page = INDEX_HTML.to_ascii_lowercase();
        assert!(!page.contains("<style"));
        assert!(!page.contains(" style="));
        let handler = page.split(" on").skip(1).any(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
            !name.is_empty() && rest[name.len()..].trim_start().starts_with('=')
        });
        assert!(!handler, "an event-handler attribute");
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains("<script type=\"module\" src=\"/ui/app.js\"></script>"));
    }

    #[test]
    fn the_script_never_parses_markup_from_strings() {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "localStorage",
            "document.cookie",
        ] {
            assert!(!APP_JS.contains(sink), "app.js uses {sink}");
        }
    }

    /// The console offers an action only on a claim the server checks:
    /// every `can('scope', 'action'` names one of Sigil's scopes and actions
    /// (there is no `webhooks:test`: a test delivery needs `webhooks:update`).
    #[test]
    fn the_script_asks_only_for_rights_the_server_checks() {
        use sigil_proto::claims::{SIGIL_ACTIONS, SIGIL_SCOPES};
        let mut seen = 0;
        for rest in APP_JS.split("can('").skip(1) {
            let mut parts = rest.splitn(3, '\'');
            let scope = parts.next().unwrap_or("");
            let sep = parts.next().unwrap_or("");
            let action = parts
                .next()
                .and_then(|r| r.split('\'').next())
                .unwrap_or("");
            assert_eq!(sep, ", ", "can('{scope}' is not followed by an action");
            assert!(
                SIGIL_SCOPES.contains(&scope),
                "can('{scope}', …): no such scope"
            );
            assert!(
                SIGIL_ACTIONS.contains(&action),
                "can('{scope}', '{action}'): the server checks no such action"
            );
            seen += 1;
        }
        assert!(seen > 10, "only {seen} rights asked for");
    }

    #[test]
    fn first_load_stays_under_200_kb() {
        let total = INDEX_HTML.len() + APP_JS.len() + APP_CSS.len() + FAVICON_SVG.len();
        assert!(total < 200 * 1024, "first load is {total} bytes");
    }
}
