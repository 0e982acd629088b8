//! The `tokens` table: token metadata only; the JWT is never stored.
//!
//! Rows are never deleted: a revoked or expired token stays viewable (SPEC
//! §6 "Token status" asks for at least 90 days; no janitor removes tokens,
//! and deleting an owner or an app revokes its tokens instead of deleting
//! them). A derived token names its parent (`parent_id`); the tree is walked
//! one generation at a time ([`child_tokens`]) so that each generation is
//! read after its parents are locked (see `ops::tokens::revoke_tree`).

use super::*;
use sigil_proto::ipnet;
use sigil_proto::rules::TokenStatus;

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub owner_id: Uuid,
    pub owner_kind: Kind,
    pub owner_name: String,
    pub app_id: Option<Uuid>,
    pub app_name: Option<String>,
    pub label: Option<String>,
    pub claims: ClaimSet,
    pub kid: String,
    pub created_at: i64,
    pub created_by: Uuid,
    pub created_by_name: String,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<Uuid>,
    pub revoke_reason: Option<String>,
    /// The token this one was derived from.
    pub parent_id: Option<Uuid>,
    /// Derivations above this token (0: issued directly).
    pub depth: i64,
    /// Networks it may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<ipnet::IpNet>,
    pub max_uses: Option<i64>,
    pub uses: i64,
}

impl TokenRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(r, "id")?,
            org_id: id(r, "org_id")?,
            org_name: r.try_get("org_name").unwrap_or_default(),
            owner_id: id(r, "owner_id")?,
            owner_kind: kind(r, "owner_kind")?,
            owner_name: r.try_get("owner_name")?,
            app_id: opt_id(r, "app_id")?,
            app_name: r.try_get("app_name").unwrap_or(None),
            label: r.try_get("label")?,
            claims: claims(r, "claims")?,
            kid: r.try_get("kid")?,
            created_at: r.try_get("created_at")?,
            created_by: id(r, "created_by")?,
            created_by_name: r.try_get("created_by_name")?,
            expires_at: r.try_get("expires_at")?,
            last_used_at: r.try_get("last_used_at")?,
            revoked_at: r.try_get("revoked_at")?,
            revoked_by: opt_id(r, "revoked_by")?,
            revoke_reason: r.try_get("revoke_reason")?,
            parent_id: opt_id(r, "parent_id")?,
            depth: r
                .try_get::<i64, _>("depth")
                .or_else(|_| r.try_get::<i32, _>("depth").map(i64::from))?,
            allowed_cidrs: cidrs(r, "allowed_cidrs")?,
            max_uses: r.try_get("max_uses")?,
            uses: r.try_get("uses")?,
        })
    }

    pub fn status(&self, now: i64) -> TokenStatus {
        TokenStatus::of(
            self.revoked_at.is_some(),
            self.expires_at <= now,
            self.uses,
            self.max_uses,
        )
    }
}

