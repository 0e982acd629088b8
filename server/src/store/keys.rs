//! The `signing_keys` table: public halves in clear, private halves sealed
//! with the master key.

use super::*;

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub kid: String,
    pub public_key: String,
    pub private_key_enc: String,
    pub created_at: i64,
    pub max_token_exp: i64,
}

impl KeyRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            kid: r.try_get("kid")?,
            public_key: r.try_get("public_key")?,
            private_key_enc: r.try_get("private_key_enc")?,
            created_at: r.try_get("created_at")?,
            max_token_exp: r.try_get("max_token_exp")?,
        })
    }
}

pub async fn insert_key(c: &mut AnyConnection, k: &KeyRow) -> Result<(), StoreError> {
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
    .await?;
    Ok(())
}

/// All keys, newest first.
pub async fn all_keys(c: &mut AnyConnection) -> Result<Vec<KeyRow>, StoreError> {
    sqlx::query("SELECT kid, public_key, private_key_enc, created_at, max_token_exp FROM signing_keys ORDER BY seq DESC, created_at DESC")
        .fetch_all(c)
        .await?
        .iter()
        .map(KeyRow::from_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

pub async fn bump_key_exp(c: &mut AnyConnection, kid: &str, exp: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE signing_keys SET max_token_exp = $1 WHERE kid = $2 AND max_token_exp < $1")
        .bind(exp)
        .bind(kid)
        .execute(c)
        .await?;
    Ok(())
}
