//! `sigil_token_revocation`: revokes a token (any token, issued by Terraform or
//! not) on create. Revoking is idempotent on the server, so an already revoked
//! token is simply recorded. A revocation cannot be undone: destroying the
//! resource only forgets it, and says so. `reason` is sent with the first
//! revocation; changing it later only changes the state.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::Token;
use tf_provider::schema::{AttributeConstraint, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::common::*;

#[derive(Clone, Serialize, Deserialize)]
pub struct RevocationState {
    pub id: Value<String>,
    pub org: Value<String>,
    pub token_id: Value<String>,
    pub reason: Value<String>,
    pub revoked_at: Value<String>,
    pub revoked_by: Value<String>,
}

pub struct RevocationResource(pub Shared);

fn apply_revocation(s: &mut RevocationState, t: &Token) {
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

fn token_uuid(diags: &mut Diagnostics, v: &Value<String>) -> Option<uuid::Uuid> {
    match v.as_ref_option().map(|s| uuid::Uuid::parse_str(s)) {
        Some(Ok(id)) => Some(id),
        _ => {
            diags.error_short(
                "token_id is not a known token id",
                AttributePath::new("token_id"),
            );
            None
        }
    }
}

impl RevocationResource {
    /// The plan of a new object, for a create and for a replacement alike.
    fn plan_new(&self, s: &mut RevocationState, config: &RevocationState) {
        s.id = s.token_id.clone();
        s.revoked_at = Value::Unknown;
        s.revoked_by = Value::Unknown;
        if config.org.is_null() {
            s.org = self.0.default_org();
        }
    }
}

#[async_trait]
impl Resource for RevocationResource {
    type State<'a> = RevocationState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::*;
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::markdown(
                    "Revokes a token on create. A revocation cannot be undone: destroying this \
                     resource only removes it from the state.",
                ),
                attributes: map! {
                    "id" => string(Computed, "Same as `token_id`."),
                    "org" => string(OptionalComputed, "Org of the token; defaults to the provider's. Forces a new revocation."),
                    "token_id" => string(Required, "Id of the token to revoke. Forces a new revocation."),
                    "reason" => string(Optional, "Why the token is revoked, recorded by the server with the first revocation."),
                    "revoked_at" => string(Computed, "When the token was revoked (RFC 3339)."),
                    "revoked_by" => string(Computed, "Id of the principal that revoked it."),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, c: RevocationState) -> Option<()> {
        check_org(diags, &c.org);
        check_uuid(
            diags,
            &c.token_id,
            "token_id",
            "e.g. sigil_token.old.id or data.sigil_tokens.x.tokens[0].id",
        );
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        mut state: RevocationState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(RevocationState, ValueEmpty)> {
        let Some(id) = state
            .token_id
            .as_ref_option()
            .and_then(|i| uuid::Uuid::parse_str(i).ok())
        else {
            return Some((state, private));
        };
        let Some(api) = self.0.api(diags) else {
            return Some((state, private));
        };
        let org = org_of(&state.org, &api);
        match api.client.get_token(&org, id).await {
            Ok(t) => {
                apply_revocation(&mut state, &t);
                Some((state, private))
            }
            // The token is gone altogether (its bot was deleted): still revoked, nothing to redo.
            Err(e) if e.is_not_found() => Some((state, private)),
            Err(e) => {
                api_error(diags, &format!("Cannot read token {id}"), &e, &no_field);
                Some((state, private))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: RevocationState,
        config: RevocationState,
        _meta: ValueEmpty,
    ) -> Option<(RevocationState, ValueEmpty)> {
        let mut s = proposed;
        self.plan_new(&mut s, &config);
        Some((s, Value::Null))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: RevocationState,
        proposed: RevocationState,
        config: RevocationState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(RevocationState, ValueEmpty, Vec<AttributePath>)> {
        let mut s = proposed;
        let mut replace = Vec::new();
        if s.token_id != prior.token_id {
            replace.push(AttributePath::new("token_id"));
        }
        if s.org != prior.org {
            replace.push(AttributePath::new("org"));
        }
        if !replace.is_empty() {
            self.plan_new(&mut s, &config);
        }
        Some((s, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: RevocationState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: RevocationState,
        _config: RevocationState,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(RevocationState, ValueEmpty)> {
        let api = self.0.api(diags)?;
        let org = org_of(&planned.org, &api);
        let id = token_uuid(diags, &planned.token_id)?;
        match api
            .client
            .revoke_token(&org, id, planned.reason.as_ref_option().map(String::as_str))
            .await
        {
            Ok(t) => {
                let mut s = planned;
                apply_revocation(&mut s, &t);
                Some((s, Value::Null))
            }
            Err(e) => {
                let attr = |f: &str| (f == "reason").then_some("reason");
                api_error(diags, &format!("Cannot revoke token {id}"), &e, &attr);
                None
            }
        }
    }

    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: RevocationState,
        planned: RevocationState,
        _config: RevocationState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(RevocationState, ValueEmpty)> {
        // Only `reason` changes in place, and the server keeps the first one.
        Some((planned, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: RevocationState,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        diags.root_warning(
            format!(
                "Token {} stays revoked",
                prior.token_id.as_ref_option().map(String::as_str).unwrap_or("?")
            ),
            "A revocation cannot be undone: Terraform only forgot this sigil_token_revocation. Issue a new token instead.",
        );
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(RevocationState, ValueEmpty)> {
        let api = self.0.api(diags)?;
        let (org, rest) = split_import_id(&id, &api);
        let Ok(uid) = uuid::Uuid::parse_str(&rest) else {
            diags.root_error(
                "Invalid import id",
                format!("expected a token id (a UUID) or org/id, got {id:?}"),
            );
            return None;
        };
        match api.client.get_token(&org, uid).await {
            Ok(t) if t.revoked_at.is_some() => {
                let mut s = RevocationState {
                    id: Value::Null,
                    org: Value::Null,
                    token_id: Value::Null,
                    reason: Value::Null,
                    revoked_at: Value::Null,
                    revoked_by: Value::Null,
                };
                apply_revocation(&mut s, &t);
                s.reason = t.revoke_reason.clone().filter(|r| !r.is_empty()).into();
                Some((s, Value::Null))
            }
            Ok(_) => {
                diags.root_error(
                    format!("Cannot import the revocation of token {uid}"),
                    "The token is not revoked. Declare a sigil_token_revocation for it and apply to revoke it.",
                );
                None
            }
            Err(e) => {
                api_error(
                    diags,
                    &format!("Cannot import the revocation of token {uid}"),
                    &e,
                    &no_field,
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upper_case_token_id_is_kept_in_id_and_token_id() {
        let id = uuid::Uuid::parse_str("0190f0f0-0000-7000-8000-0000000000ab").unwrap();
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
        let t: Token = serde_json::from_value(serde_json::json!({
            "id": id,
            "org": "default",
            "owner_id": "0190f0f0-0000-7000-8000-000000000002",
            "owner": "ci",
            "owner_kind": "bot",
            "claims": [],
            "scope": "org",
            "created_at": "2024-01-01T00:00:00Z",
            "created_by": "0190f0f0-0000-7000-8000-000000000003",
            "created_by_name": "owner",
            "expires_at": "2099-01-01T00:00:00Z",
            "revoked_at": "2024-06-01T00:00:00Z",
            "status": "revoked"
        }))
        .unwrap();
        apply_revocation(&mut s, &t);
        assert_eq!(s.id, upper, "the planned id is what apply returns");
        assert_eq!(s.token_id, upper);
        // Import (nothing planned): the canonical spelling.
        let mut imported = RevocationState {
            id: Value::Null,
            token_id: Value::Null,
            ..s
        };
        apply_revocation(&mut imported, &t);
        assert_eq!(imported.id, Value::Value(id.to_string()));
    }
}
