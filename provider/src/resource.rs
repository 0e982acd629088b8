//! The plumbing every resource and data source shares, written once.
//!
//! A resource describes itself as an [`Object`]: its attributes as a table of
//! [`Field`]s, how to fetch, create and delete it, how the server's answer
//! fills the state. [`Managed`] turns any [`Object`] into a tf-provider
//! [`Resource`], so the protocol's steps exist once for all of them:
//!
//! - **schema**: built from the field table, which also says which attributes
//!   force a new object. The plan's replacements and the docs' "Forces a new …"
//!   come from that one table, so they cannot disagree.
//! - **validate**: `org`, then the object's own rules ([`crate::validate`]).
//! - **read**: fetch, then sort the answer with [`refresh`] (found / definitely
//!   gone / error that keeps the state). An object the server still shows
//!   stays, whatever its status: a dead token (revoked, expired, exhausted)
//!   is replaced by its plan, which says why.
//! - **plan**: a new object (create or replacement) marks what the server
//!   computes as unknown and defaults `org` to the provider's; a replacement
//!   is planned for every changed forces-new attribute.
//! - **import**: `org/rest` or `rest`, parsed into the object's key.
//! - **destroy**: the object's delete, where a 404 counts as done only when
//!   confirmed ([`crate::common::deleted`]).
//!
//! Data sources do the same with [`Lookup`] and [`Looked`].

use std::fmt::Display;
use std::marker::PhantomData;
use std::str::FromStr;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sigil_proto::client::ClientError;
use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, Schema,
};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{
    AttributePath, DataSource, Diagnostics, DynamicDataSource, DynamicResource, Resource,
};

use crate::common::{api_error, deleted, no_field, org_of, refresh, Api, Refreshed, Shared};
use crate::validate::check_org;

/// One attribute: its schema and its documentation, in one row.
#[derive(Clone)]
pub struct Field {
    pub name: &'static str,
    pub constraint: AttributeConstraint,
    pub ty: AttributeType,
    pub doc: String,
    pub sensitive: bool,
    pub forces_new: bool,
}

/// A row of a field table: `field("id", Computed, string(), "The app's id.")`.
pub fn field(
    name: &'static str,
    constraint: AttributeConstraint,
    ty: AttributeType,
    doc: impl Into<String>,
) -> Field {
    Field {
        name,
        constraint,
        ty,
        doc: doc.into(),
        sensitive: false,
        forces_new: false,
    }
}

impl Field {
    /// Terraform hides the value in plans and output.
    pub fn sensitive(self) -> Self {
        Field {
            sensitive: true,
            ..self
        }
    }

    /// Changing the attribute replaces the object.
    pub fn forces_new(self) -> Self {
        Field {
            forces_new: true,
            ..self
        }
    }
}

/// A resource's `org`: optional, the provider's by default, forces a new object.
pub fn org_field(of_what: &str) -> Field {
    let doc = format!("Org of the {of_what}; defaults to the provider's.");
    field("org", AttributeConstraint::OptionalComputed, string(), doc).forces_new()
}

/// `created_at` of an object that the server creates (RFC 3339).
pub fn created_at_field(noun: &str) -> Field {
    let doc = format!("When the {noun} was created (RFC 3339).");
    field("created_at", AttributeConstraint::Computed, string(), doc)
}

/// A data source's `org` ("Org to `look in`; …").
pub fn lookup_org_field(to: &str) -> Field {
    let doc = format!("Org to {to}; defaults to the provider's.");
    field("org", AttributeConstraint::OptionalComputed, string(), doc)
}

/// The `id` and `<name_attr>` of a data source that looks up one `noun` by either.
pub fn id_or_name_fields(noun: &str, name_attr: &'static str) -> [Field; 2] {
    let give = format!("Give `id` or `{name_attr}`.");
    let c = AttributeConstraint::OptionalComputed;
    [
        field(
            "id",
            c.clone(),
            string(),
            format!("The {noun}'s id. {give}"),
        ),
        field(
            name_attr,
            c,
            string(),
            format!("The {noun}'s {name_attr}. {give}"),
        ),
    ]
}

pub fn string() -> AttributeType {
    AttributeType::String
}

pub fn set_of_strings() -> AttributeType {
    AttributeType::Set(Box::new(AttributeType::String))
}

pub fn list_of_strings() -> AttributeType {
    AttributeType::List(Box::new(AttributeType::String))
}

pub fn map_of_strings() -> AttributeType {
    AttributeType::Map(Box::new(AttributeType::String))
}

