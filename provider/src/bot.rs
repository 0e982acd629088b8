//! `sigil_bot`: a non-human user with permissions and identities.
//!
//! Everything but `org` changes in place (`PATCH` sends the whole desired bot).
//! `permissions` is a set, and an equivalent answer from the server keeps the
//! configuration's spelling, so there is no perpetual diff. Deleting a bot
//! revokes all of its tokens (the server does it in one transaction).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::{Bot as RemoteBot, CreateBot, UpdateBot};
use sigil_proto::client::ClientError;
use sigil_proto::rules;
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics};

use crate::common::*;
use crate::resource::*;
use crate::validate::{check_claims, check_identities, check_text, check_username};

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct BotState {
    pub id: Value<String>,
    pub org: Value<String>,
    pub username: Value<String>,
    pub description: Value<String>,
    pub permissions: StringSet,
    pub identities: StringMap,
    pub created_at: Value<String>,
}

pub struct Bot;

state!(BotState; key = id);

/// The permissions and identities to send: every value must be known and
/// non-null here (validation rejects nulls), never silently emptied.
fn desired(
    diags: &mut Diagnostics,
    s: &BotState,
) -> Option<(Vec<String>, BTreeMap<String, String>)> {
    let Some(permissions) = known_set(&s.permissions) else {
        diags.error_short(
            "permissions must be known and contain no null",
            AttributePath::new("permissions"),
        );
        return None;
    };
    let Some(identities) = known_map(&s.identities) else {
        diags.error_short(
            "identities must be known and contain no null value",
            AttributePath::new("identities"),
        );
        return None;
    };
    Some((permissions, identities))
}

#[async_trait]
impl Object for Bot {
    type State = BotState;
    type Private = ValueEmpty;
    type Remote = RemoteBot;
    type Key = String;

