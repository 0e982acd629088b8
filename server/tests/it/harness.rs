//! The in-process test context: a state on a real database, the router, the
//! bootstrap owner token, a movable clock.

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

pub enum Db {
    Sqlite,
    Postgres,
}

pub const T0: i64 = 1_900_000_000;

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

    pub fn advance(&self, secs: i64) {
        self.state.clock.advance(secs);
    }

    /// Sends a request; answers the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.send(req).await
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

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), None).await
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

    /// DELETE as the owner.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call("DELETE", path, Some(&self.owner), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// Creates a bot with `perms` as the owner; answers its JSON.
    pub async fn bot(&self, name: &str, perms: &[&str]) -> Value {
        let (s, v) = self
            .post(
                "/v1/orgs/default/bots",
                &self.owner,
                json!({"username": name, "permissions": perms}),
            )
            .await;
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

    pub async fn issue(&self, owner: &str) -> (String, String) {
        self.issue_as(&self.owner.clone(), json!({"owner": owner}))
            .await
    }

    /// A bot with `perms` and a token of its own; answers the token.
    pub async fn bot_token(&self, name: &str, perms: &[&str]) -> String {
        self.bot(name, perms).await;
        self.issue(name).await.1
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
