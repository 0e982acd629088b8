//! Storage: one API over SQLite and PostgreSQL.
//!
//! Both backends go through `sqlx::Any` with portable SQL: `$N` placeholders
//! (SQLite accepts them too), times as BIGINT unix seconds, ids as TEXT, lists
//! as JSON text. Only the migrations differ, one directory per backend. Every
//! function takes a connection, so a handler runs its change and its audit
//! entry in one transaction.
//!
//! SQLite runs with one connection: writes are serialized in-process instead
//! of failing with SQLITE_BUSY, which is the right trade for a single node.

mod apps;
mod audit;
pub mod data_dir;
mod deliveries;
mod events;
mod idempotency;
mod keys;
mod leases;
mod orgs;
mod principals;
mod revocations;
pub mod token_uses;
mod tokens;
mod webhooks;

pub use apps::*;
pub use audit::*;
pub use deliveries::*;
pub use events::*;
pub use idempotency::*;
pub use keys::*;
pub use leases::*;
pub use orgs::*;
pub use principals::*;
pub use revocations::*;
pub use tokens::*;
pub use webhooks::*;

pub(crate) use crate::domain::principal::Kind;
pub(crate) use sigil_proto::ClaimSet;
pub(crate) use sqlx::any::AnyRow;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
pub(crate) use sqlx::{AnyConnection, AnyPool, Row};
pub(crate) use std::collections::BTreeMap;
use std::str::FromStr;
pub use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names (how [`Store::connect`] chooses).
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else {
            None
        }
    }

    /// The backend behind a connection (how a store function that holds only
    /// a connection tells).
    pub fn of(c: &AnyConnection) -> Backend {
        if c.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// What went wrong in the store, sorted once here so that no caller looks
/// at a driver's error: a duplicate (the table whose unique constraint
/// refused the write), the database out of reach, or anything else.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint of `table` refused the write.
    #[error("a unique constraint of table {table} refused the write")]
    Unique { table: &'static str },
    /// The database cannot be reached (pool timed out or closed, I/O).
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else, including a stored value that does not decode.
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

/// The tables with unique constraints, as both backends name them.
const TABLES: [&str; 6] = [
    "orgs",
    "principals",
    "apps",
    "idempotency",
    "revocations",
    "signing_keys",
];

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            sqlx::Error::Protocol(m) if connection_lost(m) => StoreError::Unavailable(e),
            sqlx::Error::Database(db)
                if sqlite_unavailable(&**db)
                    || (db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_none()
                        && db.code().is_some_and(|c| connection_lost_code(&c)))
                    || connection_lost(db.message()) =>
            {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(db) => {
                let unique = db.is_unique_violation()
                    || db
                        .code()
                        .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
                    || db.message().contains("UNIQUE constraint failed");
                if !unique {
                    return StoreError::Other(e);
                }
                // PostgreSQL names the constraint (`apps_org_id_name_key`),
                // SQLite the columns (`UNIQUE constraint failed: apps.org_id, …`).
                let named = db.constraint().unwrap_or_else(|| db.message());
                let table = TABLES
                    .iter()
                    .find(|t| {
                        named.starts_with(&format!("{t}_")) || named.contains(&format!(" {t}."))
                    })
                    .copied()
                    .unwrap_or("unknown");
                StoreError::Unique { table }
            }
            _ => StoreError::Other(e),
        }
    }
}

/// SQLSTATEs of a lost or refused PostgreSQL connection: class 08
/// (connection exception), 57P01–57P03 (admin/crash shutdown, cannot connect
/// now), 53300 (too many connections).
fn connection_lost_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// SQLite out of reach rather than refusing the statement: busy or locked,
/// an I/O error, a full disk, a file it cannot open (primary result codes
/// 5, 6, 10, 13, 14; extended codes carry them in the low byte).
fn sqlite_unavailable(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14))
}

