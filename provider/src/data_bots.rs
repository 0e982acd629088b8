//! Data source `sigil_bots`: every bot of an org.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, DataSource, Diagnostics};

use crate::common::*;

#[derive(Serialize, Deserialize)]
pub struct BotItem {
    pub id: String,
    pub username: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub identities: BTreeMap<String, String>,
    pub token_count: i64,
    pub created_at: String,
}

#[derive(Serialize, Deserialize)]
pub struct BotsData {
    pub org: Value<String>,
    pub bots: Value<Vec<BotItem>>,
}

pub struct BotsDataSource(pub Shared);

#[async_trait]
impl DataSource for BotsDataSource {
    type State<'a> = BotsData;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::*;
        let item = object(&[
            ("id", AttributeType::String),
            ("username", AttributeType::String),
            ("description", AttributeType::String),
            ("permissions", list_of_strings()),
            ("identities", map_of_strings()),
            ("token_count", AttributeType::Number),
            ("created_at", AttributeType::String),
        ]);
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::markdown("Lists every bot of an org."),
                attributes: map! {
                    "org" => string(OptionalComputed, "Org to list; defaults to the provider's."),
                    "bots" => attr(AttributeType::List(Box::new(item)), Computed, false, "The bots, each with `id`, `username`, `description`, `permissions`, `identities`, `token_count` (live tokens) and `created_at`."),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, c: BotsData) -> Option<()> {
        check_org(diags, &c.org);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        c: BotsData,
        _meta: ValueEmpty,
    ) -> Option<BotsData> {
        let api = self.0.api(diags)?;
        let org = org_of(&c.org, &api);
        match api.client.list_all_bots(&org).await {
            Ok(bots) => Some(BotsData {
                org: Value::Value(org),
                bots: Value::Value(
                    bots.into_iter()
                        .map(|b| BotItem {
                            id: b.id.to_string(),
                            username: b.username,
                            description: b.description,
                            permissions: b.permissions,
                            identities: b.identities,
                            token_count: b.token_count,
                            created_at: rfc3339(b.created_at),
                        })
                        .collect(),
                ),
            }),
            Err(e) => {
                api_error(
                    diags,
                    &format!("Cannot list the bots of org {org:?}"),
                    &e,
                    &no_field,
                );
                None
            }
        }
    }
}
