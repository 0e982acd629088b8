//! The provider block: `endpoint`, `token` (sensitive), `org`, each falling
//! back to `SIGIL_ENDPOINT`, `SIGIL_TOKEN`, `SIGIL_ORG`. Configuring checks the
//! token once with `GET /v1/whoami`, so an unreachable server or a refused
//! token is one clear diagnostic instead of one per resource.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::client::{Client, ClientError};
use sigil_proto::SecretString;
use tf_provider::schema::AttributeConstraint::Optional;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, DynamicDataSource, DynamicResource, Provider};

use crate::common::{api_error, no_field, Api, Shared};
use crate::resource::{data_source, field, resource, schema, string, Field};
use crate::validate::check_org;

pub const DEFAULT_ORG: &str = "default";

#[derive(Serialize, Deserialize)]
pub struct ProviderConfig {
    pub endpoint: Value<String>,
    pub token: Value<String>,
    pub org: Value<String>,
}

const DESCRIPTION: &str =
    "Manage Sigil bots, their long-lived scoped tokens, revocations and apps.";

fn fields() -> Vec<Field> {
    vec![
        field(
            "endpoint",
            Optional,
            string(),
            "Base URL of the Sigil server, e.g. `https://sigil.example.com`. Defaults to \
             `SIGIL_ENDPOINT`. Required one way or the other.",
        ),
        field(
            "token",
            Optional,
            string(),
            "Bearer token the provider acts with. Defaults to `SIGIL_TOKEN` (prefer it: keep \
             secrets out of HCL). Required one way or the other.",
        )
        .sensitive(),
        field(
            "org",
            Optional,
            string(),
            "Default org of every resource and data source (each also takes its own `org`). \
             Defaults to `SIGIL_ORG`, then `default`.",
        ),
    ]
}

#[derive(Default)]
pub struct SigilProvider {
    shared: Shared,
}

impl SigilProvider {
    /// A provider whose configuration is also the front's (the ephemeral
    /// resources use the client `ConfigureProvider` made).
    pub fn with_shared(shared: Shared) -> Self {
        SigilProvider { shared }
    }
}

fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[async_trait]
impl Provider for SigilProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(DESCRIPTION, "provider", &fields()))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: ProviderConfig) -> Option<()> {
        if let Value::Value(e) = &config.endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                diags.error(
                    "Invalid endpoint",
                    format!("invalid endpoint {e:?}: expected an http:// or https:// URL"),
                    AttributePath::new("endpoint"),
                );
            }
        }
        check_org(diags, &config.org);
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: ProviderConfig,
    ) -> Option<()> {
        if config.endpoint.is_unknown() || config.token.is_unknown() || config.org.is_unknown() {
            // Known at apply only; resources will report it if they need the server before.
            self.shared.set_deferred();
            return Some(());
        }
        let endpoint = match config
            .endpoint
            .as_option()
            .or_else(|| from_env("SIGIL_ENDPOINT"))
        {
            Some(e) => e,
            None => {
                diags.error(
                    "Missing Sigil endpoint",
                    "Set `endpoint` in the provider block or the SIGIL_ENDPOINT environment variable.",
                    AttributePath::new("endpoint"),
                );
                return Some(());
            }
        };
        let token = match config.token.as_option().or_else(|| from_env("SIGIL_TOKEN")) {
            Some(t) => SecretString::new(t),
            None => {
                diags.error(
                    "Missing Sigil token",
                    "Set `token` in the provider block or the SIGIL_TOKEN environment variable.",
                    AttributePath::new("token"),
                );
                return Some(());
            }
        };
        let org = config
            .org
            .as_option()
            .or_else(|| from_env("SIGIL_ORG"))
            .unwrap_or_else(|| DEFAULT_ORG.to_string());
        if let Err(e) = sigil_proto::names::OrgName::parse(&org) {
            diags.error("Invalid org", e.to_string(), AttributePath::new("org"));
            return Some(());
        }
        let client = match Client::new(&endpoint, Some(token)) {
            Ok(c) => c,
            Err(e) => {
                api_error(diags, "Cannot configure the Sigil provider", &e, &no_field);
                return Some(());
            }
        };
        match client.whoami().await {
            Ok(me) => {
                if let Some(app) = &me.app {
                    diags.root_warning(
                        format!("The provider's token is scoped to app {app:?}"),
                        "It sees only that app's tokens: other apps' tokens and org-scoped tokens \
                         answer 404, as do other apps. Such a 404 cannot tell a deleted object \
                         from one out of reach, so refresh reports it as an error instead of \
                         removing anything from the state. Use an org-scoped token to manage \
                         tokens of several apps.",
                    );
                }
                self.shared.set_ready(Api {
                    client,
                    org,
                    app: me.app,
                    grace: Default::default(),
                })
            }
            Err(e @ ClientError::Api { .. }) if e.status() == Some(401) => api_error(
                diags,
                "The Sigil server refused the provider's token",
                &e,
                &no_field,
            ),
            Err(e) => api_error(diags, "Cannot configure the Sigil provider", &e, &no_field),
        }
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        let s = &self.shared;
        Some(HashMap::from([
            resource::<crate::app::App>(s),
            resource::<crate::bot::Bot>(s),
            resource::<crate::token::Token>(s),
            resource::<crate::token_revocation::Revocation>(s),
            resource::<crate::webhook::Webhook>(s),
        ]))
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        let s = &self.shared;
        Some(HashMap::from([
            data_source::<crate::data_app::AppLookup>(s),
            data_source::<crate::data_bot::BotLookup>(s),
            data_source::<crate::data_bots::BotsLookup>(s),
            data_source::<crate::data_tokens::TokensLookup>(s),
        ]))
    }
}
