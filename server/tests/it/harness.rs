//! The in-process test context: a state on a real database, the router, the
//! bootstrap owner token, a movable clock; the request helpers the tests share,
//! and [`snapshot!`](crate::snapshot), which compares a JSON answer with a
//! committed snapshot.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sigil_server::clock::Clock;
use sigil_server::domain::keys::MasterKey;
use sigil_server::state::{AppState, Settings};
use sigil_server::store::{Backend, Store};
use tower::ServiceExt;

/// Runs `async fn $name(Ctx)` on both backends, as `$name::sqlite` and `$name::postgres`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::Ctx::new($crate::harness::Db::Sqlite).await).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::Ctx::new($crate::harness::Db::Postgres).await).await
            }
        }
    )*};
}

/// Compares a JSON answer with `tests/it/snapshots/<module>__<name>.snap`.
///
/// Both backends compare with the same file (the name is explicit, not taken
/// from the test function), so an answer that differs between SQLite and
/// PostgreSQL fails. Ids, JWTs and times are redacted by [`snapshot_settings`]
/// (each after checking it is one); more redactions may follow, as in
/// `insta::assert_json_snapshot!`. New snapshots: `INSTA_UPDATE=always`, then
/// read the `.snap` files before committing them.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr $(, { $($sel:expr => $rep:expr),* $(,)? })? $(,)?) => {
        let value = &$value;
        $crate::harness::snapshot_settings().bind(|| {
            insta::assert_json_snapshot!($name, value, { $($($sel => $rep),*)? })
        })
    };
}

/// Keys whose values are fresh UUIDs on every run.
const UUID_KEYS: &[&str] = &[
    "id",
    "owner_id",
    "app_id",
    "created_by",
    "revoked_by",
    "parent_id",
    "actor_id",
    "org_id",
    "token_id",
    "target_id",
    "sub",
    "jti",
];
/// Keys whose values are RFC 3339 times.
const TIME_KEYS: &[&str] = &[
    "created_at",
    "updated_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
];

/// Where snapshots live, and the redactions every snapshot gets.
pub fn snapshot_settings() -> insta::Settings {
    use insta::internals::Content;
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/snapshots"));
    s.set_omit_expression(true);
    for key in UUID_KEYS {
        s.add_dynamic_redaction(&format!(".**.{key}"), |c: Content, _| {
            match c.as_str().map(uuid::Uuid::parse_str) {
                Some(Ok(_)) => Content::from("[uuid]"),
                _ => c,
            }
        });
    }
    for key in TIME_KEYS {
        s.add_dynamic_redaction(&format!(".**.{key}"), |c: Content, _| {
            let rfc3339 = &time::format_description::well_known::Rfc3339;
            match c.as_str().map(|t| time::OffsetDateTime::parse(t, rfc3339)) {
                Some(Ok(_)) => Content::from("[time]"),
                _ => c,
            }
        });
    }
    s.add_dynamic_redaction(".**.hash", |c: Content, _| {
        match c
            .as_str()
            .map(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            Some(true) => Content::from("[sha256]"),
            _ => c,
        }
    });
    s.add_dynamic_redaction(".**.token", |c: Content, _| {
        match c
            .as_str()
            .map(|t| t.starts_with("eyJ") && t.split('.').count() == 3)
        {
            Some(true) => Content::from("[jwt]"),
            _ => c,
        }
    });
    s
}

pub enum Db {
    Sqlite,
    Postgres,
}

pub const T0: i64 = 1_900_000_000;

/// The bootstrap owner's name.
pub const OWNER: &str = "owner@sigil.local";

