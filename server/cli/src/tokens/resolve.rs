//! Which token an argument names: a token id, a pasted JWT (its `jti`), or a
//! label that one token has.

use sigil_proto::api::{Token, TokenFilter};
use sigil_proto::client::Client;
use uuid::Uuid;

use crate::context::Ctx;
use crate::error::{is_jwt, CliError};

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

/// A token by id, by a pasted JWT (its `jti`), or by a label that exactly
/// one token has (live tokens first; revoked ones only when no live token
/// has the label).
pub(super) async fn resolve(ctx: &Ctx, client: &Client, key: &str) -> Result<Token, CliError> {
    if is_jwt(key) {
        let id = jwt_id(key)?;
        return Ok(client.get_token(&ctx.org, id).await?);
    }
    if let Ok(id) = Uuid::parse_str(key) {
        return Ok(client.get_token(&ctx.org, id).await?);
    }
    for include_revoked in [false, true] {
        let filter = TokenFilter {
            include_revoked: include_revoked.then_some(true),
            ..Default::default()
        };
        let found: Vec<Token> = client
            .list_all_tokens(&ctx.org, &filter)
            .await?
            .into_iter()
            .filter(|t| t.label.as_deref() == Some(key))
            .collect();
        match found.len() {
            0 => continue,
            1 => {
                return found
                    .into_iter()
                    .next()
                    .ok_or_else(|| CliError::failed("no token"))
            }
            n => {
                let ids: Vec<String> = found.iter().map(|t| t.id.to_string()).collect();
                return Err(CliError::usage(format!(
                    "{n} tokens have the label {key:?}: name one by id ({})",
                    ids.join(", ")
                )));
            }
        }
    }
    Err(CliError::failed(format!(
        "no token has the id or label {key:?} in org {}",
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
