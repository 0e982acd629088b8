//! Data source `sigil_bot`: one bot, by `username` or `id`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::client::ClientError;
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::schema::AttributeType;
use tf_provider::value::Value;
use tf_provider::Diagnostics;

use crate::common::*;
use crate::resource::*;
use crate::validate::{check_one_of, check_username};

#[derive(Serialize, Deserialize)]
pub struct BotData {
    pub id: Value<String>,
    pub org: Value<String>,
    pub username: Value<String>,
    pub description: Value<String>,
    pub permissions: StringSet,
    pub identities: StringMap,
    pub token_count: Value<i64>,
    pub created_at: Value<String>,
}

pub struct BotLookup;

state!(BotData);

#[async_trait]
impl Lookup for BotLookup {
    type State = BotData;

    const NAME: &'static str = "bot";
    const DESCRIPTION: &'static str = "Looks up a bot by `username` or `id`.";

    fn fields() -> Vec<Field> {
        let [id, username] = id_or_name_fields("bot", "username");
        vec![
            id,
            username,
            lookup_org_field("look in"),
            field("description", Computed, string(), "The bot's description."),
            field(
                "permissions",
                Computed,
                set_of_strings(),
                "The bot's permissions (claims).",
            ),
            field(
                "identities",
                Computed,
                map_of_strings(),
                "Service name → the bot's identity there.",
            ),
            field(
                "token_count",
                Computed,
                AttributeType::Number,
                "How many live tokens the bot holds.",
            ),
            created_at_field("bot"),
        ]
    }

    fn validate(diags: &mut Diagnostics, c: &BotData) {
        check_one_of(diags, &c.id, &c.username, "username");
        check_username(diags, &c.username);
    }

    fn what(c: &BotData, org: &str) -> String {
        format!(
            "read bot {:?} in org {org:?}",
            id_or_name(&c.id, &c.username)
        )
    }

    async fn lookup(api: &Api, org: String, c: BotData) -> Result<BotData, ClientError> {
        let key =
            c.id.as_option()
                .or(c.username.as_option())
                .unwrap_or_default();
        let b = api.client.get_bot(&org, &key).await?;
        Ok(BotData {
            id: Value::Value(b.id.to_string()),
            org: Value::Value(b.org),
            username: Value::Value(b.username),
            description: Value::Value(b.description),
            permissions: to_set(&b.permissions),
            identities: to_map(&b.identities),
            token_count: Value::Value(b.token_count),
            created_at: Value::Value(rfc3339(b.created_at)),
        })
    }
}
