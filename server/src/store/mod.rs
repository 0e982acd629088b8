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

mod rows;

pub use rows::*;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Row};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
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
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!(
                "unsupported database URL {}: expected sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(url)
            );
        };
        let opts = AnyConnectOptions::from_str(url)?;
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
        Ok(Self {
            pool,
            backend,
            url_redacted: redact_url(url),
        })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// A bound value of a dynamic query.
pub enum Arg {
    Text(String),
    Int(i64),
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
    pub fn and_eq(self, col: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.push(&format!(" AND {col} = $?"), Arg::Text(v.to_string())),
            None => self,
        }
    }

    /// Keyset pagination: rows after the cursor `after`, in `col` order.
    pub fn page(self, col: &str, after: Option<&str>, limit: i64) -> Self {
        let q = match after {
            Some(a) => self.push(&format!(" AND {col} > $?"), Arg::Text(a.to_string())),
            None => self,
        };
        q.raw(&format!(" ORDER BY {col} LIMIT {limit}"))
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Text(t) => q.bind(t.as_str()),
                Arg::Int(n) => q.bind(*n),
            };
        }
        q
    }

    pub async fn fetch_all<T>(
        self,
        c: &mut AnyConnection,
        map: fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, sqlx::Error> {
        self.query().fetch_all(c).await?.iter().map(map).collect()
    }

    pub async fn fetch_optional<T>(
        self,
        c: &mut AnyConnection,
        map: fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
    ) -> Result<Option<T>, sqlx::Error> {
        self.query()
            .fetch_optional(c)
            .await?
            .as_ref()
            .map(map)
            .transpose()
    }
}

/// The column that a route segment names: `id` for a UUID, else `name`.
fn id_or_name(r: &str) -> &'static str {
    if uuid::Uuid::parse_str(r).is_ok() {
        "id"
    } else {
        "name"
    }
}

// ---------- orgs ----------

pub async fn insert_org(c: &mut AnyConnection, o: &OrgRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO orgs (id, name, max_token_lifetime, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&o.id)
    .bind(&o.name)
    .bind(o.max_token_lifetime)
    .bind(o.created_at)
    .execute(c)
    .await
    .map(|_| ())
}

const ORG_COLS: &str = "id, name, max_token_lifetime, created_at";

pub async fn find_org(c: &mut AnyConnection, r: &str) -> Result<Option<OrgRow>, sqlx::Error> {
    Sql::new(&format!("SELECT {ORG_COLS} FROM orgs WHERE 1=1"))
        .and_eq(id_or_name(r), Some(r))
        .fetch_optional(c, OrgRow::from_row)
        .await
}

pub async fn list_orgs(
    c: &mut AnyConnection,
    only: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<OrgRow>, sqlx::Error> {
    Sql::new(&format!("SELECT {ORG_COLS} FROM orgs WHERE 1=1"))
        .and_eq("id", only)
        .page("id", after, limit)
        .fetch_all(c, OrgRow::from_row)
        .await
}

pub async fn count_orgs(c: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM orgs")
        .fetch_one(c)
        .await?
        .try_get("n")
}

// ---------- principals (users and bots) ----------

const PRINCIPAL_COLS: &str =
    "id, org_id, kind, name, description, permissions, identities, created_at, updated_at";

pub async fn insert_principal(c: &mut AnyConnection, p: &PrincipalRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO principals (id, org_id, kind, name, description, permissions, identities, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&p.id)
    .bind(&p.org_id)
    .bind(&p.kind)
    .bind(&p.name)
    .bind(&p.description)
    .bind(json_claims(&p.permissions))
    .bind(serde_json::to_string(&p.identities).unwrap_or_else(|_| "{}".into()))
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(c)
    .await
    .map(|_| ())
}

pub async fn update_principal(c: &mut AnyConnection, p: &PrincipalRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE principals SET name = $1, description = $2, permissions = $3, identities = $4, updated_at = $5 \
         WHERE id = $6",
    )
    .bind(&p.name)
    .bind(&p.description)
    .bind(json_claims(&p.permissions))
    .bind(serde_json::to_string(&p.identities).unwrap_or_else(|_| "{}".into()))
    .bind(p.updated_at)
    .bind(&p.id)
    .execute(c)
    .await
    .map(|_| ())
}

