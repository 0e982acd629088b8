//! `sigil_token_revocation`: revokes a token (any token, issued by Terraform or
//! not) on create. Revoking is idempotent on the server, so an already revoked
//! token is simply recorded. A revocation cannot be undone: destroying the
//! resource only forgets it, and says so. `reason` is sent with the first
//! revocation; changing it later only changes the state.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::Token;
use sigil_proto::client::ClientError;
use sigil_proto::rules;
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics};
use uuid::Uuid;

use crate::common::*;
use crate::resource::*;
use crate::validate::{check_text, check_uuid};

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct RevocationState {
    pub id: Value<String>,
    pub org: Value<String>,
    pub token_id: Value<String>,
    pub reason: Value<String>,
    pub revoked_at: Value<String>,
    pub revoked_by: Value<String>,
}

pub struct Revocation;

state!(RevocationState; key = token_id);

#[async_trait]
impl Object for Revocation {
    type State = RevocationState;
    type Private = ValueEmpty;
    type Remote = Token;
    type Key = Uuid;

    const NAME: &'static str = "token_revocation";
    const NOUN: &'static str = "revocation";
    const DESCRIPTION: &'static str = "Revokes a token on create. A revocation cannot be undone: \
                                       destroying this resource only removes it from the state.";
    const IMPORT_ID: &'static str = "the id (a UUID) of a revoked token, or org/id";
    /// The token is gone altogether (its bot was deleted): still revoked, nothing to redo.
    const GONE: Option<&'static str> = None;

    fn fields() -> Vec<Field> {
        vec![
            field("id", Computed, string(), "Same as `token_id`."),
            org_field("token"),
            field(
                "token_id",
                Required,
                string(),
                "Id of the token to revoke (a UUID), e.g. `sigil_token.old.id` or an id from \
                 the `sigil_tokens` data source.",
            )
            .forces_new(),
            field(
                "reason",
                Optional,
                string(),
                "Why the token is revoked (at most 200 characters), recorded by the server with \
                 the first revocation. Changing it later only changes the state.",
            ),
            field(
                "revoked_at",
                Computed,
                string(),
                "When the token was revoked (RFC 3339).",
            ),
            field(
                "revoked_by",
                Computed,
                string(),
                "Id of the principal that revoked it.",
            ),
        ]
    }

    fn what(key: &Uuid) -> String {
        format!("the revocation of token {key}")
    }

    fn apply(s: &mut RevocationState, t: &Token) {
        // Planned as the configuration's `token_id`: keep that spelling (an
        // upper-case UUID) when it names the same token.
        s.id = same_id_or(&s.id, t.id);
        s.org = Value::Value(t.org.clone());
        s.token_id = same_id_or(&s.token_id, t.id);
        s.revoked_at = match t.revoked_at {
            Some(at) => same_instant_or(&s.revoked_at, at),
            None => Value::Null,
        };
        s.revoked_by = t.revoked_by.map(|b| b.to_string()).into();
    }

    fn validate(diags: &mut Diagnostics, c: &RevocationState) {
        check_uuid(
            diags,
            &c.token_id,
            "token_id",
            "e.g. sigil_token.old.id or data.sigil_tokens.x.tokens[0].id",
        );
        check_text(diags, &c.reason, "reason", rules::check_reason);
    }

    fn plan_new(s: &mut RevocationState, _config: &RevocationState) {
        s.id = s.token_id.clone();
        s.revoked_at = Value::Unknown;
        s.revoked_by = Value::Unknown;
    }

    async fn fetch(api: &Api, org: &str, key: &Uuid) -> Result<Token, ClientError> {
        api.client.get_token(org, *key).await
    }

    fn adopt(s: &mut RevocationState, _p: &mut ValueEmpty, t: &Token) -> Result<(), String> {
        if t.revoked_at.is_none() {
            return Err(
                "The token is not revoked. Declare a sigil_token_revocation for it and \
                        apply to revoke it."
                    .into(),
            );
        }
        Self::apply(s, t);
        s.reason = t.revoke_reason.clone().filter(|r| !r.is_empty()).into();
        Ok(())
    }

    async fn create(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        planned: RevocationState,
    ) -> Option<(RevocationState, ValueEmpty)> {
        let Some(id) = Self::key(&planned) else {
            diags.error_short(
                "token_id is not a known token id",
                AttributePath::new("token_id"),
            );
            return None;
        };
        let reason = planned.reason.as_ref_option().map(String::as_str);
        let answer = api.client.revoke_token(org, id, reason).await;
        let t = answered(
            diags,
            &format!("revoke token {id}"),
            &Self::field_attr,
            answer,
        )?;
        Some((Self::applied(planned, &t), Value::Null))
    }

    async fn delete(
        diags: &mut Diagnostics,
        _api: &Api,
        _org: &str,
        key: &Uuid,
        _prior: &RevocationState,
    ) -> Option<()> {
        diags.root_warning(
            format!("Token {key} stays revoked"),
            "A revocation cannot be undone: Terraform only forgot this sigil_token_revocation. \
             Issue a new token instead.",
        );
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{errors, v};

    #[test]
    fn an_upper_case_token_id_is_kept_in_id_and_token_id() {
        let id = Uuid::parse_str("0190f0f0-0000-7000-8000-0000000000ab").unwrap();
        let upper = Value::Value(id.to_string().to_uppercase());
        // As planned by plan_create: `id` is the configuration's `token_id`.
        let mut s = RevocationState {
            id: upper.clone(),
            org: Value::Value("default".into()),
            token_id: upper.clone(),
            reason: Value::Null,
            revoked_at: Value::Unknown,
            revoked_by: Value::Unknown,
        };
        let t: Token =
            serde_json::from_value(crate::token::fixtures::remote_token(serde_json::json!({
                "id": id,
                "revoked_at": "2024-06-01T00:00:00Z",
                "status": "revoked"
            })))
            .unwrap();
        Revocation::apply(&mut s, &t);
        assert_eq!(s.id, upper, "the planned id is what apply returns");
        assert_eq!(s.token_id, upper);
        // Import (nothing planned): the canonical spelling.
        let mut imported = RevocationState::default();
        Revocation::adopt(&mut imported, &mut Value::Null, &t).unwrap();
        assert_eq!(imported.id, Value::Value(id.to_string()));
    }

    #[test]
    fn reason_and_token_id_are_checked_at_plan() {
        let c = |token_id: &str, reason: &str| RevocationState {
            token_id: v(token_id),
            reason: v(reason),
            ..RevocationState::default()
        };
        let id = "0190f0f0-0000-7000-8000-0000000000ab";
        assert!(errors(|d| Revocation::validate(d, &c(id, "leaked in CI"))).is_empty());
        assert_eq!(
            errors(|d| Revocation::validate(
                d,
                &c("sigil_token.old", &"x".repeat(rules::MAX_REASON_CHARS + 1))
            )),
            vec![
                ("Invalid token_id".into(), AttributePath::new("token_id")),
                ("Invalid reason".into(), AttributePath::new("reason")),
            ]
        );
        assert_eq!(
            errors(|d| Revocation::validate(d, &c(id, "a\u{7}b"))).len(),
            1
        );
    }
}