/// `allowed_cidrs`: a JSON array of canonical networks, NULL for none.
pub(crate) fn cidrs(r: &AnyRow, col: &str) -> Result<Vec<ipnet::IpNet>, sqlx::Error> {
    let Some(text) = r.try_get::<Option<String>, _>(col)? else {
        return Ok(Vec::new());
    };
    let list: Vec<String> =
        serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    sigil_proto::rules::parse_cidrs(&list).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The column value of `allowed_cidrs`.
pub(crate) fn json_cidrs(nets: &[ipnet::IpNet]) -> Option<String> {
    (!nets.is_empty()).then(|| {
        serde_json::to_string(&nets.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into())
    })
}

const TOKEN_COLS: &str = "t.id, t.org_id, t.owner_id, t.owner_kind, t.owner_name, t.app_id, t.label, t.claims, t.kid, \
     t.created_at, t.created_by, t.created_by_name, t.expires_at, t.last_used_at, t.revoked_at, t.revoked_by, \
     t.revoke_reason, t.parent_id, t.depth, t.allowed_cidrs, t.max_uses, t.uses, a.name AS app_name, o.name AS org_name";
const TOKEN_FROM: &str =
    "FROM tokens t JOIN orgs o ON o.id = t.org_id LEFT JOIN apps a ON a.id = t.app_id";

pub async fn insert_token(c: &mut AnyConnection, t: &TokenRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tokens (id, org_id, owner_id, owner_kind, owner_name, app_id, label, claims, kid, created_at, \
         created_by, created_by_name, expires_at, parent_id, depth, allowed_cidrs, max_uses) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(t.id.to_string())
    .bind(t.org_id.to_string())
    .bind(t.owner_id.to_string())
    .bind(t.owner_kind.as_str())
    .bind(&t.owner_name)
    .bind(t.app_id.map(|a| a.to_string()))
    .bind(t.label.clone())
    .bind(json_claims(&t.claims))
    .bind(&t.kid)
    .bind(t.created_at)
    .bind(t.created_by.to_string())
    .bind(&t.created_by_name)
    .bind(t.expires_at)
    .bind(t.parent_id.map(|p| p.to_string()))
    .bind(t.depth)
    .bind(json_cidrs(&t.allowed_cidrs))
    .bind(t.max_uses)
    .execute(c)
    .await?;
    Ok(())
}

/// A token by id, in any org (authentication), or in `org_id` when given.
pub async fn get_token(
    c: &mut AnyConnection,
    org_id: Option<Uuid>,
    id: Uuid,
) -> Result<Option<TokenRow>, StoreError> {
    Sql::new(&format!("SELECT {TOKEN_COLS} {TOKEN_FROM} WHERE 1=1"))
        .and_id("t.id", Some(id))
        .and_id("t.org_id", org_id)
        .fetch_optional(c, TokenRow::from_row)
        .await
}

#[derive(Debug, Default, Clone)]
pub struct TokenQuery {
    /// Any of these statuses (computed in SQL as [`TokenStatus::of`] does);
    /// none: `include_revoked` decides.
    pub statuses: Option<Vec<TokenStatus>>,
    /// Tokens not yet expired at `now` expiring at or before this time
    /// (`now < expires_at <= before`): an expiry window only; which statuses
    /// show is decided by `statuses` / `include_revoked` as without it.
    pub expiring_before: Option<i64>,
    /// Tokens derived directly from this one.
    pub parent_id: Option<Uuid>,
    pub org_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub app_id: Option<Uuid>,
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
) -> Result<Vec<TokenRow>, StoreError> {
    let mut q = Sql::new(&format!("SELECT {TOKEN_COLS} {TOKEN_FROM} WHERE 1=1"))
        .and_id("t.org_id", Some(f.org_id))
        .and_id("t.owner_id", f.owner_id)
        .and_id("t.app_id", f.app_id);
    q = match f.app_scoped {
        Some(true) => q.raw(" AND t.app_id IS NOT NULL"),
        Some(false) => q.raw(" AND t.app_id IS NULL"),
        None => q,
    };
    q = q.and_id("t.parent_id", f.parent_id);
    match &f.statuses {
        Some(statuses) => {
            q = q.raw(" AND (1=0");
            for s in statuses {
                q = status_sql(q, *s, f.now, " OR ");
            }
            q = q.raw(")");
        }
        None if !f.include_revoked => q = status_sql(q, TokenStatus::Active, f.now, " AND "),
        None => {}
    }
    if let Some(before) = f.expiring_before {
        q = q.push(" AND t.expires_at > $?", Arg::Int(f.now));
        q = q.push(" AND t.expires_at <= $?", Arg::Int(before));
    }
    q.page("t.id", f.after.as_deref(), f.limit)
        .fetch_all(c, TokenRow::from_row)
        .await
}

/// ` {joiner}(condition)`: the rows whose status at `now` is `status`, in
/// the precedence of [`TokenStatus::of`] (revoked, then exhausted, then
/// expired).
fn status_sql(q: Sql, status: TokenStatus, now: i64, joiner: &str) -> Sql {
    const EXHAUSTED: &str = "(t.max_uses IS NOT NULL AND t.uses >= t.max_uses)";
    match status {
        TokenStatus::Revoked => q.raw(&format!("{joiner}(t.revoked_at IS NOT NULL)")),
        TokenStatus::Exhausted => q.raw(&format!("{joiner}(t.revoked_at IS NULL AND {EXHAUSTED})")),
        TokenStatus::Expired => q.push(
            &format!("{joiner}(t.revoked_at IS NULL AND NOT {EXHAUSTED} AND t.expires_at <= $?)"),
            Arg::Int(now),
        ),
        TokenStatus::Active => q.push(
            &format!("{joiner}(t.revoked_at IS NULL AND NOT {EXHAUSTED} AND t.expires_at > $?)"),
            Arg::Int(now),
        ),
    }
}

/// A derived token as its parent's revocation or expiry change sees it.
#[derive(Debug, Clone, Copy)]
pub struct ChildToken {
    pub id: Uuid,
    pub org_id: Uuid,
    pub revoked: bool,
    pub expires_at: i64,
}

/// The tokens derived directly from any of `parents` (revoked or not).
pub async fn child_tokens(
    c: &mut AnyConnection,
    parents: &[Uuid],
) -> Result<Vec<ChildToken>, StoreError> {
    let mut out = Vec::new();
    // A generation is at most a few thousand ids; chunks keep every
    // statement well under both backends' limits on bound values.
    for chunk in parents.chunks(500) {
        let mut text = String::from(
            "SELECT id, org_id, revoked_at, expires_at FROM tokens WHERE parent_id IN (",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&format!("${}", i + 1));
        }
        text.push_str(") ORDER BY id");
        let mut q = sqlx::query(&text);
        for p in chunk {
            q = q.bind(p.to_string());
        }
        for r in q.fetch_all(&mut *c).await? {
            out.push(ChildToken {
                id: id(&r, "id")?,
                org_id: id(&r, "org_id")?,
                revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
                expires_at: r.try_get("expires_at")?,
            });
        }
    }
    Ok(out)
}

