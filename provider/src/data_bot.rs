//! Data source `sigil_bot`: one bot, by `username` or `id`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::names::Username;
use tf_provider::schema::{AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, DataSource, Diagnostics};

use crate::common::*;

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

pub struct BotDataSource(pub Shared);

#[async_trait]
impl DataSource for BotDataSource {
    type State<'a> = BotData;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::*;
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::markdown("Looks up a bot by `username` or `id`."),
                attributes: map! {
                    "id" => string(OptionalComputed, "The bot's id. Give `id` or `username`."),
                    "username" => string(OptionalComputed, "The bot's username. Give `id` or `username`."),
                    "org" => string(OptionalComputed, "Org to look in; defaults to the provider's."),
                    "description" => string(Computed, "The bot's description."),
                    "permissions" => string_set(Computed, "The bot's permissions (claims)."),
                    "identities" => string_map(Computed, "Service name → the bot's identity there."),
                    "token_count" => attr(AttributeType::Number, Computed, false, "How many live tokens the bot holds."),
                    "created_at" => string(Computed, "When the bot was created (RFC 3339)."),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, c: BotData) -> Option<()> {
        check_org(diags, &c.org);
        if c.id.is_null() && c.username.is_null() {
            diags.error_short("Give `id` or `username`", AttributePath::new("username"));
        }
        if c.id.is_value() && c.username.is_value() {
            diags.error_short(
                "Give `id` or `username`, not both",
                AttributePath::new("username"),
            );
        }
        check_uuid(diags, &c.id, "id", "or use `username`");
        if let Value::Value(u) = &c.username {
            if let Err(e) = Username::parse(u) {
                diags.error(
                    "Invalid username",
                    e.to_string(),
                    AttributePath::new("username"),
                );
            }
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        c: BotData,
        _meta: ValueEmpty,
    ) -> Option<BotData> {
        let api = self.0.api(diags)?;
        let org = org_of(&c.org, &api);
        let key =
            c.id.as_option()
                .or(c.username.as_option())
                .unwrap_or_default();
        match api.client.get_bot(&org, &key).await {
            Ok(b) => Some(BotData {
                id: Value::Value(b.id.to_string()),
                org: Value::Value(b.org),
                username: Value::Value(b.username),
                description: Value::Value(b.description),
                permissions: to_set(&b.permissions),
                identities: to_map(&b.identities),
                token_count: Value::Value(b.token_count),
                created_at: Value::Value(rfc3339(b.created_at)),
            }),
            Err(e) => {
                api_error(
                    diags,
                    &format!("Cannot read bot {key:?} in org {org:?}"),
                    &e,
                    &no_field,
                );
                None
            }
        }
    }
}
