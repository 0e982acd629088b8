//! The tfplugin6 messages the front decodes or builds, written from the
//! published protocol 6.8 (message names and field numbers are the
//! interface; these are our own definitions). Only what the front reads or
//! writes is here: every other RPC goes to tf-provider as raw bytes, so a
//! field missing here is never lost on the way.
//!
//! Enums are carried as their `int32` wire value.

use std::collections::HashMap;

/// `DynamicValue`: msgpack (what Terraform sends) or JSON.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DynamicValue {
    #[prost(bytes = "vec", tag = "1")]
    pub msgpack: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub json: Vec<u8>,
}

/// `Diagnostic.Severity`.
pub const ERROR: i32 = 1;
pub const WARNING: i32 = 2;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Diagnostic {
    #[prost(int32, tag = "1")]
    pub severity: i32,
    #[prost(string, tag = "2")]
    pub summary: String,
    #[prost(string, tag = "3")]
    pub detail: String,
    #[prost(message, optional, tag = "4")]
    pub attribute: Option<AttributePath>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributePath {
    #[prost(message, repeated, tag = "1")]
    pub steps: Vec<Step>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Step {
    #[prost(oneof = "Selector", tags = "1, 2, 3")]
    pub selector: Option<Selector>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Selector {
    #[prost(string, tag = "1")]
    AttributeName(String),
    #[prost(string, tag = "2")]
    ElementKeyString(String),
    #[prost(int64, tag = "3")]
    ElementKeyInt(i64),
}

/// `StringKind.MARKDOWN`.
pub const MARKDOWN: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Schema {
    #[prost(int64, tag = "1")]
    pub version: i64,
    #[prost(message, optional, tag = "2")]
    pub block: Option<Block>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Block {
    #[prost(int64, tag = "1")]
    pub version: i64,
    #[prost(message, repeated, tag = "2")]
    pub attributes: Vec<Attribute>,
    #[prost(message, repeated, tag = "3")]
    pub block_types: Vec<NestedBlock>,
    #[prost(string, tag = "4")]
    pub description: String,
    #[prost(int32, tag = "5")]
    pub description_kind: i32,
    #[prost(bool, tag = "6")]
    pub deprecated: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Attribute {
    #[prost(string, tag = "1")]
    pub name: String,
    /// The cty type, JSON-encoded.
    #[prost(bytes = "vec", tag = "2")]
    pub r#type: Vec<u8>,
    #[prost(message, optional, tag = "10")]
    pub nested_type: Option<Object>,
    #[prost(string, tag = "3")]
    pub description: String,
    #[prost(bool, tag = "4")]
    pub required: bool,
    #[prost(bool, tag = "5")]
    pub optional: bool,
    #[prost(bool, tag = "6")]
    pub computed: bool,
    #[prost(bool, tag = "7")]
    pub sensitive: bool,
    #[prost(int32, tag = "8")]
    pub description_kind: i32,
    #[prost(bool, tag = "9")]
    pub deprecated: bool,
    /// 6.8: the value reaches the provider in the configuration only, and is
    /// never stored in a plan or state.
    #[prost(bool, tag = "11")]
    pub write_only: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NestedBlock {
    #[prost(string, tag = "1")]
    pub type_name: String,
    #[prost(message, optional, tag = "2")]
    pub block: Option<Block>,
    #[prost(int32, tag = "3")]
    pub nesting: i32,
    #[prost(int64, tag = "4")]
    pub min_items: i64,
    #[prost(int64, tag = "5")]
    pub max_items: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Object {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<Attribute>,
    #[prost(int32, tag = "3")]
    pub nesting: i32,
    #[prost(int64, tag = "4")]
    pub min_items: i64,
    #[prost(int64, tag = "5")]
    pub max_items: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    #[prost(message, repeated, tag = "1")]
    pub parameters: Vec<Parameter>,
    #[prost(message, optional, tag = "2")]
    pub variadic_parameter: Option<Parameter>,
    #[prost(message, optional, tag = "3")]
    pub r#return: Option<Return>,
    #[prost(string, tag = "4")]
    pub summary: String,
    #[prost(string, tag = "5")]
    pub description: String,
    #[prost(int32, tag = "6")]
    pub description_kind: i32,
    #[prost(string, tag = "7")]
    pub deprecation_message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Parameter {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub r#type: Vec<u8>,
    #[prost(bool, tag = "3")]
    pub allow_null_value: bool,
    #[prost(bool, tag = "4")]
    pub allow_unknown_values: bool,
    #[prost(string, tag = "5")]
    pub description: String,
    #[prost(int32, tag = "6")]
    pub description_kind: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Return {
    #[prost(bytes = "vec", tag = "1")]
    pub r#type: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerCapabilities {
    #[prost(bool, tag = "1")]
    pub plan_destroy: bool,
    #[prost(bool, tag = "2")]
    pub get_provider_schema_optional: bool,
    #[prost(bool, tag = "3")]
    pub move_resource_state: bool,
}

/// What the client (Terraform) can handle; absent from older clients.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClientCapabilities {
    #[prost(bool, tag = "1")]
    pub deferral_allowed: bool,
    /// 6.8: the client keeps write-only attributes out of plans and state.
    #[prost(bool, tag = "2")]
    pub write_only_attributes_allowed: bool,
}

/// `GetMetadata.Response`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetMetadataResponse {
    #[prost(message, optional, tag = "1")]
    pub server_capabilities: Option<ServerCapabilities>,
    #[prost(message, repeated, tag = "2")]
    pub diagnostics: Vec<Diagnostic>,
    #[prost(message, repeated, tag = "3")]
    pub data_sources: Vec<TypeName>,
    #[prost(message, repeated, tag = "4")]
    pub resources: Vec<TypeName>,
    #[prost(message, repeated, tag = "5")]
    pub functions: Vec<FunctionName>,
    /// 6.7.
    #[prost(message, repeated, tag = "6")]
    pub ephemeral_resources: Vec<TypeName>,
}

/// `GetMetadata.{DataSource,Resource,Ephemeral}Metadata`: one `type_name`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeName {
    #[prost(string, tag = "1")]
    pub type_name: String,
}

/// `GetMetadata.FunctionMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionName {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `GetProviderSchema.Response`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetProviderSchemaResponse {
    #[prost(message, optional, tag = "1")]
    pub provider: Option<Schema>,
    #[prost(map = "string, message", tag = "2")]
    pub resource_schemas: HashMap<String, Schema>,
    #[prost(map = "string, message", tag = "3")]
    pub data_source_schemas: HashMap<String, Schema>,
    #[prost(map = "string, message", tag = "7")]
    pub functions: HashMap<String, Function>,
    /// 6.7.
    #[prost(map = "string, message", tag = "8")]
    pub ephemeral_resource_schemas: HashMap<String, Schema>,
    #[prost(message, repeated, tag = "4")]
    pub diagnostics: Vec<Diagnostic>,
    #[prost(message, optional, tag = "5")]
    pub provider_meta: Option<Schema>,
    #[prost(message, optional, tag = "6")]
    pub server_capabilities: Option<ServerCapabilities>,
}

/// `ValidateResourceConfig.Request` (client_capabilities: 6.8).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValidateResourceConfigRequest {
    #[prost(string, tag = "1")]
    pub type_name: String,
    #[prost(message, optional, tag = "2")]
    pub config: Option<DynamicValue>,
    #[prost(message, optional, tag = "3")]
    pub client_capabilities: Option<ClientCapabilities>,
}

/// The response of `ValidateResourceConfig`, `ValidateEphemeralResourceConfig`
/// and `CloseEphemeralResource`: diagnostics (field 1) only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Diagnostics1 {
    #[prost(message, repeated, tag = "1")]
    pub diagnostics: Vec<Diagnostic>,
}

/// `ValidateEphemeralResourceConfig.Request`, and the start of
/// `OpenEphemeralResource.Request` (which adds client_capabilities, 3).
#[derive(Clone, PartialEq, prost::Message)]
pub struct EphemeralConfigRequest {
    #[prost(string, tag = "1")]
    pub type_name: String,
    #[prost(message, optional, tag = "2")]
    pub config: Option<DynamicValue>,
}

/// `OpenEphemeralResource.Response` (renew_at, 2, is never set: nothing
/// needs renewing before its Close).
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpenEphemeralResourceResponse {
    #[prost(message, repeated, tag = "1")]
    pub diagnostics: Vec<Diagnostic>,
    #[prost(message, optional, tag = "3")]
    pub result: Option<DynamicValue>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub private: Option<Vec<u8>>,
}

/// `RenewEphemeralResource.Request` and `CloseEphemeralResource.Request`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EphemeralPrivateRequest {
    #[prost(string, tag = "1")]
    pub type_name: String,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub private: Option<Vec<u8>>,
}

/// `RenewEphemeralResource.Response`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RenewEphemeralResourceResponse {
    #[prost(message, repeated, tag = "1")]
    pub diagnostics: Vec<Diagnostic>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub private: Option<Vec<u8>>,
}

impl Diagnostic {
    pub fn error(
        summary: impl Into<String>,
        detail: impl Into<String>,
        attr: Option<&str>,
    ) -> Self {
        Diagnostic {
            severity: ERROR,
            summary: summary.into(),
            detail: detail.into(),
            attribute: attr.map(|a| AttributePath {
                steps: vec![Step {
                    selector: Some(Selector::AttributeName(a.to_string())),
                }],
            }),
        }
    }
}

/// tf-provider's diagnostics in protocol form.
pub fn diagnostics(d: tf_provider::Diagnostics) -> Vec<Diagnostic> {
    use tf_provider::AttributePathStep as S;
    let one = |severity, d: tf_provider::Diagnostic| Diagnostic {
        severity,
        summary: d.summary.into_owned(),
        detail: d.detail.into_owned(),
        attribute: (!d.attribute.steps.is_empty()).then(|| AttributePath {
            steps: d
                .attribute
                .steps
                .into_iter()
                .map(|s| Step {
                    selector: Some(match s {
                        S::Attribute(n) => Selector::AttributeName(n.into_owned()),
                        S::Key(k) => Selector::ElementKeyString(k.into_owned()),
                        S::Index(i) => Selector::ElementKeyInt(i),
                    }),
                })
                .collect(),
        }),
    };
    let mut out: Vec<Diagnostic> = d.errors.into_iter().map(|e| one(ERROR, e)).collect();
    out.extend(d.warnings.into_iter().map(|w| one(WARNING, w)));
    out
}

/// A flat tf-provider schema (attributes of primitive, set, list, map or
/// object types, as every Sigil schema is) in protocol form.
pub fn schema(s: &tf_provider::schema::Schema) -> Schema {
    use tf_provider::schema::AttributeConstraint as C;
    let mut attributes: Vec<Attribute> = s
        .block
        .attributes
        .iter()
        .map(|(name, a)| Attribute {
            name: name.clone(),
            r#type: a.attr_type.to_string().into_bytes(),
            nested_type: None,
            description: a.description.content.clone(),
            required: a.constraint == C::Required,
            optional: matches!(a.constraint, C::Optional | C::OptionalComputed),
            computed: matches!(a.constraint, C::Computed | C::OptionalComputed),
            sensitive: a.sensitive,
            description_kind: MARKDOWN,
            deprecated: a.deprecated,
            write_only: false,
        })
        .collect();
    attributes.sort_by(|a, b| a.name.cmp(&b.name));
    Schema {
        version: s.version,
        block: Some(Block {
            version: s.block.version,
            attributes,
            block_types: Vec::new(),
            description: s.block.description.content.clone(),
            description_kind: MARKDOWN,
            deprecated: s.block.deprecated,
        }),
    }
}