/// Holds the token row until the transaction ends (PostgreSQL; SQLite has
/// one writer): a derivation takes it before reading its parent, so a
/// concurrent revocation or shortening of the parent either comes first and
/// is seen, or waits and then sees the child (see `ops::tokens::attenuate`).
pub async fn lock_token(c: &mut AnyConnection, id: Uuid) -> Result<(), StoreError> {
    if Backend::of(c) == Backend::Postgres {
        sqlx::query("SELECT id FROM tokens WHERE id = $1 FOR SHARE")
            .bind(id.to_string())
            .fetch_optional(c)
            .await?;
    }
    Ok(())
}

/// Moves the expiry of token `id` to `expires_at` when it is later: a
/// descendant never outlives its parent. True when it changed.
pub async fn cap_token_expiry(
    c: &mut AnyConnection,
    id: Uuid,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let n = sqlx::query("UPDATE tokens SET expires_at = $1 WHERE id = $2 AND expires_at > $3")
        .bind(expires_at)
        .bind(id.to_string())
        .bind(expires_at)
        .execute(c)
        .await?
        .rows_affected();
    Ok(n > 0)
}

pub async fn update_token(
    c: &mut AnyConnection,
    id: Uuid,
    label: Option<&str>,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE tokens SET label = $1, expires_at = $2 WHERE id = $3")
        .bind(label.map(str::to_string))
        .bind(expires_at)
        .bind(id.to_string())
        .execute(c)
        .await?;
    Ok(())
}

/// Records use at most once a minute per token, so reads don't all turn into writes.
pub async fn touch_token(c: &mut AnyConnection, id: Uuid, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(now)
        .bind(id.to_string())
        .bind(now - 60)
        .execute(c)
        .await?;
    Ok(())
}

