//! Data source `sigil_tokens`: token metadata (never a JWT), with the list filters
//! of the API.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::TokenFilter;
use sigil_proto::client::ClientError;
use sigil_proto::rules::TokenStatus;
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
    pub revoked_reason: Option<String>,
    pub parent_id: Option<String>,
    pub allowed_cidrs: Vec<String>,
    pub max_uses: Option<i64>,
    pub uses: i64,
}

#[derive(Serialize, Deserialize)]
pub struct TokensData {
    pub org: Value<String>,
    pub bot_id: Value<String>,
    pub app_id: Value<String>,
    pub scope: Value<String>,
    pub include_revoked: Value<bool>,
    pub status: StringSet,
    pub tokens: Value<Vec<TokenItem>>,
}

pub struct TokensLookup;

/// `TokenFilter.status`: the set's statuses, comma-separated, in a stable
/// order; `None` when not set (then `include_revoked` decides).
fn status_filter(v: &StringSet) -> Option<String> {
    let set = known_set(v)?;
    (!v.is_null()).then(|| set.join(","))
}

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
            ("revoked_reason", string()),
            ("parent_id", string()),
            ("allowed_cidrs", list_of_strings()),
            ("max_uses", AttributeType::Number),
            ("uses", AttributeType::Number),
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
                "Also list revoked and expired tokens. Default: live tokens only. Ignored when \
                 `status` is set.",
            ),
            field(
                "status",
                Optional,
                set_of_strings(),
                "Only tokens in these statuses: `active`, `expired`, `revoked`, `exhausted` \
                 (e.g. `[\"revoked\", \"exhausted\"]`). Replaces `include_revoked`.",
            ),
            field(
                "tokens",
                Computed,
                item,
                "The tokens, each with its `id` (the JWT `jti`); `bot_id`, `owner`, \
                 `owner_kind`: the owner's id, name and kind (`bot` or `user`); `label` (may be \
                 null); `claims`; `scope` (`org` or `app`) and `app_id` (may be null); \
                 `created_at`, `created_by`, `expires_at`; `last_used_at` and `revoked_at` (may \
                 be null); `status` (`active`, `expired`, `revoked` or `exhausted`) and \
                 `revoked_reason` (may be null); `parent_id`, the token it was derived from \
                 (may be null); `allowed_cidrs` (empty: any address), `max_uses` (null: \
                 unlimited) and `uses`.",
            ),
        ]
    }

    fn validate(diags: &mut Diagnostics, c: &TokensData) {
        check_uuid(diags, &c.bot_id, "bot_id", "e.g. sigil_bot.ci.id");
        check_uuid(diags, &c.app_id, "app_id", "e.g. sigil_app.web.id");
        if let Value::Value(set) = &c.status {
            for s in set {
                match s {
                    Value::Value(s) => {
                        if let Err(e) = TokenStatus::parse(s) {
                            diags.error(
                                "Invalid status",
                                e.to_string(),
                                AttributePath::new("status"),
                            );
                        }
                    }
                    Value::Null => diags.error(
                        "Invalid status",
                        "status: a status cannot be null",
                        AttributePath::new("status"),
                    ),
                    Value::Unknown => {}
                }
            }
        }
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
            status: status_filter(&c.status),
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
                revoked_reason: t
                    .revoked_reason
                    .or(t.revoke_reason)
                    .filter(|r| !r.is_empty()),
                parent_id: t.parent_id.map(|p| p.to_string()),
                allowed_cidrs: t.allowed_cidrs,
                max_uses: t.max_uses,
                uses: t.uses,
            })
            .collect();
        Ok(TokensData {
            org: Value::Value(org),
            tokens: Value::Value(tokens),
            ..c
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{errors, first_invalid, set};

    fn config(status: StringSet) -> TokensData {
        TokensData {
            org: Value::Null,
            bot_id: Value::Null,
            app_id: Value::Null,
            scope: Value::Null,
            include_revoked: Value::Null,
            status,
            tokens: Value::Unknown,
        }
    }

    #[test]
    fn the_status_filter_is_checked_and_sent_comma_separated() {
        assert_eq!(status_filter(&Value::Null), None);
        assert_eq!(
            status_filter(&set(&["revoked", "exhausted"])),
            Some("exhausted,revoked".into())
        );
        assert!(errors(|d| TokensLookup::validate(d, &config(set(&["revoked"])))).is_empty());
        let mut diags = Diagnostics::default();
        TokensLookup::validate(&mut diags, &config(set(&["dead"])));
        let detail = first_invalid(&diags, "status");
        assert!(
            detail.contains("active, expired, revoked, exhausted"),
            "{detail}"
        );
    }
}