/// A list of objects with these fields (the items of a data source's list).
pub fn list_of_objects(fields: &[(&str, AttributeType)]) -> AttributeType {
    AttributeType::List(Box::new(AttributeType::Object(
        fields
            .iter()
            .map(|(k, t)| (k.to_string(), t.clone()))
            .collect(),
    )))
}

/// The schema of a block described by `description` with these fields. A
/// forces-new attribute's description says so, naming what it replaces (`noun`).
pub fn schema(description: &str, noun: &str, fields: &[Field]) -> Schema {
    Schema {
        version: 1,
        block: Block {
            version: 1,
            description: Description::markdown(description),
            attributes: fields
                .iter()
                .map(|f| {
                    let doc = if f.forces_new {
                        format!("{} Forces a new {noun}.", f.doc)
                    } else {
                        f.doc.clone()
                    };
                    let attr = Attribute {
                        attr_type: f.ty.clone(),
                        description: Description::markdown(doc),
                        constraint: f.constraint.clone(),
                        sensitive: f.sensitive,
                        deprecated: false,
                    };
                    (f.name.to_string(), attr)
                })
                .collect(),
            ..Default::default()
        },
    }
}

/// The forces-new attributes whose value differs between two states. Values
/// are compared as serialized, so an unknown differs from every known value.
pub fn forces_new_changes<S: Serialize>(
    fields: &[Field],
    prior: &S,
    planned: &S,
) -> Vec<&'static str> {
    let json = |s: &S| serde_json::to_value(s).unwrap_or_default();
    let (a, b) = (json(prior), json(planned));
    fields
        .iter()
        .filter(|f| f.forces_new && a.get(f.name) != b.get(f.name))
        .map(|f| f.name)
        .collect()
}

/// Splits an import id `org/rest` into (org, rest), the org defaulting to the provider's.
pub fn split_import_id(id: &str, api: &Api) -> (String, String) {
    match id.split_once('/') {
        Some((org, rest)) => (org.to_string(), rest.to_string()),
        None => (api.org.clone(), id.to_string()),
    }
}

/// The value of a successful call; a failed one is reported as `Cannot {what}`
/// (on the attribute `field_attr` maps the server's field to).
pub fn answered<T>(
    diags: &mut Diagnostics,
    what: &str,
    field_attr: &dyn Fn(&str) -> Option<&'static str>,
    answer: Result<T, ClientError>,
) -> Option<T> {
    match answer {
        Ok(t) => Some(t),
        Err(e) => {
            api_error(diags, &format!("Cannot {what}"), &e, field_attr);
            None
        }
    }
}

/// A state with an `org` attribute: every resource and data source has one.
pub trait InOrg {
    fn org(&self) -> &Value<String>;
    fn org_mut(&mut self) -> &mut Value<String>;
}

/// A resource's state, which names its object by one attribute (its key).
pub trait Keyed: InOrg {
    /// The attribute holding the object's key (an id or a name).
    fn key_attr(&self) -> &Value<String>;
}

/// Implements [`InOrg`] for states (`AppData`), and [`Keyed`] with the
/// attribute named after `key =` (`AppState; key = id`).
macro_rules! state {
    ($($t:ty),+) => {$(
        impl $crate::resource::InOrg for $t {
            fn org(&self) -> &tf_provider::value::Value<String> {
                &self.org
            }
            fn org_mut(&mut self) -> &mut tf_provider::value::Value<String> {
                &mut self.org
            }
        }
    )+};
    ($t:ty; key = $key:ident) => {
        state!($t);
        impl $crate::resource::Keyed for $t {
            fn key_attr(&self) -> &tf_provider::value::Value<String> {
                &self.$key
            }
        }
    };
}
pub(crate) use state;

