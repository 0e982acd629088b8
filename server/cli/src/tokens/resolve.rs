//! Which token an argument names: a token id, a pasted JWT (its `jti`), a
//! label, or a unique prefix of an id (see [`crate::ids`]).
//!
//! Labels are not unique. `view` and `update` need one token: a label that
//! one live token has names it; one that no live token has names the one
//! revoked token with it; more than one is an error listing their ids.
//! `revoke` is idempotent, so there a label that no live token has names
//! every revoked token with it, each then said to be already revoked, and
//! `sigil tokens revoke ci --yes` run twice succeeds twice.

use sigil_proto::api::{Token, TokenFilter};
use sigil_proto::client::Client;
use uuid::Uuid;

use crate::context::Ctx;
use crate::error::{is_jwt, CliError};
use crate::ids;

/// The id (`jti`) of a pasted JWT, read from its payload without checking
/// the signature: the server decides what the id names. A JWT is never a
/// label, and revoking a leaked token by pasting it is the natural move.
fn jwt_id(jwt: &str) -> Result<Uuid, CliError> {
    use base64::Engine;
    let bad = || {
        CliError::usage(
            "the argument looks like a JWT but has no readable token id (jti); pass the token's id",
        )
    };
    let payload = jwt.trim().split('.').nth(1).ok_or_else(bad)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad())?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    claims
        .get("jti")
        .and_then(|j| j.as_str())
        .and_then(|j| Uuid::parse_str(j).ok())
        .ok_or_else(bad)
}

/// A token as an ambiguity error lists it: `"ci" of steve (revoked)`.
fn describe(t: &Token) -> String {
    let label = t
        .label
        .as_deref()
        .map(|l| format!("{l:?} "))
        .unwrap_or_default();
    let revoked = if t.revoked_at.is_some() {
        " (revoked)"
    } else {
        ""
    };
    format!("{label}of {}{revoked}", t.owner)
}

/// A token by id, by a pasted JWT (its `jti`), by a label (see the module
/// doc) or by a unique id prefix.
pub(super) async fn resolve(ctx: &Ctx, client: &Client, key: &str) -> Result<Token, CliError> {
    let mut found = resolve_many(ctx, client, key, false).await?;
    match found.len() {
        1 => found.pop().ok_or_else(|| CliError::failed("no token")),
        n => Err(ambiguous_label(key, n, &found)),
    }
}

/// The tokens `revoke` acts on for `key`: as [`resolve`], except that a
/// label no live token has names every revoked token with it.
pub(super) async fn resolve_for_revoke(
    ctx: &Ctx,
    client: &Client,
    key: &str,
) -> Result<Vec<Token>, CliError> {
    resolve_many(ctx, client, key, true).await
}

fn ambiguous_label(key: &str, n: usize, found: &[Token]) -> CliError {
    let ids: Vec<String> = found.iter().map(|t| t.id.to_string()).collect();
    CliError::usage(format!(
        "{n} tokens have the label {key:?}: name one by id ({})",
        ids.join(", ")
    ))
}

/// One token, or (a label only revoked tokens have, when `all_revoked`)
/// every revoked token with that label; never an empty list.
async fn resolve_many(
    ctx: &Ctx,
    client: &Client,
    key: &str,
    all_revoked: bool,
) -> Result<Vec<Token>, CliError> {
    if is_jwt(key) {
        let id = jwt_id(key)?;
        return Ok(vec![client.get_token(&ctx.org, id).await?]);
    }
    if let Ok(id) = Uuid::parse_str(key.trim()) {
        return Ok(vec![client.get_token(&ctx.org, id).await?]);
    }
    let filter = TokenFilter {
        include_revoked: Some(true),
        ..Default::default()
    };
    let all = client.list_all_tokens(&ctx.org, &filter).await?;
    let (live, revoked): (Vec<&Token>, Vec<&Token>) = all
        .iter()
        .filter(|t| t.label.as_deref() == Some(key))
        .partition(|t| t.revoked_at.is_none());
    let labelled: Vec<Token> = match (live.len(), revoked.len()) {
        (0, 0) => Vec::new(),
        (0, _) if all_revoked => revoked.into_iter().cloned().collect(),
        (0, 1) | (1, _) => live.into_iter().chain(revoked).take(1).cloned().collect(),
        (0, n) => {
            let found: Vec<Token> = revoked.into_iter().cloned().collect();
            return Err(ambiguous_label(key, n, &found));
        }
        (n, _) => {
            let found: Vec<Token> = live.into_iter().cloned().collect();
            return Err(ambiguous_label(key, n, &found));
        }
    };
    if !labelled.is_empty() {
        return Ok(labelled);
    }
    if let Some(prefix) = ids::as_prefix(key) {
        if let Some(t) = ids::pick("tokens", key, &prefix, all, |t| t.id, describe)? {
            return Ok(vec![t]);
        }
    }
    Err(CliError::failed(format!(
        "no token has the id, id prefix or label {key:?} in org {}",
        ctx.org
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID1: &str = "48de76fd-c5c7-4b05-9f70-52af9a996d38";

    #[test]
    fn a_pasted_jwt_names_its_jti() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let jwt = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"ES256","typ":"JWT"}"#),
            b64(&format!(r#"{{"sub":"x","jti":"{ID1}"}}"#))
        );
        assert!(is_jwt(&jwt) && is_jwt(&format!("{jwt}\n")));
        assert_eq!(jwt_id(&jwt).unwrap().to_string(), ID1);
        let no_jti = format!("{}.{}.c2ln", b64("{}"), b64(r#"{"sub":"x"}"#));
        let e = jwt_id(&no_jti).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(!e.to_string().contains("eyJ"), "{e}");
    }
}
