//! Data source `sigil_tokens`: token metadata (never a JWT), with the list filters
//! of the API.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::TokenFilter;
use sigil_proto::client::ClientError;
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::schema::AttributeType;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::common::*;
use crate::resource::*;
use crate::validate::check_uuid;

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

pub struct TokensLookup;

state!(TokensData);

#[async_trait]
impl Lookup for TokensLookup {
    type State = TokensData;

    const NAME: &'static str = "tokens";
    const DESCRIPTION: &'static str = "Lists token metadata, with the API's filters. A JWT is \
                                       never listed: the server does not keep them.";

    fn fields() -> Vec<Field> {
        let item = list_of_objects(&[
            ("id", string()),
            ("bot_id", string()),
            ("owner", string()),
            ("owner_kind", string()),
            ("label", string()),
            ("claims", list_of_strings()),
            ("scope", string()),
            ("app_id", string()),
            ("created_at", string()),
            ("created_by", string()),
            ("expires_at", string()),
            ("last_used_at", string()),
            ("revoked_at", string()),
            ("status", string()),
        ]);
        vec![
            lookup_org_field("list"),
            field(
                "bot_id",
                Optional,
                string(),
                "Only tokens of this bot (its id).",
            ),
            field(
                "app_id",
                Optional,
                string(),
                "Only tokens scoped to this app (its id).",
            ),
            field(
                "scope",
                Optional,
                string(),
                "Only `org` or only `app` tokens.",
            ),
            field(
                "include_revoked",
                Optional,
                AttributeType::Bool,
                "Also list revoked and expired tokens. Default: live tokens only.",
            ),
            field(
                "tokens",
                Computed,
                item,
                "The tokens, each with its `id` (the JWT `jti`); `bot_id`, `owner`, \
                 `owner_kind`: the owner's id, name and kind (`bot` or `user`); `label` (may be \
                 null); `claims`; `scope` (`org` or `app`) and `app_id` (may be null); \
                 `created_at`, `created_by`, `expires_at`; `last_used_at` and `revoked_at` (may \
                 be null); `status` (`active`, `expired` or `revoked`).",
            ),
        ]
    }

    fn validate(diags: &mut Diagnostics, c: &TokensData) {
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
    }

    fn what(_c: &TokensData, org: &str) -> String {
        format!("list the tokens of org {org:?}")
    }

    async fn lookup(api: &Api, org: String, c: TokensData) -> Result<TokensData, ClientError> {
        let filter = TokenFilter {
            owner: c.bot_id.as_ref_option().cloned(),
            app: c.app_id.as_ref_option().cloned(),
            scope: c.scope.as_ref_option().cloned(),
            include_revoked: c.include_revoked.as_ref_option().copied(),
            ..Default::default()
        };
        let tokens = api.client.list_all_tokens(&org, &filter).await?;
        let tokens = tokens
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
            .collect();
        Ok(TokensData {
            org: Value::Value(org),
            tokens: Value::Value(tokens),
            ..c
        })
    }
}