/// What a resource is, for [`Managed`] to implement the protocol over it.
/// Implemented by a unit type; the provider's configuration ([`Shared`]) is
/// handed to the hooks that need it.
#[async_trait]
pub trait Object: Send + Sync + Sized + 'static {
    /// The state Terraform keeps (every attribute a `Value`; `Default` is all null).
    type State: Keyed + Clone + Default + Serialize + DeserializeOwned + Send + Sync;
    /// The private state Terraform keeps for us next to it.
    type Private: Clone + Default + Serialize + DeserializeOwned + Send + Sync;
    /// The server's view of the object.
    type Remote: Send + Sync;
    /// How the server names one object (an id or a name), parsed from the
    /// key attribute or an import id.
    type Key: Display + FromStr + Send + Sync;

    /// The resource type after `sigil_`.
    const NAME: &'static str;
    /// What one object is called in messages and docs ("token").
    const NOUN: &'static str;
    /// One paragraph about the resource (schema and docs).
    const DESCRIPTION: &'static str;
    /// The forms `terraform import` accepts, for its errors.
    const IMPORT_ID: &'static str;
    /// What refresh says when the object is gone (it leaves the state); `None`
    /// when a 404 changes nothing (a revocation of a deleted token stays true).
    const GONE: Option<&'static str>;

    fn fields() -> Vec<Field>;
    /// Fills the state from the server's view, keeping the user's spelling.
    fn apply(s: &mut Self::State, r: &Self::Remote);
    /// The object's own plan-time rules (`org` is checked for every resource).
    fn validate(diags: &mut Diagnostics, config: &Self::State);
    /// Marks what a new object will compute as unknown (`org` is done for it).
    fn plan_new(s: &mut Self::State, config: &Self::State);

    async fn fetch(api: &Api, org: &str, key: &Self::Key) -> Result<Self::Remote, ClientError>;

    async fn create(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        planned: Self::State,
    ) -> Option<(Self::State, Self::Private)>;

    /// Destroys the object (`prior` is its last state).
    async fn delete(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        key: &Self::Key,
        prior: &Self::State,
    ) -> Option<()>;

    /// The object's key in state, when it has a usable one.
    fn key(s: &Self::State) -> Option<Self::Key> {
        s.key_attr().as_ref_option().and_then(|k| k.parse().ok())
    }

    /// How messages name one object ("token <id>").
    fn what(key: &Self::Key) -> String {
        format!("{} {key}", Self::NOUN)
    }

    /// The key of an object about to be changed in place, or an error when
    /// its state has none (the change cannot name the object).
    fn key_to_change(diags: &mut Diagnostics, s: &Self::State) -> Option<Self::Key> {
        let key = Self::key(s);
        if key.is_none() {
            diags.root_error_short(format!("The {}'s id is not known", Self::NOUN));
        }
        key
    }

    /// Sorts the answer of the delete call for the object at `key`: done, also
    /// when it is confirmed gone already ([`crate::common::deleted`]).
    async fn delete_answered<T: Send>(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        (key, prior): (&Self::Key, &Self::State),
        answer: Result<T, ClientError>,
    ) -> Option<()> {
        let blind = Self::blind(api, org, prior);
        deleted(diags, api, org, ("delete", &Self::what(key)), blind, answer).await
    }

    /// The attribute a field named by the server maps to: by default the
    /// attribute of the same name.
    fn field_attr(field: &str) -> Option<&'static str> {
        Self::fields()
            .iter()
            .find(|f| f.name == field)
            .map(|f| f.name)
    }

    /// Whether an app-scoped provider token may be unable to see the object
    /// (then its 404 proves nothing). Awaited on a 404 only.
    async fn blind(api: &Api, org: &str, s: &Self::State) -> bool {
        let _ = (api, org, s);
        false
    }

    /// The private state after a successful refresh.
    fn refreshed(private: Self::Private) -> Self::Private {
        private
    }

    /// Takes an existing object into a blank state (import), or says why not.
    fn adopt(s: &mut Self::State, p: &mut Self::Private, r: &Self::Remote) -> Result<(), String> {
        let _ = p;
        Self::apply(s, r);
        Ok(())
    }

    /// The attributes whose change replaces the object: by default the
    /// forces-new fields that changed.
    async fn replaced(
        diags: &mut Diagnostics,
        prior: &Self::State,
        proposed: &Self::State,
        config: &Self::State,
        private: &Self::Private,
    ) -> Vec<&'static str> {
        let _ = (diags, config, private);
        forces_new_changes(&Self::fields(), prior, proposed)
    }

    /// Plan-time checks of a new object (against the server when reachable).
    async fn check_new(shared: &Shared, diags: &mut Diagnostics, planned: &Self::State) {
        let _ = (shared, diags, planned);
    }

    /// Applies an in-place change; by default only the state changes.
    async fn update(
        shared: &Shared,
        diags: &mut Diagnostics,
        prior: Self::State,
        planned: Self::State,
        private: Self::Private,
    ) -> Option<(Self::State, Self::Private)> {
        let _ = (shared, diags, prior);
        Some((planned, private))
    }

    /// Write-only attributes at plan: never in the planned state (Terraform
    /// 1.11 requires them null there), and what they change of the computed
    /// ones. `config` holds their values.
    fn plan_write_only(s: &mut Self::State, config: &Self::State) {
        let _ = (s, config);
    }

    /// Write-only values for a create or update: from the configuration
    /// (their only source) into the state the call sees. The call must
    /// answer them null.
    fn write_only_input(planned: &mut Self::State, config: &Self::State) {
        let _ = (planned, config);
    }

    /// The state after a create or an update answered `r`.
    fn applied(mut planned: Self::State, r: &Self::Remote) -> Self::State {
        Self::apply(&mut planned, r);
        planned
    }
}