/// A principal by id (any org, any kind): used by authentication.
pub async fn get_principal(
    c: &mut AnyConnection,
    id: &str,
) -> Result<Option<PrincipalRow>, sqlx::Error> {
    Sql::new(&format!(
        "SELECT {PRINCIPAL_COLS} FROM principals WHERE 1=1"
    ))
    .and_eq("id", Some(id))
    .fetch_optional(c, PrincipalRow::from_row)
    .await
}

/// A principal of `kind` in `org_id`, by id or name.
pub async fn find_principal(
    c: &mut AnyConnection,
    org_id: &str,
    kind: Option<&str>,
    r: &str,
) -> Result<Option<PrincipalRow>, sqlx::Error> {
    Sql::new(&format!(
        "SELECT {PRINCIPAL_COLS} FROM principals WHERE 1=1"
    ))
    .and_eq("org_id", Some(org_id))
    .and_eq(id_or_name(r), Some(r))
    .and_eq("kind", kind)
    .fetch_optional(c, PrincipalRow::from_row)
    .await
}

pub async fn list_principals(
    c: &mut AnyConnection,
    org_id: &str,
    kind: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PrincipalRow>, sqlx::Error> {
    Sql::new(&format!(
        "SELECT {PRINCIPAL_COLS} FROM principals WHERE 1=1"
    ))
    .and_eq("org_id", Some(org_id))
    .and_eq("kind", Some(kind))
    .page("id", after, limit)
    .fetch_all(c, PrincipalRow::from_row)
    .await
}

pub async fn delete_principal(c: &mut AnyConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM principals WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|_| ())
}

/// Live tokens (not revoked, not expired) per owner, for `bots list`.
pub async fn count_live_tokens(
    c: &mut AnyConnection,
    owner_id: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM tokens WHERE owner_id = $1 AND revoked_at IS NULL AND expires_at > $2")
        .bind(owner_id)
        .bind(now)
        .fetch_one(c)
        .await?
        .try_get("n")
}

/// Live tokens per owner in an org, for `bots list`.
pub async fn live_token_counts(
    c: &mut AnyConnection,
    org_id: &str,
    now: i64,
) -> Result<std::collections::HashMap<String, i64>, sqlx::Error> {
    sqlx::query(
        "SELECT owner_id, COUNT(*) AS n FROM tokens WHERE org_id = $1 AND revoked_at IS NULL \
         AND expires_at > $2 GROUP BY owner_id",
    )
    .bind(org_id)
    .bind(now)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("owner_id")?, r.try_get("n")?)))
    .collect()
}

// ---------- apps ----------

const APP_COLS: &str = "id, org_id, name, created_at";

pub async fn insert_app(c: &mut AnyConnection, a: &AppRow) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO apps (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&a.id)
        .bind(&a.org_id)
        .bind(&a.name)
        .bind(a.created_at)
        .execute(c)
        .await
        .map(|_| ())
}

pub async fn find_app(
    c: &mut AnyConnection,
    org_id: &str,
    r: &str,
) -> Result<Option<AppRow>, sqlx::Error> {
    Sql::new(&format!("SELECT {APP_COLS} FROM apps WHERE 1=1"))
        .and_eq("org_id", Some(org_id))
        .and_eq(id_or_name(r), Some(r))
        .fetch_optional(c, AppRow::from_row)
        .await
}

pub async fn list_apps(
    c: &mut AnyConnection,
    org_id: &str,
    only: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AppRow>, sqlx::Error> {
    Sql::new(&format!("SELECT {APP_COLS} FROM apps WHERE 1=1"))
        .and_eq("org_id", Some(org_id))
        .and_eq("id", only)
        .page("id", after, limit)
        .fetch_all(c, AppRow::from_row)
        .await
}

pub async fn delete_app(c: &mut AnyConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM apps WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|_| ())
}

// ---------- signing keys ----------

pub async fn insert_key(c: &mut AnyConnection, k: &KeyRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, public_key, private_key_enc, created_at, max_token_exp, seq) \
         VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM signing_keys))",
    )
    .bind(&k.kid)
    .bind(&k.public_key)
    .bind(&k.private_key_enc)
    .bind(k.created_at)
    .bind(k.max_token_exp)
    .execute(c)
    .await
    .map(|_| ())
}

/// All keys, newest first.
pub async fn all_keys(c: &mut AnyConnection) -> Result<Vec<KeyRow>, sqlx::Error> {
    sqlx::query("SELECT kid, public_key, private_key_enc, created_at, max_token_exp FROM signing_keys ORDER BY seq DESC, created_at DESC")
        .fetch_all(c)
        .await?
        .iter()
        .map(KeyRow::from_row)
        .collect()
}

