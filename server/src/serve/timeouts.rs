//! The REST middleware that bounds a request in time: its body within
//! `--body-timeout`, the whole request within `--request-timeout` (see
//! [`crate::config::Timeouts`]). Under `serve` (not `http`) because it wraps
//! the served router, not the one tests drive with `oneshot`.

use crate::config::Timeouts;

/// Bodies larger than this are not read (413; the routes refuse 2 MB and up anyway).
const MAX_BODY: usize = 4 << 20;

/// Reads the body within `body` (a client that stalls gets a 400 naming
/// `body`, and its connection is closed), then runs the request within
/// `request` (past it: 503 `unavailable`, retry). Both answers are in the
/// API's error shape; a request dropped on time-out rolls its transaction back.
pub async fn bound_request(
    axum::extract::State(t): axum::extract::State<Timeouts>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use crate::error::ApiError;
    use axum::response::IntoResponse;
    use sigil_proto::ErrorCode;
    let start = tokio::time::Instant::now();
    let (parts, body) = req.into_parts();
    tracing::trace!(path = parts.uri.path(), "reading the request body");
    let bytes = match tokio::time::timeout(t.body, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(b)) => b,
        // Over the limit: the 413 the routes answer; else the body broke off.
        Ok(Err(e)) if e.to_string().contains("length limit") => {
            return crate::http::too_large().into_response()
        }
        Ok(Err(e)) => {
            return ApiError::invalid("body", format!("cannot read the body: {e}")).into_response()
        }
        Err(_) => {
            let mut r = ApiError::invalid(
                "body",
                format!("the request body did not arrive within {:?}", t.body),
            )
            .into_response();
            r.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return r;
        }
    };
    let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let left = t.request.saturating_sub(start.elapsed());
    match tokio::time::timeout(left, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!("a request took longer than {:?}; answered 503", t.request);
            ApiError::new(
                ErrorCode::Unavailable,
                format!("the request did not complete within {:?}; retry", t.request),
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn app(t: Timeouts) -> axum::Router {
        axum::Router::new()
            .route(
                "/slow",
                axum::routing::post(|body: String| async move {
                    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                    body
                }),
            )
            .route(
                "/echo",
                axum::routing::post(|body: String| async move { body }),
            )
            .layer(axum::middleware::from_fn_with_state(t, bound_request))
    }

    const T: Timeouts = Timeouts {
        request: std::time::Duration::from_millis(300),
        body: std::time::Duration::from_millis(100),
        shutdown: std::time::Duration::from_millis(100),
    };

    async fn answer(r: axum::response::Response) -> (StatusCode, serde_json::Value) {
        let s = r.status();
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (
            s,
            serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn a_stalled_body_is_400_naming_body() {
        let never = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
        let req = Request::post("/echo")
            .body(Body::from_stream(never))
            .unwrap();
        let r = app(T).oneshot(req).await.unwrap();
        assert_eq!(r.headers()["connection"], "close");
        let (s, v) = answer(r).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["error"]["field"], "body");
    }

    #[tokio::test]
    async fn a_body_over_the_bound_is_413() {
        let req = Request::post("/echo")
            .body(Body::from(vec![b'x'; MAX_BODY + 1]))
            .unwrap();
        let (s, v) = answer(app(T).oneshot(req).await.unwrap()).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
        assert_eq!(v["error"]["field"], "body");
    }

    #[tokio::test]
    async fn a_slow_request_is_503_unavailable() {
        let req = Request::post("/slow").body(Body::from("x")).unwrap();
        let (s, v) = answer(app(T).oneshot(req).await.unwrap()).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(v["error"]["code"], "unavailable");
    }

    #[tokio::test]
    async fn a_prompt_request_passes_its_body_through() {
        let req = Request::post("/echo").body(Body::from("hello")).unwrap();
        let r = app(T).oneshot(req).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&b[..], b"hello");
    }
}
