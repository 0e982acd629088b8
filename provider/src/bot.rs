//! `sigil_bot`: a non-human user with permissions and identities.
//!
//! Everything but `org` changes in place (`PATCH` sends the whole desired bot).
//! `permissions` is a set, and an equivalent answer from the server keeps the
//! configuration's spelling, so there is no perpetual diff. Deleting a bot
//! revokes all of its tokens (the server does it in one transaction).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::{Bot, CreateBot, UpdateBot};
use sigil_proto::names::{ServiceName, Username};
use tf_provider::schema::{AttributeConstraint, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::common::*;

#[derive(Clone, Serialize, Deserialize)]
pub struct BotState {
    pub id: Value<String>,
    pub org: Value<String>,
    pub username: Value<String>,
    pub description: Value<String>,
    pub permissions: StringSet,
    pub identities: StringMap,
    pub created_at: Value<String>,
}

pub struct BotResource(pub Shared);

fn field_attr(field: &str) -> Option<&'static str> {
    Some(match field {
        "username" => "username",
        "description" => "description",
        "permissions" => "permissions",
        "identities" => "identities",
        _ => return None,
    })
}

fn apply_bot(s: &mut BotState, b: &Bot) {
    s.id = Value::Value(b.id.to_string());
    s.org = Value::Value(b.org.clone());
    s.username = Value::Value(b.username.clone());
    s.description = opt_string(&s.description, Some(&b.description));
    s.permissions = claims_state(&s.permissions, &b.permissions);
    s.identities =
        if b.identities.is_empty() && !matches!(&s.identities, Value::Value(m) if m.is_empty()) {
            Value::Null
        } else {
            to_map(&b.identities)
        };
    s.created_at = Value::Value(rfc3339(b.created_at));
}

/// Validates the attributes `sigil_bot` shares with nothing else.
pub fn validate_bot(diags: &mut Diagnostics, c: &BotState) {
    check_org(diags, &c.org);
    if let Value::Value(u) = &c.username {
        if let Err(e) = Username::parse(u) {
            diags.error(
                "Invalid username",
                e.to_string(),
                AttributePath::new("username"),
            );
        }
    }
    if let Value::Value(set) = &c.permissions {
        for claim in set.iter().filter_map(|v| v.as_ref_option()) {
            if let Err(err) = sigil_proto::Claim::parse(claim) {
                diags.error(
                    "Invalid permission",
                    format!("permissions: {err}"),
                    AttributePath::new("permissions"),
                );
            }
        }
    }
    if let Value::Value(set) = &c.permissions {
        if set.iter().any(Value::is_null) {
            diags.error(
                "Invalid permission",
                "permissions: a permission cannot be null",
                AttributePath::new("permissions"),
            );
        }
    }
    if let Value::Value(m) = &c.identities {
        for (service, id) in m {
            let at = || AttributePath::new("identities").key(service.clone());
            if let Err(e) = ServiceName::parse(service) {
                diags.error("Invalid identity service", format!("identities: {e}"), at());
            }
            match id {
                Value::Null => diags.error(
                    "Invalid identity",
                    format!(
                        "identities: the identity in {service:?} is null; remove the key to \
                         remove the identity"
                    ),
                    at(),
                ),
                Value::Value(id) => {
                    if let Err(e) = check_identity(id) {
                        diags.error(
                            "Invalid identity",
                            format!("identities: {service:?}: {e}"),
                            at(),
                        );
                    }
                }
                Value::Unknown => {}
            }
        }
    }
}

/// Longest identity the server accepts (bytes).
pub const MAX_IDENTITY: usize = 512;

/// The server's rule for an identity: 1 to 512 characters, no control characters.
pub fn check_identity(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_IDENTITY || id.chars().any(char::is_control) {
        return Err(format!(
            "an identity must be 1 to {MAX_IDENTITY} characters without control characters"
        ));
    }
    Ok(())
}

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

impl BotResource {
    /// The plan of a new object, for a create and for a replacement alike.
    fn plan_new(&self, s: &mut BotState, config: &BotState) {
        s.id = Value::Unknown;
        s.created_at = Value::Unknown;
        if config.org.is_null() {
            s.org = self.0.default_org();
        }
    }
}

