//! Data source `sigil_bots`: every bot of an org.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::client::ClientError;
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::schema::AttributeType;
use tf_provider::value::Value;
use tf_provider::Diagnostics;

use crate::common::*;
use crate::resource::*;

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

pub struct BotsLookup;

state!(BotsData);

#[async_trait]
impl Lookup for BotsLookup {
    type State = BotsData;

    const NAME: &'static str = "bots";
    const DESCRIPTION: &'static str = "Lists every bot of an org (following the API's pagination).";

    fn fields() -> Vec<Field> {
        let item = list_of_objects(&[
            ("id", string()),
            ("username", string()),
            ("description", string()),
            ("permissions", list_of_strings()),
            ("identities", map_of_strings()),
            ("token_count", AttributeType::Number),
            ("created_at", string()),
        ]);
        vec![
            lookup_org_field("list"),
            field(
                "bots",
                Computed,
                item,
                "The bots, each with its `id`, `username`, `description`, `permissions` \
                 (claims), `identities` (service name → identity), `token_count` (live tokens) \
                 and `created_at` (RFC 3339).",
            ),
        ]
    }

    fn validate(_diags: &mut Diagnostics, _c: &BotsData) {}

    fn what(_c: &BotsData, org: &str) -> String {
        format!("list the bots of org {org:?}")
    }

    async fn lookup(api: &Api, org: String, _c: BotsData) -> Result<BotsData, ClientError> {
        let bots = api.client.list_all_bots(&org).await?;
        let bots = bots
            .into_iter()
            .map(|b| BotItem {
                id: b.id.to_string(),
                username: b.username,
                description: b.description,
                permissions: b.permissions,
                identities: b.identities,
                token_count: b.token_count,
                created_at: rfc3339(b.created_at),
            })
            .collect();
        Ok(BotsData {
            org: Value::Value(org),
            bots: Value::Value(bots),
        })
    }
}