pub async fn bump_key_exp(c: &mut AnyConnection, kid: &str, exp: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE signing_keys SET max_token_exp = $1 WHERE kid = $2 AND max_token_exp < $1")
        .bind(exp)
        .bind(kid)
        .execute(c)
        .await
        .map(|_| ())
}

// ---------- tokens ----------

const TOKEN_COLS: &str = "t.id, t.org_id, t.owner_id, t.owner_kind, t.owner_name, t.app_id, t.label, t.claims, t.kid, \
     t.created_at, t.created_by, t.created_by_name, t.expires_at, t.last_used_at, t.revoked_at, t.revoked_by, \
     t.revoke_reason, a.name AS app_name, o.name AS org_name";
const TOKEN_FROM: &str =
    "FROM tokens t JOIN orgs o ON o.id = t.org_id LEFT JOIN apps a ON a.id = t.app_id";

pub async fn insert_token(c: &mut AnyConnection, t: &TokenRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tokens (id, org_id, owner_id, owner_kind, owner_name, app_id, label, claims, kid, created_at, \
         created_by, created_by_name, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&t.id)
    .bind(&t.org_id)
    .bind(&t.owner_id)
    .bind(&t.owner_kind)
    .bind(&t.owner_name)
    .bind(t.app_id.clone())
    .bind(t.label.clone())
    .bind(json_claims(&t.claims))
    .bind(&t.kid)
    .bind(t.created_at)
    .bind(&t.created_by)
    .bind(&t.created_by_name)
    .bind(t.expires_at)
    .execute(c)
    .await
    .map(|_| ())
}

/// A token by id, in any org (authentication), or in `org_id` when given.
pub async fn get_token(
    c: &mut AnyConnection,
    org_id: Option<&str>,
    id: &str,
) -> Result<Option<TokenRow>, sqlx::Error> {
    Sql::new(&format!("SELECT {TOKEN_COLS} {TOKEN_FROM} WHERE 1=1"))
        .and_eq("t.id", Some(id))
        .and_eq("t.org_id", org_id)
        .fetch_optional(c, TokenRow::from_row)
        .await
}

#[derive(Debug, Default, Clone)]
pub struct TokenQuery {
    pub org_id: String,
    pub owner_id: Option<String>,
    pub app_id: Option<String>,
    /// Some(true): app-scoped only; Some(false): org-scoped only.
    pub app_scoped: Option<bool>,
    pub include_revoked: bool,
    pub now: i64,
    pub after: Option<String>,
    pub limit: i64,
}

pub async fn list_tokens(
    c: &mut AnyConnection,
    f: &TokenQuery,
) -> Result<Vec<TokenRow>, sqlx::Error> {
    let mut q = Sql::new(&format!("SELECT {TOKEN_COLS} {TOKEN_FROM} WHERE 1=1"))
        .and_eq("t.org_id", Some(&f.org_id))
        .and_eq("t.owner_id", f.owner_id.as_deref())
        .and_eq("t.app_id", f.app_id.as_deref());
    q = match f.app_scoped {
        Some(true) => q.raw(" AND t.app_id IS NOT NULL"),
        Some(false) => q.raw(" AND t.app_id IS NULL"),
        None => q,
    };
    if !f.include_revoked {
        q = q.push(
            " AND t.revoked_at IS NULL AND t.expires_at > $?",
            Arg::Int(f.now),
        );
    }
    q.page("t.id", f.after.as_deref(), f.limit)
        .fetch_all(c, TokenRow::from_row)
        .await
}

pub async fn update_token(
    c: &mut AnyConnection,
    id: &str,
    label: Option<&str>,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tokens SET label = $1, expires_at = $2 WHERE id = $3")
        .bind(label.map(str::to_string))
        .bind(expires_at)
        .bind(id)
        .execute(c)
        .await
        .map(|_| ())
}

/// Records use at most once a minute per token, so reads don't all turn into writes.
pub async fn touch_token(c: &mut AnyConnection, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(now)
        .bind(id)
        .bind(now - 60)
        .execute(c)
        .await
        .map(|_| ())
}