/// Revokes one token. Returns false when it was already revoked (nothing
/// changes). `by` is the revoking principal; none when the server revokes.
pub async fn revoke_token(
    c: &mut AnyConnection,
    id: Uuid,
    org_id: Uuid,
    by: Option<Uuid>,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    if Backend::of(c) == Backend::Postgres {
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
    .bind(by.map(|b| b.to_string()))
    .bind(reason.map(str::to_string))
    .bind(id.to_string())
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO revocations (token_id, org_id, revoked_at) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(now)
        .execute(c)
        .await?;
    Ok(true)
}

/// Whose tokens: an owner's, or those scoped to an app.
#[derive(Debug, Clone, Copy)]
pub enum Holder {
    Owner(Uuid),
    App(Uuid),
}

/// Ids of every unrevoked token (expired or not) of an owner or an app.
pub async fn unrevoked_token_ids(
    c: &mut AnyConnection,
    of: Holder,
) -> Result<Vec<Uuid>, StoreError> {
    let (sql, holder) = match of {
        Holder::Owner(o) => (
            "SELECT id FROM tokens WHERE owner_id = $1 AND revoked_at IS NULL",
            o,
        ),
        Holder::App(a) => (
            "SELECT id FROM tokens WHERE app_id = $1 AND revoked_at IS NULL",
            a,
        ),
    };
    sqlx::query(sql)
        .bind(holder.to_string())
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| id(r, "id"))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Live tokens (not revoked, not expired) per owner, for `bots list`.
pub async fn count_live_tokens(
    c: &mut AnyConnection,
    owner_id: Uuid,
    now: i64,
) -> Result<i64, StoreError> {
    sqlx::query("SELECT COUNT(*) AS n FROM tokens WHERE owner_id = $1 AND revoked_at IS NULL AND expires_at > $2")
        .bind(owner_id.to_string())
        .bind(now)
        .fetch_one(c)
        .await?
        .try_get("n")
        .map_err(StoreError::from)
}

/// Live tokens per owner in an org, for `bots list`.
pub async fn live_token_counts(
    c: &mut AnyConnection,
    org_id: Uuid,
    now: i64,
) -> Result<std::collections::HashMap<Uuid, i64>, StoreError> {
    sqlx::query(
        "SELECT owner_id, COUNT(*) AS n FROM tokens WHERE org_id = $1 AND revoked_at IS NULL \
         AND expires_at > $2 GROUP BY owner_id",
    )
    .bind(org_id.to_string())
    .bind(now)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((id(r, "owner_id")?, r.try_get("n")?)))
    .collect::<Result<_, sqlx::Error>>()
    .map_err(StoreError::from)
}

/// `(1, 2, 3), (4, 5, 6)…`: the placeholders of `rows` rows of `cols` values.
pub(crate) fn placeholders(text: &mut String, rows: usize, cols: usize) {
    use std::fmt::Write;
    for r in 0..rows {
        text.push_str(if r == 0 { "(" } else { ", (" });
        for k in 0..cols {
            let sep = if k == 0 { "" } else { ", " };
            let _ = write!(text, "{sep}${}", r * cols + k + 1);
        }
        text.push(')');
    }
}

/// The tokens of a batch of issues (group commit), in one statement
/// whatever the batch's size. One bad row fails the statement; the caller
/// then goes row by row. Their audit entries are written by the caller last
/// (see [`super::audit::insert_audits`]: the chain head is the last lock a
/// transaction takes).
pub async fn insert_issued(c: &mut AnyConnection, rows: &[&TokenRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut text = String::from(
        "INSERT INTO tokens (id, org_id, owner_id, owner_kind, owner_name, app_id, label, claims, kid, created_at, \
         created_by, created_by_name, expires_at, parent_id, depth, allowed_cidrs, max_uses) VALUES ",
    );
    placeholders(&mut text, rows.len(), 17);
    let mut q = sqlx::query(&text);
    for t in rows {
        q = q
            .bind(t.id.to_string())
            .bind(t.org_id.to_string())
            .bind(t.owner_id.to_string())
            .bind(t.owner_kind.as_str())
            .bind(t.owner_name.clone())
            .bind(t.app_id.map(|a| a.to_string()))
            .bind(t.label.clone())
            .bind(json_claims(&t.claims))
            .bind(t.kid.clone())
            .bind(t.created_at)
            .bind(t.created_by.to_string())
            .bind(t.created_by_name.clone())
            .bind(t.expires_at)
            .bind(t.parent_id.map(|p| p.to_string()))
            .bind(t.depth)
            .bind(json_cidrs(&t.allowed_cidrs))
            .bind(t.max_uses);
    }
    q.execute(&mut *c).await?;
    Ok(())
}