pub struct Ctx {
    pub app: Router,
    pub state: AppState,
    pub owner: String,
    pub backend: Backend,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Ctx {
    pub async fn new(db: Db) -> Ctx {
        Self::with_settings(
            db,
            Settings {
                auth_failures_per_minute: 1_000_000,
                ..Settings::default()
            },
        )
        .await
    }

    pub async fn with_settings(db: Db, settings: Settings) -> Ctx {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = match db {
            Db::Sqlite => (
                format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
                None,
            ),
            Db::Postgres => {
                let admin = std::env::var("SIGIL_TEST_PG")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
                let name = format!("sigil_it_{}", uuid::Uuid::new_v4().simple());
                sqlx::any::install_default_drivers();
                let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("PostgreSQL reachable at SIGIL_TEST_PG");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await
                    .unwrap();
                let base = admin.rsplit_once('/').unwrap().0.to_string();
                (format!("{base}/{name}"), Some((admin, name)))
            }
        };
        let store = Store::connect(&url).await.unwrap();
        let backend = store.backend;
        let state = AppState::new(store, MasterKey::generate(), Clock::fixed(T0), settings)
            .await
            .unwrap();
        let owner = sigil_server::serve::bootstrap(&state, "default".into(), 86_400)
            .await
            .unwrap()
            .unwrap();
        Ctx {
            app: sigil_server::app(state.clone()),
            state,
            owner: owner.expose().to_string(),
            backend,
            _dir: dir,
            pg,
        }
    }

    /// A second, fresh context on the same backend as this one, with `settings`.
    pub async fn fresh(&self, settings: Settings) -> Ctx {
        let db = match self.backend {
            Backend::Sqlite => Db::Sqlite,
            Backend::Postgres => Db::Postgres,
        };
        Ctx::with_settings(db, settings).await
    }

    pub fn advance(&self, secs: i64) {
        self.state.clock.advance(secs);
    }

    /// A request with an optional bearer token and JSON body, for tests that add headers.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    }

    /// Sends a request; answers the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send(self.request(method, path, token, body)).await
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, v)
    }

    /// A POST of an `application/x-www-form-urlencoded` body (RFC 7009 / 7662 style).
    pub async fn form(&self, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut req = self.request("POST", path, token, None);
        req.headers_mut().insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        *req.body_mut() = Body::from(body.to_string());
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), None).await
    }

    /// The status of a GET.
    pub async fn status(&self, path: &str, token: &str) -> StatusCode {
        self.get(path, token).await.0
    }

    /// An anonymous GET.
    pub async fn public(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, None, None).await
    }

    /// PUT as the owner.
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("PUT", path, Some(&self.owner), Some(body)).await
    }

    /// PATCH as the owner.
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("PATCH", path, Some(&self.owner), Some(body))
            .await
    }

    /// PATCH with `token`.
    pub async fn patch_as(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("PATCH", path, Some(token), Some(body)).await
    }

    /// DELETE as the owner.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call("DELETE", path, Some(&self.owner), None).await
    }

    /// DELETE with `token`, without a body.
    pub async fn delete_as(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("DELETE", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// POST `body` to `/v1/orgs/default/{resource}` as the owner.
    pub async fn create(&self, resource: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/v1/orgs/default/{resource}"), &self.owner, body)
            .await
    }

    /// Creates a bot with `perms` as the owner; answers its JSON.
    pub async fn bot(&self, name: &str, perms: &[&str]) -> Value {
        let (s, v) = self
            .create("bots", json!({"username": name, "permissions": perms}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Creates an app as the owner; answers its JSON.
    pub async fn app(&self, name: &str) -> Value {
        let (s, v) = self.create("apps", json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Issues a token for `owner` as `by`; answers (id, jwt).
    pub async fn issue_as(&self, by: &str, body: Value) -> (String, String) {
        let (s, v) = self.post("/v1/orgs/default/tokens", by, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (
            v["id"].as_str().unwrap().to_string(),
            v["token"].as_str().unwrap().to_string(),
        )
    }

    /// Issues a token as the owner with the request `body`; answers (id, jwt).
    pub async fn issue_with(&self, body: Value) -> (String, String) {
        self.issue_as(&self.owner, body).await
    }

    /// Issues a token for `owner` with the defaults; answers (id, jwt).
    pub async fn issue(&self, owner: &str) -> (String, String) {
        self.issue_with(json!({"owner": owner})).await
    }

    /// A bot with `perms` and a token of its own; answers the token.
    pub async fn bot_token(&self, name: &str, perms: &[&str]) -> String {
        self.bot(name, perms).await;
        self.issue(name).await.1
    }

    /// An app-scoped token of a new bot `name` (holding `*:*:*`) for the existing app `app`.
    pub async fn app_token(&self, name: &str, app: &str) -> String {
        self.bot(name, &["*:*:*"]).await;
        self.issue_with(json!({"owner": name, "app": app})).await.1
    }

    /// Revokes a token by id as the owner.
    pub async fn revoke(&self, id: &str) -> (StatusCode, Value) {
        self.delete(&format!("/v1/orgs/default/tokens/{id}")).await
    }

    /// A new org `name` with a bot `{name}-ci` holding `perms`; answers a token of that bot.
    pub async fn org_token(&self, name: &str, perms: &[&str]) -> String {
        let (s, v) = self
            .post("/v1/orgs", &self.owner, json!({"name": name}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let org = format!("/v1/orgs/{name}");
        let bot = format!("{name}-ci");
        let (s, v) = self
            .post(
                &format!("{org}/bots"),
                &self.owner,
                json!({"username": bot, "permissions": perms}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = self
            .post(&format!("{org}/tokens"), &self.owner, json!({"owner": bot}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// The key ids the JWKS publishes.
    pub async fn jwks_kids(&self) -> Vec<String> {
        let (_, jwks) = self.public("/.well-known/jwks.json").await;
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }

    /// Every text the database holds, for scanning it for secrets.
    pub async fn database_text(&self) -> String {
        let mut out = String::new();
        let mut conn = self.state.store.pool.acquire().await.unwrap();
        for table in [
            "orgs",
            "principals",
            "apps",
            "signing_keys",
            "tokens",
            "revocations",
            "audit",
            "idempotency",
        ] {
            let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            for r in rows {
                use sqlx::Row;
                for i in 0..r.len() {
                    if let Ok(s) = r.try_get::<String, _>(i) {
                        out.push_str(&s);
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Best effort, on a thread: we may be inside the runtime.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) =
                        <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// The number of items of a page.
pub fn count(page: &Value) -> usize {
    page["items"].as_array().map_or(0, Vec::len)
}

/// One string field of every item of a page.
pub fn column(page: &Value, key: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i[key].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The error code of an error body.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

pub fn field(v: &Value) -> &str {
    v["error"]["field"].as_str().unwrap_or("")
}

pub fn msg(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or("")
}

/// The payload of a JWT, decoded without checking anything.
pub fn payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}