    const NAME: &'static str = "bot";
    const NOUN: &'static str = "bot";
    const DESCRIPTION: &'static str =
        "A bot: a non-human user that holds permissions and long-lived tokens.";
    const IMPORT_ID: &'static str = "org/username, a username (in the provider's org) or an id";
    const GONE: Option<&'static str> = Some(
        "It was deleted outside Terraform (with all its tokens); the next apply creates it again.",
    );

    fn fields() -> Vec<Field> {
        vec![
            field("id", Computed, string(), "The bot's id."),
            org_field("bot"),
            field(
                "username",
                Required,
                string(),
                "Username, unique in its org: `[a-z0-9][a-z0-9._-]{0,62}`, not a UUID. \
                 Changed in place (a rename).",
            ),
            field(
                "description",
                Optional,
                string(),
                "Free text, at most 1024 characters.",
            ),
            field(
                "permissions",
                Optional,
                set_of_strings(),
                "Claims `scope:action:specific` the bot holds, each part `*` or a comma list \
                 (`*:*:*`, `machines:get,list:*`, `bots,tokens:get,list:*`); at most 100. Its \
                 tokens hold a subset. Compared as a set: order and equivalent spellings never \
                 make a diff. Shrinking them shrinks the bot's tokens at once (a token's \
                 effective rights are its claims ∩ its bot's current permissions). Only \
                 permissions the provider's token holds can be granted (error code \
                 `escalation` otherwise).",
            ),
            field(
                "identities",
                Optional,
                map_of_strings(),
                "Service name → the bot's identity in that service (`github = \"ci-bot\"`). \
                 Service names follow the username rule; each identity is 1 to 512 characters \
                 without control characters, and cannot be null (remove the key instead).",
            ),
            created_at_field("bot"),
        ]
    }

    fn apply(s: &mut BotState, b: &RemoteBot) {
        s.id = Value::Value(b.id.to_string());
        s.org = Value::Value(b.org.clone());
        s.username = Value::Value(b.username.clone());
        s.description = opt_string(&s.description, Some(&b.description));
        s.permissions = claims_state(&s.permissions, &b.permissions);
        s.identities = map_state(&s.identities, &b.identities);
        s.created_at = Value::Value(rfc3339(b.created_at));
    }

    fn validate(diags: &mut Diagnostics, c: &BotState) {
        check_username(diags, &c.username);
        check_text(
            diags,
            &c.description,
            "description",
            rules::check_description,
        );
        check_claims(diags, &c.permissions, "permissions", "Invalid permission");
        check_identities(diags, &c.identities);
    }

    fn plan_new(s: &mut BotState, _config: &BotState) {
        s.id = Value::Unknown;
        s.created_at = Value::Unknown;
    }

    async fn fetch(api: &Api, org: &str, key: &String) -> Result<RemoteBot, ClientError> {
        api.client.get_bot(org, key).await
    }

    async fn create(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        planned: BotState,
    ) -> Option<(BotState, ValueEmpty)> {
        let (permissions, identities) = desired(diags, &planned)?;
        let req = CreateBot {
            username: known_string(&planned.username),
            description: planned.description.as_ref_option().cloned(),
            permissions,
            identities,
        };
        let answer = api.client.create_bot(org, &req).await;
        let what = format!("create bot {:?}", req.username);
        let bot = answered(diags, &what, &Self::field_attr, answer)?;
        Some((Self::applied(planned, &bot), Value::Null))
    }

    async fn update(
        shared: &Shared,
        diags: &mut Diagnostics,
        prior: BotState,
        planned: BotState,
        private: ValueEmpty,
    ) -> Option<(BotState, ValueEmpty)> {
        let api = shared.api(diags)?;
        let org = org_of(&planned.org, &api);
        let id = Self::key_to_change(diags, &prior)?;
        let (permissions, identities) = desired(diags, &planned)?;
        let req = UpdateBot {
            username: (planned.username != prior.username).then(|| known_string(&planned.username)),
            description: Some(known_string(&planned.description)),
            permissions: Some(permissions),
            identities: Some(identities),
        };
        let answer = api.client.update_bot(&org, &id, &req).await;
        let bot = answered(
            diags,
            &format!("update bot {id}"),
            &Self::field_attr,
            answer,
        )?;
        Some((Self::applied(planned, &bot), private))
    }

    async fn delete(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        key: &String,
        prior: &BotState,
    ) -> Option<()> {
        let answer = api.client.delete_bot(org, key).await;
        Self::delete_answered(diags, api, org, (key, prior), answer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{errors, set, v};

    fn bot_with_identities(ids: &[(&str, Value<String>)]) -> BotState {
        BotState {
            username: Value::Value("ci".into()),
            identities: Value::Value(
                ids.iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ),
            ..BotState::default()
        }
    }

    fn summaries(c: &BotState) -> Vec<String> {
        errors(|d| Bot::validate(d, c))
            .into_iter()
            .map(|(s, _)| s)
            .collect()
    }

    #[test]
    fn identity_values_are_validated_and_never_null() {
        let ok = bot_with_identities(&[
            ("github", Value::Value("ci-bot".into())),
            ("gitlab", Value::Unknown),
        ]);
        assert!(summaries(&ok).is_empty());
        for bad in [
            Value::Null,
            Value::Value(String::new()),
            Value::Value("a\nb".into()),
            Value::Value("x".repeat(rules::MAX_IDENTITY_CHARS + 1)),
        ] {
            let c = bot_with_identities(&[("github", Value::Value("ci".into())), ("gitlab", bad)]);
            assert_eq!(summaries(&c), vec!["Invalid identity".to_string()]);
        }
        assert!(summaries(&bot_with_identities(&[(
            "github",
            Value::Value("x".repeat(rules::MAX_IDENTITY_CHARS))
        )]))
        .is_empty());
    }

    #[test]
    fn a_null_identity_never_reaches_the_server_as_no_identities() {
        let c = bot_with_identities(&[
            ("github", Value::Value("ci".into())),
            ("gitlab", Value::Null),
        ]);
        let mut diags = Diagnostics::default();
        assert!(desired(&mut diags, &c).is_none());
        assert_eq!(diags.errors.len(), 1);
    }

    #[test]
    fn username_description_and_permissions_are_checked_at_plan() {
        let bot = |username: &str, description: &str, permissions: &[&str]| BotState {
            username: v(username),
            description: v(description),
            permissions: set(permissions),
            ..BotState::default()
        };
        let ok = bot(
            "deploy.bot",
            &"é".repeat(rules::MAX_DESCRIPTION_CHARS),
            &["*:*:*"],
        );
        assert!(summaries(&ok).is_empty());
        let e = errors(|d| {
            Bot::validate(
                d,
                &bot(
                    "Not Valid",
                    &"x".repeat(rules::MAX_DESCRIPTION_CHARS + 1),
                    &["machines:get"],
                ),
            )
        });
        assert_eq!(
            e,
            vec![
                ("Invalid username".into(), AttributePath::new("username")),
                (
                    "Invalid description".into(),
                    AttributePath::new("description")
                ),
                (
                    "Invalid permission".into(),
                    AttributePath::new("permissions")
                ),
            ]
        );
    }
}