#[async_trait]
impl Resource for BotResource {
    type State<'a> = BotState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::*;
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::markdown(
                    "A bot: a non-human user that holds permissions and long-lived tokens.",
                ),
                attributes: map! {
                    "id" => string(Computed, "The bot's id."),
                    "org" => string(OptionalComputed, "Org of the bot; defaults to the provider's. Forces a new bot."),
                    "username" => string(Required, "Username, unique in its org (`[a-z0-9][a-z0-9._-]{0,62}`). Renamed in place."),
                    "description" => string(Optional, "Free text."),
                    "permissions" => string_set(Optional, "Claims (`scope:action:specific`) the bot holds; its tokens hold a subset. Shrinking them shrinks its tokens at once."),
                    "identities" => string_map(Optional, "Service name → the bot's identity in that service (`github = \"ci-bot\"`)."),
                    "created_at" => string(Computed, "When the bot was created (RFC 3339)."),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, c: BotState) -> Option<()> {
        validate_bot(diags, &c);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        mut state: BotState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(BotState, ValueEmpty)> {
        let Value::Value(id) = state.id.clone() else {
            return Some((state, private));
        };
        let Some(api) = self.0.api(diags) else {
            return Some((state, private));
        };
        let org = org_of(&state.org, &api);
        let answer = api.client.get_bot(&org, &id).await;
        let what = format!("bot {id}");
        match refresh(diags, &api, &org, &what, false, answer, "It was deleted outside Terraform (with all its tokens); the next apply creates it again.").await {
            Refreshed::Found(x) => {
                apply_bot(&mut state, &x);
                Some((state, private))
            }
            Refreshed::Gone => None,
            Refreshed::Kept => Some((state, private)),
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: BotState,
        config: BotState,
        _meta: ValueEmpty,
    ) -> Option<(BotState, ValueEmpty)> {
        let mut s = proposed;
        self.plan_new(&mut s, &config);
        Some((s, Value::Null))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: BotState,
        proposed: BotState,
        config: BotState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(BotState, ValueEmpty, Vec<AttributePath>)> {
        let mut s = proposed;
        if s.org != prior.org {
            self.plan_new(&mut s, &config);
            return Some((s, private, vec![AttributePath::new("org")]));
        }
        Some((s, private, Vec::new()))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: BotState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: BotState,
        _config: BotState,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(BotState, ValueEmpty)> {
        let api = self.0.api(diags)?;
        let org = org_of(&planned.org, &api);
        let (permissions, identities) = desired(diags, &planned)?;
        let req = CreateBot {
            username: planned
                .username
                .as_ref_option()
                .cloned()
                .unwrap_or_default(),
            description: planned.description.as_ref_option().cloned(),
            permissions,
            identities,
        };
        match api.client.create_bot(&org, &req).await {
            Ok(b) => {
                let mut s = planned;
                apply_bot(&mut s, &b);
                Some((s, Value::Null))
            }
            Err(e) => {
                api_error(
                    diags,
                    &format!("Cannot create bot {:?}", req.username),
                    &e,
                    &field_attr,
                );
                None
            }
        }
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: BotState,
        planned: BotState,
        _config: BotState,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(BotState, ValueEmpty)> {
        let api = self.0.api(diags)?;
        let org = org_of(&planned.org, &api);
        let Value::Value(id) = prior.id.clone() else {
            diags.root_error_short("The bot's id is not known");
            return None;
        };
        let (permissions, identities) = desired(diags, &planned)?;
        let req = UpdateBot {
            username: (planned.username != prior.username).then(|| {
                planned
                    .username
                    .as_ref_option()
                    .cloned()
                    .unwrap_or_default()
            }),
            description: Some(
                planned
                    .description
                    .as_ref_option()
                    .cloned()
                    .unwrap_or_default(),
            ),
            permissions: Some(permissions),
            identities: Some(identities),
        };
        match api.client.update_bot(&org, &id, &req).await {
            Ok(b) => {
                let mut s = planned;
                apply_bot(&mut s, &b);
                Some((s, private))
            }
            Err(e) => {
                api_error(diags, &format!("Cannot update bot {id}"), &e, &field_attr);
                None
            }
        }
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: BotState,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let api = self.0.api(diags)?;
        let org = org_of(&prior.org, &api);
        let Value::Value(id) = prior.id else {
            return Some(());
        };
        let answer = api.client.delete_bot(&org, &id).await;
        deleted(diags, &api, &org, &format!("bot {id}"), false, answer).await
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(BotState, ValueEmpty)> {
        let api = self.0.api(diags)?;
        let (org, bot) = split_import_id(&id, &api);
        match api.client.get_bot(&org, &bot).await {
            Ok(b) => {
                let mut s = BotState {
                    id: Value::Null,
                    org: Value::Null,
                    username: Value::Null,
                    description: Value::Null,
                    permissions: Value::Null,
                    identities: Value::Null,
                    created_at: Value::Null,
                };
                apply_bot(&mut s, &b);
                Some((s, Value::Null))
            }
            Err(e) => {
                api_error(
                    diags,
                    &format!(
                        "Cannot import bot {id:?} (expected org/username, a username or an id)"
                    ),
                    &e,
                    &no_field,
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot_with_identities(ids: &[(&str, Value<String>)]) -> BotState {
        BotState {
            id: Value::Null,
            org: Value::Null,
            username: Value::Value("ci".into()),
            description: Value::Null,
            permissions: Value::Null,
            identities: Value::Value(
                ids.iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ),
            created_at: Value::Null,
        }
    }

    fn errors(c: &BotState) -> Vec<String> {
        let mut diags = Diagnostics::default();
        validate_bot(&mut diags, c);
        diags.errors.iter().map(|d| d.summary.to_string()).collect()
    }

    #[test]
    fn identity_values_are_validated_and_never_null() {
        let ok = bot_with_identities(&[
            ("github", Value::Value("ci-bot".into())),
            ("gitlab", Value::Unknown),
        ]);
        assert!(errors(&ok).is_empty());
        for bad in [
            Value::Null,
            Value::Value(String::new()),
            Value::Value("a\nb".into()),
            Value::Value("x".repeat(MAX_IDENTITY + 1)),
        ] {
            let c = bot_with_identities(&[("github", Value::Value("ci".into())), ("gitlab", bad)]);
            assert_eq!(errors(&c), vec!["Invalid identity".to_string()]);
        }
        assert!(errors(&bot_with_identities(&[(
            "github",
            Value::Value("x".repeat(MAX_IDENTITY))
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
}
