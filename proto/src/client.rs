//! The typed async HTTP client for the REST API, shared by the CLI, the
//! Terraform provider and the tests. It never puts the bearer token in an
//! error or a `Debug` output.

use crate::api::*;
use crate::error::{ErrorBody, ErrorCode};
use crate::secret::SecretString;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

/// What went wrong with a call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body.
    #[error("{message} (HTTP {status}, code {code})")]
    Api {
        status: u16,
        code: ErrorCode,
        message: String,
        field: Option<String>,
    },
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the Sigil server at {endpoint}: {detail}")]
    Transport { endpoint: String, detail: String },
    /// The server answered something this client cannot read.
    #[error("unexpected answer from the Sigil server (HTTP {status}): {detail}")]
    Decode { status: u16, detail: String },
}

impl ClientError {
    /// The API error code, when the server answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Decode { status, .. } => Some(*status),
            ClientError::Transport { .. } => None,
        }
    }

    /// A definite "this object does not exist".
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(&ErrorCode::NotFound)
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A client bound to one endpoint and (optionally) one bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    token: Option<SecretString>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn seg(s: &str) -> String {
    // Names, ids and service names are restricted to URL-safe characters by
    // their parsers; anything else is escaped so a bad value yields a clean 404/400.
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// `endpoint` is the server's base URL, e.g. `http://127.0.0.1:8080`.
    pub fn new(endpoint: &str, token: Option<SecretString>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("sigil-proto/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError::Transport {
                endpoint: endpoint.into(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The same client with another bearer token.
    pub fn with_token(&self, token: Option<SecretString>) -> Self {
        Self {
            http: self.http.clone(),
            endpoint: self.endpoint.clone(),
            token,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.endpoint, path));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t.expose());
        }
        rb
    }

    async fn send<T: DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> Result<T> {
        let resp = rb.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        if (200..300).contains(&status) {
            let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(body).map_err(|e| ClientError::Decode {
                status,
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => Err(ClientError::Api {
                status,
                code: b.error.code,
                message: b.error.message,
                field: b.error.field,
            }),
            Err(_) => Err(ClientError::Decode {
                status,
                detail: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            }),
        }
    }

    fn transport(&self, e: reqwest::Error) -> ClientError {
        // reqwest's message includes the URL, never headers: the token stays out.
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        ClientError::Transport {
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    async fn get_q<T: DeserializeOwned, Q: Serialize>(&self, path: &str, q: &Q) -> Result<T> {
        self.send(self.request(reqwest::Method::GET, path).query(q))
            .await
    }

    async fn post<T: DeserializeOwned, B: Serialize>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.request(reqwest::Method::POST, path).json(body))
            .await
    }

    async fn patch<T: DeserializeOwned, B: Serialize>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.request(reqwest::Method::PATCH, path).json(body))
            .await
    }

    async fn put<T: DeserializeOwned, B: Serialize>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.request(reqwest::Method::PUT, path).json(body))
            .await
    }

    async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    // ---- operations ----

    pub async fn healthz(&self) -> Result<serde_json::Value> {
        self.get("/healthz").await
    }

    pub async fn jwks(&self) -> Result<serde_json::Value> {
        self.get("/.well-known/jwks.json").await
    }

    pub async fn whoami(&self) -> Result<Whoami> {
        self.get("/v1/whoami").await
    }

    // ---- orgs ----

    pub async fn create_org(&self, req: &CreateOrg) -> Result<Org> {
        self.post("/v1/orgs", req).await
    }

    pub async fn list_orgs(&self, q: &ListQuery) -> Result<Page<Org>> {
        self.get_q("/v1/orgs", q).await
    }

    pub async fn get_org(&self, org: &str) -> Result<Org> {
        self.get(&format!("/v1/orgs/{}", seg(org))).await
    }

    // ---- users ----

    pub async fn create_user(&self, org: &str, req: &CreateUser) -> Result<User> {
        self.post(&format!("/v1/orgs/{}/users", seg(org)), req)
            .await
    }

    pub async fn list_users(&self, org: &str, q: &ListQuery) -> Result<Page<User>> {
        self.get_q(&format!("/v1/orgs/{}/users", seg(org)), q).await
    }

    /// Every user of the org, following cursors.
    pub async fn list_all_users(&self, org: &str) -> Result<Vec<User>> {
        all_pages(|q| async move { self.list_users(org, &q).await }).await
    }

    /// `user` is an id or an email.
    pub async fn get_user(&self, org: &str, user: &str) -> Result<User> {
        self.get(&format!("/v1/orgs/{}/users/{}", seg(org), seg(user)))
            .await
    }

    pub async fn update_user(&self, org: &str, user: &str, req: &UpdateUser) -> Result<User> {
        self.patch(&format!("/v1/orgs/{}/users/{}", seg(org), seg(user)), req)
            .await
    }

    pub async fn delete_user(&self, org: &str, user: &str) -> Result<()> {
        self.delete(&format!("/v1/orgs/{}/users/{}", seg(org), seg(user)))
            .await
    }

    // ---- bots ----

    pub async fn create_bot(&self, org: &str, req: &CreateBot) -> Result<Bot> {
        self.post(&format!("/v1/orgs/{}/bots", seg(org)), req).await
    }

    pub async fn list_bots(&self, org: &str, q: &ListQuery) -> Result<Page<Bot>> {
        self.get_q(&format!("/v1/orgs/{}/bots", seg(org)), q).await
    }

    /// Every bot of the org, following cursors.
    pub async fn list_all_bots(&self, org: &str) -> Result<Vec<Bot>> {
        all_pages(|q| async move { self.list_bots(org, &q).await }).await
    }

    /// Every app of the org (an app-scoped token sees its own), following cursors.
    pub async fn list_all_apps(&self, org: &str) -> Result<Vec<App>> {
        all_pages(|q| async move { self.list_apps(org, &q).await }).await
    }

    /// Every org the caller can see, following cursors.
    pub async fn list_all_orgs(&self) -> Result<Vec<Org>> {
        all_pages(|q| async move { self.list_orgs(&q).await }).await
    }

    /// `bot` is an id or a username.
    pub async fn get_bot(&self, org: &str, bot: &str) -> Result<Bot> {
        self.get(&format!("/v1/orgs/{}/bots/{}", seg(org), seg(bot)))
            .await
    }

    pub async fn update_bot(&self, org: &str, bot: &str, req: &UpdateBot) -> Result<Bot> {
        self.patch(&format!("/v1/orgs/{}/bots/{}", seg(org), seg(bot)), req)
            .await
    }

    /// Deletes the bot and revokes all of its tokens.
    pub async fn delete_bot(&self, org: &str, bot: &str) -> Result<()> {
        self.delete(&format!("/v1/orgs/{}/bots/{}", seg(org), seg(bot)))
            .await
    }

    pub async fn put_identity(
        &self,
        org: &str,
        bot: &str,
        service: &str,
        identity: &str,
    ) -> Result<Bot> {
        let body = PutIdentity {
            identity: identity.to_string(),
        };
        self.put(
            &format!(
                "/v1/orgs/{}/bots/{}/identities/{}",
                seg(org),
                seg(bot),
                seg(service)
            ),
            &body,
        )
        .await
    }

    pub async fn delete_identity(&self, org: &str, bot: &str, service: &str) -> Result<Bot> {
        self.delete(&format!(
            "/v1/orgs/{}/bots/{}/identities/{}",
            seg(org),
            seg(bot),
            seg(service)
        ))
        .await
    }

    // ---- apps ----

    pub async fn create_app(&self, org: &str, req: &CreateApp) -> Result<App> {
        self.post(&format!("/v1/orgs/{}/apps", seg(org)), req).await
    }

    pub async fn list_apps(&self, org: &str, q: &ListQuery) -> Result<Page<App>> {
        self.get_q(&format!("/v1/orgs/{}/apps", seg(org)), q).await
    }

    pub async fn get_app(&self, org: &str, app: &str) -> Result<App> {
        self.get(&format!("/v1/orgs/{}/apps/{}", seg(org), seg(app)))
            .await
    }

    pub async fn delete_app(&self, org: &str, app: &str) -> Result<()> {
        self.delete(&format!("/v1/orgs/{}/apps/{}", seg(org), seg(app)))
            .await
    }

    // ---- tokens ----

    /// Issues a token. With `idempotency_key`, a retry of the same request
    /// answers the first result instead of minting a second token.
    pub async fn issue_token(
        &self,
        org: &str,
        req: &IssueToken,
        idempotency_key: Option<&str>,
    ) -> Result<IssuedToken> {
        let mut rb = self
            .request(
                reqwest::Method::POST,
                &format!("/v1/orgs/{}/tokens", seg(org)),
            )
            .json(req);
        if let Some(k) = idempotency_key {
            rb = rb.header("Idempotency-Key", k);
        }
        self.send(rb).await
    }

    pub async fn list_tokens(&self, org: &str, filter: &TokenFilter) -> Result<Page<Token>> {
        self.get_q(&format!("/v1/orgs/{}/tokens", seg(org)), filter)
            .await
    }

    /// Every token matching `filter`, following cursors.
    pub async fn list_all_tokens(&self, org: &str, filter: &TokenFilter) -> Result<Vec<Token>> {
        let mut out = Vec::new();
        let mut f = filter.clone();
        f.limit = Some(f.limit.unwrap_or(200));
        loop {
            let page = self.list_tokens(org, &f).await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => f.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    pub async fn get_token(&self, org: &str, id: Uuid) -> Result<Token> {
        self.get(&format!("/v1/orgs/{}/tokens/{id}", seg(org)))
            .await
    }

    pub async fn update_token(&self, org: &str, id: Uuid, req: &UpdateToken) -> Result<Token> {
        self.patch(&format!("/v1/orgs/{}/tokens/{id}", seg(org)), req)
            .await
    }

    /// Revokes by id; revoking a revoked token succeeds and changes nothing.
    pub async fn revoke_token(&self, org: &str, id: Uuid, reason: Option<&str>) -> Result<Token> {
        let body = RevokeToken {
            reason: reason.map(str::to_string),
        };
        self.send(
            self.request(
                reqwest::Method::DELETE,
                &format!("/v1/orgs/{}/tokens/{id}", seg(org)),
            )
            .json(&body),
        )
        .await
    }

    pub async fn update_org(&self, org: &str, req: &UpdateOrg) -> Result<Org> {
        self.patch(&format!("/v1/orgs/{}", seg(org)), req).await
    }

    pub async fn create_webhook(&self, org: &str, req: &CreateWebhook) -> Result<CreatedWebhook> {
        self.post(&format!("/v1/orgs/{}/webhooks", seg(org)), req)
            .await
    }

    pub async fn list_webhooks(&self, org: &str, q: &ListQuery) -> Result<Page<Webhook>> {
        self.get_q(&format!("/v1/orgs/{}/webhooks", seg(org)), q)
            .await
    }

    pub async fn list_all_webhooks(&self, org: &str) -> Result<Vec<Webhook>> {
        all_pages(|q| async move { self.list_webhooks(org, &q).await }).await
    }

    pub async fn get_webhook(&self, org: &str, id: Uuid) -> Result<Webhook> {
        self.get(&format!("/v1/orgs/{}/webhooks/{id}", seg(org)))
            .await
    }

    pub async fn update_webhook(
        &self,
        org: &str,
        id: Uuid,
        req: &UpdateWebhook,
    ) -> Result<Webhook> {
        self.patch(&format!("/v1/orgs/{}/webhooks/{id}", seg(org)), req)
            .await
    }

    pub async fn delete_webhook(&self, org: &str, id: Uuid) -> Result<()> {
        self.delete(&format!("/v1/orgs/{}/webhooks/{id}", seg(org)))
            .await
    }

    /// Attempts of the webhook's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        org: &str,
        id: Uuid,
        q: &ListQuery,
    ) -> Result<Page<Delivery>> {
        self.get_q(
            &format!("/v1/orgs/{}/webhooks/{id}/deliveries", seg(org)),
            q,
        )
        .await
    }

    /// Sends a `webhook.test` event now; answers the first attempt.
    pub async fn test_webhook(&self, org: &str, id: Uuid) -> Result<Delivery> {
        self.post(
            &format!("/v1/orgs/{}/webhooks/{id}/test", seg(org)),
            &serde_json::json!({}),
        )
        .await
    }

    /// Derives a narrower token from the client's own token (the parent).
    pub async fn attenuate_token(&self, req: &AttenuateToken) -> Result<IssuedToken> {
        self.post("/v1/tokens/attenuate", req).await
    }

    /// Reports leaked strings (no authentication needed); the answer never
    /// says which were tokens.
    pub async fn report_leak(&self, req: &LeakReport) -> Result<LeakReceipt> {
        self.post("/v1/leaks", req).await
    }

    /// RFC 7009 revocation by the token string.
    pub async fn revoke_by_value(&self, token: &SecretString) -> Result<()> {
        let form = [("token", token.expose())];
        self.send(
            self.request(reqwest::Method::POST, "/v1/revoke")
                .form(&form),
        )
        .await
    }

    /// RFC 7662 introspection.
    pub async fn introspect(&self, token: &SecretString) -> Result<Introspection> {
        let form = [("token", token.expose())];
        self.send(
            self.request(reqwest::Method::POST, "/v1/introspect")
                .form(&form),
        )
        .await
    }

    pub async fn revocations(&self, since: i64) -> Result<RevocationFeed> {
        self.get_q("/v1/revocations", &[("since", since)]).await
    }

    /// The whole audit log of the org, oldest first.
    pub async fn list_all_audit(&self, org: &str) -> Result<Vec<AuditEntry>> {
        all_pages(|q| async move { self.audit(org, &q).await }).await
    }

    /// Recomputes the org's audit hash chain on the server; with `q.head`,
    /// also checks that the chain still passes through that earlier head.
    pub async fn verify_audit(&self, org: &str, q: &AuditVerifyQuery) -> Result<AuditVerification> {
        self.get_q(&format!("/v1/orgs/{}/audit/verify", seg(org)), q)
            .await
    }

    pub async fn audit(&self, org: &str, q: &ListQuery) -> Result<Page<AuditEntry>> {
        self.get_q(&format!("/v1/orgs/{}/audit", seg(org)), q).await
    }

    pub async fn rotate_keys(&self) -> Result<SigningKey> {
        self.post("/v1/keys/rotate", &serde_json::json!({})).await
    }
}

/// Follows a list's cursors to the end, 200 items a page.
async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(ListQuery) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut q = ListQuery {
        cursor: None,
        limit: Some(200),
    };
    loop {
        let page = fetch(q.clone()).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return Ok(out),
        }
    }
}