/// A driver message that says the connection is gone.
fn connection_lost(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "connection closed",
        "connection reset",
        "broken pipe",
        "terminating connection",
        "unexpected eof",
        "connection refused",
        "server closed the connection",
    ]
    .iter()
    .any(|s| m.contains(s))
}

#[derive(Clone, Debug)]
pub struct Store {
    pub pool: AnyPool,
    pub backend: Backend,
    pub url_redacted: String,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A URL with its password hidden, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Connects and runs the embedded migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let Some(backend) = Backend::from_url(url) else {
            anyhow::bail!(
                "unsupported database URL {}: expected sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(url)
            );
        };
        let opts = AnyConnectOptions::from_str(url)?;
        check_reachable_and_sound(&opts, backend).await?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::query("PRAGMA journal_mode = WAL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA foreign_keys = ON")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA busy_timeout = 5000")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA synchronous = FULL")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(std::time::Duration::from_secs(5))
                    .connect_with(opts)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        audit::chain_unchained(&pool, backend).await?;
        Ok(Self {
            pool,
            backend,
            url_redacted: redact_url(url),
        })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// One connection before the pool, so that start-up fails at once with the
/// cause — a refused or unreachable server, bad credentials, a damaged SQLite
/// file — instead of a pool retrying until "pool timed out".
async fn check_reachable_and_sound(
    opts: &AnyConnectOptions,
    backend: Backend,
) -> anyhow::Result<()> {
    use sqlx::{ConnectOptions, Connection};
    let mut c = tokio::time::timeout(std::time::Duration::from_secs(10), opts.connect())
        .await
        .map_err(|_| anyhow::anyhow!("the database did not answer within 10s"))?
        .map_err(|e| anyhow::anyhow!("cannot connect: {e}"))?;
    if backend == Backend::Sqlite {
        let verdict: Result<String, sqlx::Error> = async {
            let row = sqlx::query("PRAGMA quick_check(1)")
                .fetch_one(&mut c)
                .await?;
            row.try_get::<String, _>(0)
        }
        .await;
        match verdict {
            Ok(v) if v == "ok" => {}
            Ok(v) => anyhow::bail!("the database is damaged (integrity check: {v})"),
            Err(e) => anyhow::bail!("the database is damaged or not a SQLite database: {e}"),
        }
    }
    let _ = c.close().await;
    Ok(())
}

/// A bound value of a dynamic query.
pub enum Arg {
    Text(String),
    Int(i64),
}

/// `text` with `args` bound to its `$1…$N`, in order.
pub(crate) fn bound<'q>(
    text: &'q str,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    args.iter().fold(sqlx::query(text), |q, a| match a {
        Arg::Text(t) => q.bind(t.as_str()),
        Arg::Int(n) => q.bind(*n),
    })
}

/// Builds dynamic queries with `$N` placeholders (sqlx's QueryBuilder writes
/// `?` under `Any`, which PostgreSQL refuses), keeping the values beside them.
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    /// Appends `text` with `$?` replaced by the placeholder of `arg`.
    pub fn push(mut self, text: &str, arg: Arg) -> Self {
        self.args.push(arg);
        self.text
            .push_str(&text.replace("$?", &format!("${}", self.args.len())));
        self
    }

    /// Appends `text`, which binds nothing.
    pub fn raw(mut self, text: &str) -> Self {
        self.text.push_str(text);
        self
    }

    /// `AND col = value` when there is a value.
    pub fn and_eq(self, col: &'static str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.push(&format!(" AND {col} = $?"), Arg::Text(v.to_string())),
            None => self,
        }
    }

    /// `AND col = id` when there is an id.
    pub fn and_id(self, col: &'static str, id: Option<Uuid>) -> Self {
        match id {
            Some(v) => self.push(&format!(" AND {col} = $?"), Arg::Text(v.to_string())),
            None => self,
        }
    }

    /// Keyset pagination: rows after the cursor `after`, in `col` order.
    pub fn page(self, col: &'static str, after: Option<&str>, limit: i64) -> Self {
        let q = match after {
            Some(a) => self.push(&format!(" AND {col} > $?"), Arg::Text(a.to_string())),
            None => self,
        };
        q.raw(&format!(" ORDER BY {col}"))
            .push(" LIMIT $?", Arg::Int(limit))
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        bound(&self.text, &self.args)
    }

    pub async fn fetch_all<T>(
        self,
        c: &mut AnyConnection,
        map: fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, StoreError> {
        Ok(self
            .query()
            .fetch_all(c)
            .await?
            .iter()
            .map(map)
            .collect::<Result<_, _>>()?)
    }

    pub async fn fetch_optional<T>(
        self,
        c: &mut AnyConnection,
        map: fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self
            .query()
            .fetch_optional(c)
            .await?
            .as_ref()
            .map(map)
            .transpose()?)
    }
}