/// An [`Object`] as a Terraform resource, with the provider's configuration.
pub struct Managed<O>(pub Shared, PhantomData<O>);

impl<O: Object> Managed<O> {
    pub fn new(shared: Shared) -> Self {
        Managed(shared, PhantomData)
    }

    /// The plan of a new object, for a create and for a replacement alike.
    fn plan_new(&self, s: &mut O::State, config: &O::State) {
        O::plan_new(s, config);
        if config.org().is_null() {
            *s.org_mut() = self.0.default_org();
        }
    }

    fn schema_of() -> Schema {
        schema(O::DESCRIPTION, O::NOUN, &O::fields())
    }
}

#[async_trait]
impl<O: Object> Resource for Managed<O> {
    type State<'a> = O::State;
    type PrivateState<'a> = O::Private;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Self::schema_of())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: O::State) -> Option<()> {
        check_org(diags, config.org());
        O::validate(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        mut state: O::State,
        private: O::Private,
        _meta: ValueEmpty,
    ) -> Option<(O::State, O::Private)> {
        let Some(key) = O::key(&state) else {
            return Some((state, private));
        };
        let Some(api) = self.0.api(diags) else {
            return Some((state, private));
        };
        let org = org_of(state.org(), &api);
        let what = O::what(&key);
        let answer = O::fetch(&api, &org, &key).await;
        let Some(gone) = O::GONE else {
            return match answer {
                Ok(r) => Some((O::applied(state, &r), private)),
                Err(e) if e.is_not_found() => Some((state, private)),
                Err(e) => {
                    api_error(diags, &format!("Cannot read {what}"), &e, &no_field);
                    Some((state, private))
                }
            };
        };
        let blind = O::blind(&api, &org, &state);
        match refresh(diags, &api, &org, &what, blind, answer, gone).await {
            Refreshed::Found(r) => {
                O::apply(&mut state, &r);
                Some((state, O::refreshed(private)))
            }
            Refreshed::Gone => None,
            Refreshed::Kept => Some((state, private)),
        }
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: O::State,
        config: O::State,
        _meta: ValueEmpty,
    ) -> Option<(O::State, O::Private)> {
        let mut s = proposed;
        self.plan_new(&mut s, &config);
        O::plan_write_only(&mut s, &config);
        O::check_new(&self.0, diags, &s).await;
        Some((s, O::Private::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: O::State,
        proposed: O::State,
        config: O::State,
        private: O::Private,
        _meta: ValueEmpty,
    ) -> Option<(O::State, O::Private, Vec<AttributePath>)> {
        let mut s = proposed;
        let replace = O::replaced(diags, &prior, &s, &config, &private).await;
        if replace.is_empty() {
            O::plan_write_only(&mut s, &config);
            return Some((s, private, Vec::new()));
        }
        self.plan_new(&mut s, &config);
        O::plan_write_only(&mut s, &config);
        // The new object is created from this plan: check it now, not at apply.
        O::check_new(&self.0, diags, &s).await;
        let paths = replace.into_iter().map(AttributePath::new).collect();
        Some((s, private, paths))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: O::State,
        private: O::Private,
        _meta: ValueEmpty,
    ) -> Option<O::Private> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        mut planned: O::State,
        config: O::State,
        _private: O::Private,
        _meta: ValueEmpty,
    ) -> Option<(O::State, O::Private)> {
        O::write_only_input(&mut planned, &config);
        let api = self.0.api(diags)?;
        let org = org_of(planned.org(), &api);
        O::create(diags, &api, &org, planned).await
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: O::State,
        mut planned: O::State,
        config: O::State,
        private: O::Private,
        _meta: ValueEmpty,
    ) -> Option<(O::State, O::Private)> {
        O::write_only_input(&mut planned, &config);
        O::update(&self.0, diags, prior, planned, private).await
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: O::State,
        _private: O::Private,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let api = self.0.api(diags)?;
        let org = org_of(prior.org(), &api);
        let Some(key) = O::key(&prior) else {
            return Some(());
        };
        O::delete(diags, &api, &org, &key, &prior).await
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(O::State, O::Private)> {
        let api = self.0.api(diags)?;
        let (org, rest) = split_import_id(&id, &api);
        let Ok(key) = rest.parse::<O::Key>() else {
            diags.root_error(
                "Invalid import id",
                format!("expected {}, got {id:?}", O::IMPORT_ID),
            );
            return None;
        };
        let what = format!("import {}", O::what(&key));
        let answer = O::fetch(&api, &org, &key).await;
        let hint = format!("{what} (from {id:?}; expected {})", O::IMPORT_ID);
        let remote = answered(diags, &hint, &no_field, answer)?;
        let (mut s, mut p) = (O::State::default(), O::Private::default());
        match O::adopt(&mut s, &mut p, &remote) {
            Ok(()) => Some((s, p)),
            Err(why) => {
                diags.root_error(format!("Cannot {what}"), why);
                None
            }
        }
    }
}

/// A resource of the provider, under its type name (after `sigil_`).
pub fn resource<O: Object>(shared: &Shared) -> (String, Box<dyn DynamicResource>) {
    (
        O::NAME.to_string(),
        Box::new(Managed::<O>::new(shared.clone())),
    )
}

/// A data source of the provider, under its type name (after `sigil_`).
pub fn data_source<L: Lookup>(shared: &Shared) -> (String, Box<dyn DynamicDataSource>) {
    (
        L::NAME.to_string(),
        Box::new(Looked::<L>(shared.clone(), PhantomData)),
    )
}

/// What a data source is, for [`Looked`] to implement the protocol over it.
#[async_trait]
pub trait Lookup: Send + Sync + 'static {
    type State: InOrg + Serialize + DeserializeOwned + Send;

    /// The data source type after `sigil_`.
    const NAME: &'static str;
    const DESCRIPTION: &'static str;

    fn fields() -> Vec<Field>;
    /// The data source's own plan-time rules (`org` is checked for every one).
    fn validate(diags: &mut Diagnostics, config: &Self::State);
    /// What a failed read is called in its error ("read app \"web\" in org \"default\"").
    fn what(c: &Self::State, org: &str) -> String;
    async fn lookup(api: &Api, org: String, c: Self::State) -> Result<Self::State, ClientError>;
}

/// The key of a data source that looks one object up by `id` or by name.
pub fn id_or_name(id: &Value<String>, name: &Value<String>) -> String {
    id.as_ref_option()
        .or(name.as_ref_option())
        .cloned()
        .unwrap_or_default()
}

/// A [`Lookup`] as a Terraform data source, with the provider's configuration.
pub struct Looked<L>(pub Shared, PhantomData<L>);

impl<L: Lookup> Looked<L> {
    fn schema_of() -> Schema {
        schema(L::DESCRIPTION, "object", &L::fields())
    }
}

#[async_trait]
impl<L: Lookup> DataSource for Looked<L> {
    type State<'a> = L::State;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Self::schema_of())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: L::State) -> Option<()> {
        check_org(diags, config.org());
        L::validate(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: L::State,
        _meta: ValueEmpty,
    ) -> Option<L::State> {
        let api = self.0.api(diags)?;
        let org = org_of(config.org(), &api);
        let what = L::what(&config, &org);
        let answer = L::lookup(&api, org, config).await;
        answered(diags, &what, &no_field, answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttributeConstraint::*;

    #[derive(Serialize)]
    struct S {
        org: Value<String>,
        name: Value<String>,
        label: Value<String>,
    }

    #[test]
    fn only_changed_forces_new_fields_replace() {
        let fields = [
            field("org", OptionalComputed, string(), "Org.").forces_new(),
            field("name", Required, string(), "Name.").forces_new(),
            field("label", Optional, string(), "Label."),
        ];
        let s = |org: Value<String>, name: &str, label: &str| S {
            org,
            name: Value::Value(name.into()),
            label: Value::Value(label.into()),
        };
        let prior = s(Value::Value("default".into()), "web", "a");
        assert!(forces_new_changes(
            &fields,
            &prior,
            &s(Value::Value("default".into()), "web", "b")
        )
        .is_empty());
        assert_eq!(
            forces_new_changes(&fields, &prior, &s(Value::Unknown, "api", "a")),
            vec!["org", "name"]
        );
        let described = schema("A thing.", "thing", &fields);
        assert_eq!(
            described.block.attributes["name"].description.content,
            "Name. Forces a new thing."
        );
        assert_eq!(
            described.block.attributes["label"].description.content,
            "Label."
        );
    }
}