/// Revokes one token. Returns false when it was already revoked (nothing changes).
pub async fn revoke_token(
    c: &mut AnyConnection,
    id: &str,
    org_id: &str,
    by: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    if c.backend_name() == "PostgreSQL" {
        // Revoking transactions take turns (readers are not blocked), so
        // `revocations.seq` values commit in increasing order: a watcher that
        // has seen seq N can never later find a smaller one committing, and
        // "everything after my cursor" is exact. Taken before the UPDATE so two
        // revokers never hold a token row while waiting for each other.
        sqlx::query("LOCK TABLE revocations IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *c)
            .await?;
        // Delivered to other replicas when (and only if) this transaction commits.
        sqlx::query("NOTIFY sigil_revocations")
            .execute(&mut *c)
            .await?;
    }
    let n = sqlx::query(
        "UPDATE tokens SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(by)
    .bind(reason.map(str::to_string))
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO revocations (token_id, org_id, revoked_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(org_id)
        .bind(now)
        .execute(c)
        .await?;
    Ok(true)
}

/// Revokes every unrevoked token whose `column` (`owner_id` or `app_id`) is
/// `value`; returns their ids.
pub async fn revoke_tokens_of(
    c: &mut AnyConnection,
    column: &'static str,
    value: &str,
    org_id: &str,
    by: &str,
    reason: &str,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    debug_assert!(column == "owner_id" || column == "app_id");
    let ids: Vec<String> = sqlx::query(&format!(
        "SELECT id FROM tokens WHERE {column} = $1 AND revoked_at IS NULL"
    ))
    .bind(value)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>("id"))
    .collect::<Result<_, _>>()?;
    for id in &ids {
        revoke_token(c, id, org_id, by, Some(reason), now).await?;
    }
    Ok(ids)
}

// ---------- revocations ----------

pub async fn revocations_since(
    c: &mut AnyConnection,
    since: i64,
    limit: i64,
) -> Result<Vec<RevocationRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT r.seq, r.token_id, r.revoked_at, o.name AS org_name FROM revocations r JOIN orgs o ON o.id = r.org_id \
         WHERE r.seq > $1 ORDER BY r.seq LIMIT {limit}"
    ))
    .bind(since)
    .fetch_all(c)
    .await?
    .iter()
    .map(RevocationRow::from_row)
    .collect()
}

// ---------- audit ----------

const AUDIT_COLS: &str =
    "id, org_id, actor_id, actor_name, action, target_type, target_id, details, client_ip, created_at";

pub async fn insert_audit(c: &mut AnyConnection, a: &AuditRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit (id, org_id, actor_id, actor_name, action, target_type, target_id, details, client_ip, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&a.id)
    .bind(&a.org_id)
    .bind(a.actor_id.clone())
    .bind(&a.actor_name)
    .bind(&a.action)
    .bind(&a.target_type)
    .bind(a.target_id.clone())
    .bind(a.details.to_string())
    .bind(a.client_ip.clone())
    .bind(a.created_at)
    .execute(c)
    .await
    .map(|_| ())
}

pub async fn list_audit(
    c: &mut AnyConnection,
    org_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    Sql::new(&format!("SELECT {AUDIT_COLS} FROM audit WHERE 1=1"))
        .and_eq("org_id", Some(org_id))
        .page("id", after, limit)
        .fetch_all(c, AuditRow::from_row)
        .await
}

// ---------- idempotency ----------

pub async fn get_idempotent(
    c: &mut AnyConnection,
    caller_token_id: &str,
    key: &str,
    not_before: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query(
        "SELECT request_hash, response_enc FROM idempotency WHERE caller_token_id = $1 AND idem_key = $2 AND created_at >= $3",
    )
    .bind(caller_token_id)
    .bind(key)
    .bind(not_before)
    .fetch_optional(c)
    .await?
    .map(|r| Ok((r.try_get("request_hash")?, r.try_get("response_enc")?)))
    .transpose()
}

pub async fn put_idempotent(
    c: &mut AnyConnection,
    caller_token_id: &str,
    key: &str,
    request_hash: &str,
    response_enc: &str,
    now: i64,
    expire_before: i64,
) -> Result<(), sqlx::Error> {
    // Only expired entries go: deleting a live one with the same key would let
    // a concurrent retry slip past the primary key and mint a second token.
    sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(expire_before)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO idempotency (caller_token_id, idem_key, request_hash, response_enc, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(caller_token_id)
    .bind(key)
    .bind(request_hash)
    .bind(response_enc)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ())
}

/// Deletes idempotency answers created before `before`.
pub async fn expire_idempotent(pool: &sqlx::AnyPool, before: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected())
}

fn json_claims(c: &sigil_proto::ClaimSet) -> String {
    serde_json::to_string(&c.to_strings()).unwrap_or_else(|_| "[]".into())
}