/// The column that a route segment names: `id` for a UUID, else `name`.
pub(crate) fn id_or_name(r: &str) -> &'static str {
    if uuid::Uuid::parse_str(r).is_ok() {
        "id"
    } else {
        "name"
    }
}

// ---------- decoding and encoding shared by the tables ----------

pub(crate) fn claims(row: &AnyRow, col: &str) -> Result<ClaimSet, sqlx::Error> {
    let text: String = row.try_get(col)?;
    let list: Vec<String> =
        serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    ClaimSet::parse(&list).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// An id column: a UUID, or a decoding error naming the column — a corrupt
/// id is never read as some other (or the nil) id.
pub(crate) fn id(row: &AnyRow, col: &str) -> Result<Uuid, sqlx::Error> {
    let text: String = row.try_get(col)?;
    Uuid::parse_str(&text)
        .map_err(|_| sqlx::Error::Decode(format!("{col}: corrupt id {text:?}").into()))
}

/// A nullable id column.
pub(crate) fn opt_id(row: &AnyRow, col: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let text: Option<String> = row.try_get(col)?;
    text.map(|t| {
        Uuid::parse_str(&t)
            .map_err(|_| sqlx::Error::Decode(format!("{col}: corrupt id {t:?}").into()))
    })
    .transpose()
}

pub(crate) fn kind(row: &AnyRow, col: &str) -> Result<Kind, sqlx::Error> {
    let text: String = row.try_get(col)?;
    Kind::parse(&text).ok_or_else(|| {
        sqlx::Error::Decode(format!("{col}: unknown principal kind {text:?}").into())
    })
}

pub(crate) fn json_claims(c: &sigil_proto::ClaimSet) -> String {
    serde_json::to_string(&c.to_strings()).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_is_unavailable() {
        for code in ["57P01", "57P02", "57P03", "08006", "08003", "53300"] {
            assert!(connection_lost_code(code), "{code}");
        }
        assert!(!connection_lost_code("23505"));
        for m in [
            "terminating connection due to administrator command",
            "Broken pipe (os error 32)",
            "Connection reset by peer",
            "connection closed",
        ] {
            assert!(connection_lost(m), "{m}");
        }
        let e = StoreError::from(sqlx::Error::Protocol("connection closed".into()));
        assert!(matches!(e, StoreError::Unavailable(_)));
        let e = StoreError::from(sqlx::Error::WorkerCrashed);
        assert!(matches!(e, StoreError::Unavailable(_)));
    }

    /// Through `Any`, a locked SQLite database is out of reach (503), a
    /// broken constraint is not.
    #[tokio::test]
    async fn sqlite_busy_is_unavailable() {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let mut a = AnyConnection::connect(&url).await.unwrap();
        let mut b = AnyConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .execute(&mut a)
            .await
            .unwrap();
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut b)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut a)
            .await
            .unwrap();
        let e = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut b)
            .await
            .unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Unavailable(_)));
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut a)
            .await
            .unwrap();
        let e = sqlx::query("CHECK").execute(&mut a).await.unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Other(_)));
    }
}
