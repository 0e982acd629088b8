//! Data source `sigil_app`: one app, by `name` or `id`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeConstraint, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, DataSource, Diagnostics};

use crate::common::*;

#[derive(Serialize, Deserialize)]
pub struct AppData {
    pub id: Value<String>,
    pub org: Value<String>,
    pub name: Value<String>,
    pub created_at: Value<String>,
}

pub struct AppDataSource(pub Shared);

#[async_trait]
impl DataSource for AppDataSource {
    type State<'a> = AppData;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::*;
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::markdown("Looks up an app by `name` or `id`."),
                attributes: map! {
                    "id" => string(OptionalComputed, "The app's id. Give `id` or `name`."),
                    "name" => string(OptionalComputed, "The app's name. Give `id` or `name`."),
                    "org" => string(OptionalComputed, "Org to look in; defaults to the provider's."),
                    "created_at" => string(Computed, "When the app was created (RFC 3339)."),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, c: AppData) -> Option<()> {
        check_org(diags, &c.org);
        if c.id.is_null() && c.name.is_null() {
            diags.error_short("Give `id` or `name`", AttributePath::new("name"));
        }
        if c.id.is_value() && c.name.is_value() {
            diags.error_short("Give `id` or `name`, not both", AttributePath::new("name"));
        }
        check_uuid(diags, &c.id, "id", "or use `name`");
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        c: AppData,
        _meta: ValueEmpty,
    ) -> Option<AppData> {
        let api = self.0.api(diags)?;
        let org = org_of(&c.org, &api);
        let key = c.id.as_option().or(c.name.as_option()).unwrap_or_default();
        match api.client.get_app(&org, &key).await {
            Ok(a) => Some(AppData {
                id: Value::Value(a.id.to_string()),
                org: Value::Value(a.org),
                name: Value::Value(a.name),
                created_at: Value::Value(rfc3339(a.created_at)),
            }),
            Err(e) => {
                api_error(
                    diags,
                    &format!("Cannot read app {key:?} in org {org:?}"),
                    &e,
                    &no_field,
                );
                None
            }
        }
    }
}
