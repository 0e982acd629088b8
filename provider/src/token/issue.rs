//! Issuing a `sigil_token` (its create), with retries that never mint twice.
//!
//! The issue request carries one `Idempotency-Key` per create, sent with every
//! attempt: the server answers a repeated key with the token the first request
//! minted. Only failures that leave the outcome open are retried (transport
//! errors, 5xx); when every attempt fails that way, the error says a token may
//! exist all the same, and where to look for it.

use sigil_proto::api::{IssueToken, IssuedToken};
use sigil_proto::client::{Client, ClientError};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use super::{Token, TokenState};
use crate::common::{api_error, known_set, Api};
use crate::resource::Object;

/// How many times `create` sends the issue request (same Idempotency-Key).
pub const ISSUE_ATTEMPTS: u32 = 3;

/// Whether a failed issue request may have been lost on the way (transport)
/// or failed on the server's side (5xx): worth a retry with the same key, and,
/// when the retries fail too, maybe minted all the same.
pub fn retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Transport { .. } => true,
        _ => e.status().is_some_and(|s| s >= 500),
    }
}

/// Sends the issue request up to `ISSUE_ATTEMPTS` times with the same
/// Idempotency-Key, so a retry never mints a second token: the server answers
/// a repeated key with the token the first request minted.
pub async fn issue_with_retries(
    client: &Client,
    org: &str,
    req: &IssueToken,
    key: &str,
    backoff: std::time::Duration,
) -> Result<IssuedToken, ClientError> {
    let mut attempt = 1;
    loop {
        match client.issue_token(org, req, Some(key)).await {
            Err(e) if retryable(&e) && attempt < ISSUE_ATTEMPTS => {
                tokio::time::sleep(backoff * attempt).await;
                attempt += 1;
            }
            r => return r,
        }
    }
}

/// The issue request a plan stands for.
fn request(diags: &mut Diagnostics, planned: &TokenState) -> Option<IssueToken> {
    let Value::Value(owner) = planned.bot_id.clone() else {
        diags.error_short("bot_id is not known", AttributePath::new("bot_id"));
        return None;
    };
    Some(IssueToken {
        owner,
        label: planned
            .label
            .as_ref_option()
            .filter(|l| !l.is_empty())
            .cloned(),
        expiry: planned.expiry.as_ref_option().cloned(),
        expires_at: planned.expires_at.as_ref_option().cloned(),
        app: planned.app_id.as_ref_option().cloned(),
        claims: match &planned.claims {
            Value::Value(_) => known_set(&planned.claims),
            _ => None,
        },
        allowed_cidrs: match &planned.allowed_cidrs {
            Value::Value(_) => known_set(&planned.allowed_cidrs),
            _ => None,
        },
        max_uses: planned.max_uses.as_ref_option().copied(),
    })
}

/// Issues the planned token in `org`; failures are reported, including the
/// ones after which a token may exist all the same.
pub async fn issue(
    diags: &mut Diagnostics,
    api: &Api,
    org: &str,
    planned: &TokenState,
) -> Option<IssuedToken> {
    let req = request(diags, planned)?;
    // One key per create, sent with every retry: a retried request never
    // mints a second token.
    let key = uuid::Uuid::new_v4().to_string();
    let backoff = std::time::Duration::from_millis(500);
    let e = match issue_with_retries(&api.client, org, &req, &key, backoff).await {
        Ok(issued) => return Some(issued),
        Err(e) => e,
    };
    api_error(diags, "Cannot issue the token", &e, &Token::field_attr);
    if retryable(&e) {
        diags.root_error(
            "A token may have been issued all the same",
            format!(
                "The issue request failed {ISSUE_ATTEMPTS} times in a way that does not tell \
                 whether the server minted a token (Idempotency-Key {key}). Look for it among \
                 the active tokens of bot {} in org {org:?}{}, e.g. `sigil tokens list --org \
                 {org} -u {}` or the `sigil_tokens` data source, and revoke it (or import it) \
                 before applying again.",
                req.owner,
                match &req.label {
                    Some(l) => format!(" with label {l:?}"),
                    None => String::new(),
                },
                req.owner,
            ),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-connection-at-a-time HTTP server answering `answers` in turn and
    /// recording each request's Idempotency-Key.
    async fn fake_server(answers: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let keys = Arc::new(Mutex::new(Vec::new()));
        let seen = keys.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body by Content-Length.
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse::<usize>().unwrap())
                            .unwrap_or(0);
                        let key = head
                            .lines()
                            .find_map(|l| l.strip_prefix("idempotency-key:"))
                            .map(|v| v.trim().to_string())
                            .unwrap_or_default();
                        seen.lock().unwrap().push(key);
                        break (i + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                sock.shutdown().await.unwrap();
            }
        });
        (format!("http://{addr}"), keys)
    }

    fn issued_body() -> String {
        let token = serde_json::json!({ "token": "header.payload.signature" });
        super::super::fixtures::remote_token(token).to_string()
    }

    fn unavailable() -> (u16, String) {
        (
            503,
            r#"{"error":{"code":"unavailable","message":"try again"}}"#.to_string(),
        )
    }

    async fn issue(endpoint: &str) -> Result<IssuedToken, ClientError> {
        let client = Client::new(endpoint, None).unwrap();
        let req = IssueToken {
            owner: "ci".into(),
            ..Default::default()
        };
        let backoff = std::time::Duration::from_millis(1);
        issue_with_retries(&client, "default", &req, "key-1", backoff).await
    }

    #[tokio::test]
    async fn issue_retries_5xx_with_the_same_idempotency_key() {
        let (endpoint, keys) =
            fake_server(vec![unavailable(), unavailable(), (201, issued_body())]).await;
        let issued = issue(&endpoint).await.unwrap();
        assert_eq!(issued.metadata.owner, "ci");
        assert_eq!(*keys.lock().unwrap(), vec!["key-1"; 3]);
    }

    #[tokio::test]
    async fn issue_gives_up_after_three_attempts_and_never_retries_a_4xx() {
        let (endpoint, keys) = fake_server(vec![unavailable(), unavailable(), unavailable()]).await;
        let e = issue(&endpoint).await.unwrap_err();
        assert!(retryable(&e), "{e}");
        assert_eq!(keys.lock().unwrap().len(), 3);

        let bad = (
            422,
            r#"{"error":{"code":"claims_exceed_owner","message":"no"}}"#.to_string(),
        );
        let (endpoint, keys) = fake_server(vec![bad]).await;
        let e = issue(&endpoint).await.unwrap_err();
        assert!(!retryable(&e));
        assert_eq!(keys.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn issue_retries_a_broken_connection() {
        // Nothing listens on the port at first: a transport error, retried.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = issue(&format!("http://{addr}")).await.unwrap_err();
        assert!(matches!(e, ClientError::Transport { .. }), "{e}");
        assert!(retryable(&e));
    }

    #[test]
    fn the_request_is_the_plan() {
        let mut planned = super::super::fixtures::token_state();
        planned.label = Value::Value(String::new());
        planned.expires_at = Value::Unknown;
        planned.claims = Value::Unknown;
        let mut diags = Diagnostics::default();
        let req = request(&mut diags, &planned).unwrap();
        assert_eq!(req.owner, "0190f0f0-0000-7000-8000-000000000002");
        assert_eq!((req.label, req.expires_at, req.claims), (None, None, None));
        planned.bot_id = Value::Unknown;
        assert!(request(&mut diags, &planned).is_none());
    }
}
