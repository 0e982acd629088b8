//! `sigil_app`: a named app (a deployable, an environment) tokens can be scoped to.
//! Apps have nothing to update: `name` and `org` force a new app.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::{App, CreateApp};
use sigil_proto::names::AppName;
use tf_provider::schema::{AttributeConstraint, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::common::*;

#[derive(Clone, Serialize, Deserialize)]
pub struct AppState {
    pub id: Value<String>,
    pub org: Value<String>,
    pub name: Value<String>,
    pub created_at: Value<String>,
}

pub struct AppResource(pub Shared);

fn field_attr(field: &str) -> Option<&'static str> {
    (field == "name").then_some("name")
}

fn apply_app(s: &mut AppState, a: &App) {
    s.id = Value::Value(a.id.to_string());
    s.org = Value::Value(a.org.clone());
    s.name = Value::Value(a.name.clone());
    s.created_at = Value::Value(rfc3339(a.created_at));
}

pub fn check_app_name(diags: &mut Diagnostics, v: &Value<String>) {
    if let Value::Value(n) = v {
        if let Err(e) = AppName::parse(n) {
            diags.error("Invalid name", e.to_string(), AttributePath::new("name"));
        }
    }
}

impl AppResource {
    /// The plan of a new object, for a create and for a replacement alike.
    fn plan_new(&self, s: &mut AppState, config: &AppState) {
        s.id = Value::Unknown;
        s.created_at = Value::Unknown;
        if config.org.is_null() {
            s.org = self.0.default_org();
        }
    }
}

#[async_trait]
impl Resource for AppResource {
    type State<'a> = AppState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::*;
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::markdown(
                    "An app of an org: tokens can be scoped to it instead of the whole org.",
                ),
                attributes: map! {
                    "id" => string(Computed, "The app's id."),
                    "org" => string(OptionalComputed, "Org of the app; defaults to the provider's. Forces a new app."),
                    "name" => string(Required, "Name, unique in its org. Forces a new app."),
                    "created_at" => string(Computed, "When the app was created (RFC 3339)."),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, c: AppState) -> Option<()> {
        check_org(diags, &c.org);
        check_app_name(diags, &c.name);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        mut state: AppState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(AppState, ValueEmpty)> {
        let Value::Value(id) = state.id.clone() else {
            return Some((state, private));
        };
        let Some(api) = self.0.api(diags) else {
            return Some((state, private));
        };
        let org = org_of(&state.org, &api);
        let answer = api.client.get_app(&org, &id).await;
        let what = format!("app {id}");
        match refresh(
            diags,
            &api,
            &org,
            &what,
            true,
            answer,
            "It was deleted outside Terraform; the next apply creates it again.",
        )
        .await
        {
            Refreshed::Found(x) => {
                apply_app(&mut state, &x);
                Some((state, private))
            }
            Refreshed::Gone => None,
            Refreshed::Kept => Some((state, private)),
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: AppState,
        config: AppState,
        _meta: ValueEmpty,
    ) -> Option<(AppState, ValueEmpty)> {
        let mut s = proposed;
        self.plan_new(&mut s, &config);
        Some((s, Value::Null))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: AppState,
        proposed: AppState,
        config: AppState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(AppState, ValueEmpty, Vec<AttributePath>)> {
        let mut s = proposed;
        let mut replace = Vec::new();
        if s.org != prior.org {
            replace.push(AttributePath::new("org"));
        }
        if s.name != prior.name {
            replace.push(AttributePath::new("name"));
        }
        if !replace.is_empty() {
            self.plan_new(&mut s, &config);
        }
        Some((s, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: AppState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: AppState,
        _config: AppState,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(AppState, ValueEmpty)> {
        let api = self.0.api(diags)?;
        let org = org_of(&planned.org, &api);
        let req = CreateApp {
            name: planned.name.as_ref_option().cloned().unwrap_or_default(),
        };
        match api.client.create_app(&org, &req).await {
            Ok(a) => {
                let mut s = planned;
                apply_app(&mut s, &a);
                Some((s, Value::Null))
            }
            Err(e) => {
                api_error(
                    diags,
                    &format!("Cannot create app {:?}", req.name),
                    &e,
                    &field_attr,
                );
                None
            }
        }
    }

    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: AppState,
        planned: AppState,
        _config: AppState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(AppState, ValueEmpty)> {
        // Every argument forces a new app: nothing reaches here but state moves.
        Some((planned, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: AppState,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let api = self.0.api(diags)?;
        let org = org_of(&prior.org, &api);
        let Value::Value(id) = prior.id else {
            return Some(());
        };
        let answer = api.client.delete_app(&org, &id).await;
        deleted(diags, &api, &org, &format!("app {id}"), true, answer).await
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(AppState, ValueEmpty)> {
        let api = self.0.api(diags)?;
        let (org, app) = split_import_id(&id, &api);
        match api.client.get_app(&org, &app).await {
            Ok(a) => {
                let mut s = AppState {
                    id: Value::Null,
                    org: Value::Null,
                    name: Value::Null,
                    created_at: Value::Null,
                };
                apply_app(&mut s, &a);
                Some((s, Value::Null))
            }
            Err(e) => {
                api_error(
                    diags,
                    &format!("Cannot import app {id:?} (expected an id, a name or org/name)"),
                    &e,
                    &no_field,
                );
                None
            }
        }
    }
}
