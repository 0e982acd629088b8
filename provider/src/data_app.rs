//! Data source `sigil_app`: one app, by `name` or `id`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::client::ClientError;
use tf_provider::value::Value;
use tf_provider::Diagnostics;

use crate::common::*;
use crate::resource::*;
use crate::validate::{check_app_name, check_one_of};

#[derive(Serialize, Deserialize)]
pub struct AppData {
    pub id: Value<String>,
    pub org: Value<String>,
    pub name: Value<String>,
    pub created_at: Value<String>,
}

pub struct AppLookup;

state!(AppData);

#[async_trait]
impl Lookup for AppLookup {
    type State = AppData;

    const NAME: &'static str = "app";
    const DESCRIPTION: &'static str = "Looks up an app by `name` or `id`.";

    fn fields() -> Vec<Field> {
        let [id, name] = id_or_name_fields("app", "name");
        vec![
            id,
            name,
            lookup_org_field("look in"),
            created_at_field("app"),
        ]
    }

    fn validate(diags: &mut Diagnostics, c: &AppData) {
        check_one_of(diags, &c.id, &c.name, "name");
        check_app_name(diags, &c.name);
    }

    fn what(c: &AppData, org: &str) -> String {
        format!("read app {:?} in org {org:?}", id_or_name(&c.id, &c.name))
    }

    async fn lookup(api: &Api, org: String, c: AppData) -> Result<AppData, ClientError> {
        let key = id_or_name(&c.id, &c.name);
        let a = api.client.get_app(&org, &key).await?;
        Ok(AppData {
            id: Value::Value(a.id.to_string()),
            org: Value::Value(a.org),
            name: Value::Value(a.name),
            created_at: Value::Value(rfc3339(a.created_at)),
        })
    }
}
