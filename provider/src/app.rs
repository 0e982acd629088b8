//! `sigil_app`: a named app (a deployable, an environment) tokens can be scoped to.
//! Apps have nothing to update: `name` and `org` force a new app.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::{App as RemoteApp, CreateApp};
use sigil_proto::client::ClientError;
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::Diagnostics;

use crate::common::*;
use crate::resource::*;
use crate::validate::check_app_name;

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct AppState {
    pub id: Value<String>,
    pub org: Value<String>,
    pub name: Value<String>,
    pub created_at: Value<String>,
}

pub struct App;

state!(AppState; key = id);

#[async_trait]
impl Object for App {
    type State = AppState;
    type Private = ValueEmpty;
    type Remote = RemoteApp;
    type Key = String;

    const NAME: &'static str = "app";
    const NOUN: &'static str = "app";
    const DESCRIPTION: &'static str =
        "An app of an org: tokens can be scoped to it instead of the whole org.";
    const IMPORT_ID: &'static str = "an id, a name (in the provider's org) or org/name";
    const GONE: Option<&'static str> =
        Some("It was deleted outside Terraform; the next apply creates it again.");

    fn fields() -> Vec<Field> {
        vec![
            field("id", Computed, string(), "The app's id."),
            org_field("app"),
            field(
                "name",
                Required,
                string(),
                "Name, unique in its org (`[a-z0-9][a-z0-9-]{0,62}`, not a UUID).",
            )
            .forces_new(),
            created_at_field("app"),
        ]
    }

    fn apply(s: &mut AppState, a: &RemoteApp) {
        s.id = Value::Value(a.id.to_string());
        s.org = Value::Value(a.org.clone());
        s.name = Value::Value(a.name.clone());
        s.created_at = Value::Value(rfc3339(a.created_at));
    }

    fn validate(diags: &mut Diagnostics, c: &AppState) {
        check_app_name(diags, &c.name);
    }

    fn plan_new(s: &mut AppState, _config: &AppState) {
        s.id = Value::Unknown;
        s.created_at = Value::Unknown;
    }

    async fn fetch(api: &Api, org: &str, key: &String) -> Result<RemoteApp, ClientError> {
        api.client.get_app(org, key).await
    }

    /// An app-scoped provider token sees only its own app.
    async fn blind(api: &Api, _org: &str, _s: &AppState) -> bool {
        api.app.is_some()
    }

    async fn create(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        planned: AppState,
    ) -> Option<(AppState, ValueEmpty)> {
        let req = CreateApp {
            name: planned.name.as_ref_option().cloned().unwrap_or_default(),
        };
        let answer = api.client.create_app(org, &req).await;
        let what = format!("create app {:?}", req.name);
        let app = answered(diags, &what, &Self::field_attr, answer)?;
        Some((Self::applied(planned, &app), Value::Null))
    }

    async fn delete(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        key: &String,
        prior: &AppState,
    ) -> Option<()> {
        let answer = api.client.delete_app(org, key).await;
        Self::delete_answered(diags, api, org, (key, prior), answer).await
    }
}
