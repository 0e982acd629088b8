//! Data source `sigil_tokens`: token metadata (never a JWT), with the list filters
//! of the API.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::TokenFilter;
use tf_provider::schema::{AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, DataSource, Diagnostics};

use crate::common::*;

#[derive(Serialize, Deserialize)]
pub struct TokenItem {
    pub id: String,
    pub bot_id: String,
    pub owner: String,
    pub owner_kind: String,
    pub label: Option<String>,
    pub claims: Vec<String>,
    pub scope: String,
    pub app_id: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub status: String,
}

#[derive(Serialize, Deserialize)]
pub struct TokensData {
    pub org: Value<String>,
    pub bot_id: Value<String>,
    pub app_id: Value<String>,
    pub scope: Value<String>,
    pub include_revoked: Value<bool>,
    pub tokens: Value<Vec<TokenItem>>,
}

pub struct TokensDataSource(pub Shared);

#[async_trait]
impl DataSource for TokensDataSource {
    type State<'a> = TokensData;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::*;
        let s = || AttributeType::String;
        let item = object(&[
            ("id", s()),
            ("bot_id", s()),
            ("owner", s()),
            ("owner_kind", s()),
            ("label", s()),
            ("claims", list_of_strings()),
            ("scope", s()),
            ("app_id", s()),
            ("created_at", s()),
            ("created_by", s()),
            ("expires_at", s()),
            ("last_used_at", s()),
            ("revoked_at", s()),
            ("status", s()),
        ]);
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::markdown("Lists token metadata (never the JWTs)."),
                attributes: map! {
                    "org" => string(OptionalComputed, "Org to list; defaults to the provider's."),
                    "bot_id" => string(Optional, "Only tokens of this owner (a bot id)."),
                    "app_id" => string(Optional, "Only tokens scoped to this app (its id)."),
                    "scope" => string(Optional, "Only `org` or only `app` tokens."),
                    "include_revoked" => attr(AttributeType::Bool, Optional, false, "Also list revoked and expired tokens."),
                    "tokens" => attr(AttributeType::List(Box::new(item)), Computed, false, "The tokens: `id`, `bot_id`, `owner`, `owner_kind`, `label`, `claims`, `scope`, `app_id`, `created_at`, `created_by`, `expires_at`, `last_used_at`, `revoked_at`, `status` (`active`, `expired`, `revoked`)."),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, c: TokensData) -> Option<()> {
        check_org(diags, &c.org);
        check_uuid(diags, &c.bot_id, "bot_id", "e.g. sigil_bot.ci.id");
        check_uuid(diags, &c.app_id, "app_id", "e.g. sigil_app.web.id");
        if let Value::Value(s) = &c.scope {
            if s != "org" && s != "app" {
                diags.error(
                    "Invalid scope",
                    format!("invalid scope {s:?}: expected `org` or `app`"),
                    AttributePath::new("scope"),
                );
            }
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        c: TokensData,
        _meta: ValueEmpty,
    ) -> Option<TokensData> {
        let api = self.0.api(diags)?;
        let org = org_of(&c.org, &api);
        let filter = TokenFilter {
            owner: c.bot_id.as_ref_option().cloned(),
            app: c.app_id.as_ref_option().cloned(),
            scope: c.scope.as_ref_option().cloned(),
            include_revoked: c.include_revoked.as_ref_option().copied(),
            ..Default::default()
        };
        match api.client.list_all_tokens(&org, &filter).await {
            Ok(tokens) => Some(TokensData {
                org: Value::Value(org),
                tokens: Value::Value(
                    tokens
                        .into_iter()
                        .map(|t| TokenItem {
                            id: t.id.to_string(),
                            bot_id: t.owner_id.to_string(),
                            owner: t.owner,
                            owner_kind: t.owner_kind,
                            label: t.label,
                            claims: t.claims,
                            scope: t.scope,
                            app_id: t.app_id.map(|a| a.to_string()),
                            created_at: rfc3339(t.created_at),
                            created_by: t.created_by.to_string(),
                            expires_at: rfc3339(t.expires_at),
                            last_used_at: t.last_used_at.map(rfc3339),
                            revoked_at: t.revoked_at.map(rfc3339),
                            status: t.status,
                        })
                        .collect(),
                ),
                ..c
            }),
            Err(e) => {
                api_error(
                    diags,
                    &format!("Cannot list the tokens of org {org:?}"),
                    &e,
                    &no_field,
                );
                None
            }
        }
    }
}
