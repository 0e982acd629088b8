//! Ephemeral resources (tfplugin6 6.7, Terraform ≥ 1.10): credentials that
//! exist only during one Terraform run and are never written to a plan or
//! state.
//!
//! - [`token`]: `ephemeral "sigil_token"`, a token of a bot;
//! - [`derived`]: `ephemeral "sigil_derived_token"`, a narrower token derived
//!   from the provider's own (`POST /v1/tokens/attenuate`).
//!
//! Open issues the token; Close revokes exactly that token (by the id kept in
//! the private data Terraform hands back), with reason
//! [`CLOSE_REASON`]. Plan and apply each open (and close) their own, and
//! nothing else is touched. Should Terraform die before Close, the token
//! still dies at its short expiry (default [`DEFAULT_EXPIRY`]). There is no
//! Renew: a token lives its whole lifetime without one.
//!
//! The protocol side (decoding, dispatch) is [`crate::protocol`]'s; these
//! speak tf-provider's value and schema types, like the resources.

pub mod derived;
pub mod token;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sigil_proto::api::IssuedToken;
use tf_provider::schema::Schema;
use tf_provider::Diagnostics;
use uuid::Uuid;

use crate::common::{api_error, no_field, same_instant_or, Api, Shared};
use crate::resource::{schema, Field};

/// The revocation reason of a closed ephemeral token.
pub const CLOSE_REASON: &str = "ephemeral closed";
/// The label of an ephemeral token configured without one.
pub const DEFAULT_LABEL: &str = "terraform ephemeral";
/// The lifetime of an ephemeral token configured without `expiry` or
/// `expires_at` (the server caps it as usual).
pub const DEFAULT_EXPIRY: &str = "1h";

/// One ephemeral resource type: its schema as a field table, its plan-time
/// rules, and how it opens. (Close is the same for all: revoke the token.)
#[async_trait]
pub trait Ephemeral: Send + Sync + 'static {
    /// Arguments and results in one object, as Terraform sends and reads it.
    type State: Serialize + DeserializeOwned + Send;
    /// `sigil_<NAME>`.
    const NAME: &'static str;
    const DESCRIPTION: &'static str;

    fn fields() -> Vec<Field>;
    fn validate(diags: &mut Diagnostics, config: &Self::State);
    /// Issues the token; the result is `config` with the results filled.
    async fn open(
        diags: &mut Diagnostics,
        api: &Api,
        config: Self::State,
    ) -> Option<(Self::State, Opened)>;
}

/// What Close needs, kept by Terraform (in memory, never stored) between
/// Open and Close as the resource's private data.
#[derive(Serialize, Deserialize)]
pub struct Opened {
    pub org: String,
    pub id: Uuid,
}

/// The results every ephemeral token fills from the server's answer.
pub struct Issued {
    pub id: String,
    pub token: String,
    pub expires_at: tf_provider::value::Value<String>,
    pub scope: String,
    pub opened: Opened,
}

impl Issued {
    /// The results of `t`, keeping the configured spelling of `expires_at`
    /// when it names the same instant.
    pub fn from(t: IssuedToken, configured: &tf_provider::value::Value<String>) -> Self {
        let m = t.metadata;
        Issued {
            id: m.id.to_string(),
            token: t.token.into_inner(),
            expires_at: same_instant_or(configured, m.expires_at),
            scope: m.scope,
            opened: Opened {
                org: m.org,
                id: m.id,
            },
        }
    }
}

pub fn schema_of<E: Ephemeral>() -> Schema {
    schema(E::DESCRIPTION, "token", &E::fields())
}

/// Every ephemeral resource type, with its schema.
pub fn types() -> Vec<(String, Schema)> {
    vec![
        (
            name_of::<token::EphemeralToken>(),
            schema_of::<token::EphemeralToken>(),
        ),
        (
            name_of::<derived::DerivedToken>(),
            schema_of::<derived::DerivedToken>(),
        ),
    ]
}

fn name_of<E: Ephemeral>() -> String {
    format!("sigil_{}", E::NAME)
}

fn decode<E: Ephemeral>(diags: &mut Diagnostics, config: &[u8]) -> Option<E::State> {
    match rmp_serde::from_slice(config) {
        Ok(c) => Some(c),
        Err(e) => {
            diags.root_error(
                format!("Cannot read the configuration of {}", name_of::<E>()),
                e.to_string(),
            );
            None
        }
    }
}

fn validate_as<E: Ephemeral>(config: &[u8]) -> Diagnostics {
    let mut diags = Diagnostics::default();
    if let Some(c) = decode::<E>(&mut diags, config) {
        E::validate(&mut diags, &c);
    }
    diags
}

async fn open_as<E: Ephemeral>(
    shared: &Shared,
    config: &[u8],
) -> (Diagnostics, Option<(Vec<u8>, Vec<u8>)>) {
    let mut diags = Diagnostics::default();
    let opened = async {
        let c = decode::<E>(&mut diags, config)?;
        E::validate(&mut diags, &c);
        if !diags.errors.is_empty() {
            return None;
        }
        let api = shared.api(&mut diags)?;
        let (result, opened) = E::open(&mut diags, &api, c).await?;
        let encoded = (
            rmp_serde::to_vec_named(&result),
            serde_json::to_vec(&opened),
        );
        match encoded {
            (Ok(r), Ok(p)) => Some((r, p)),
            _ => {
                // Never leave a token Terraform cannot close.
                close_opened(&mut diags, &api, &opened).await;
                diags.root_error_short("Cannot encode the ephemeral token's result");
                None
            }
        }
    }
    .await;
    (diags, opened)
}

/// Unknown type names get an error, not a panic: Terraform only asks for
/// the types [`types`] names.
fn unknown(type_name: &str) -> Diagnostics {
    let mut diags = Diagnostics::default();
    diags.root_error_short(format!(
        "The Sigil provider has no ephemeral resource {type_name:?}"
    ));
    diags
}

pub fn validate(type_name: &str, config: &[u8]) -> Diagnostics {
    match type_name {
        t if t == name_of::<token::EphemeralToken>() => {
            validate_as::<token::EphemeralToken>(config)
        }
        t if t == name_of::<derived::DerivedToken>() => {
            validate_as::<derived::DerivedToken>(config)
        }
        t => unknown(t),
    }
}

pub async fn open(
    shared: &Shared,
    type_name: &str,
    config: &[u8],
) -> (Diagnostics, Option<(Vec<u8>, Vec<u8>)>) {
    match type_name {
        t if t == name_of::<token::EphemeralToken>() => {
            open_as::<token::EphemeralToken>(shared, config).await
        }
        t if t == name_of::<derived::DerivedToken>() => {
            open_as::<derived::DerivedToken>(shared, config).await
        }
        t => (unknown(t), None),
    }
}

async fn close_opened(diags: &mut Diagnostics, api: &Api, o: &Opened) {
    if let Err(e) = api
        .client
        .revoke_token(&o.org, o.id, Some(CLOSE_REASON))
        .await
    {
        // Already gone is closed.
        if !e.is_not_found() {
            let what = format!(
                "Cannot revoke ephemeral token {} (it still expires on its own)",
                o.id
            );
            api_error(diags, &what, &e, &no_field);
        }
    }
}

/// Revokes the token `private` names (every type alike).
pub async fn close(shared: &Shared, type_name: &str, private: &[u8]) -> Diagnostics {
    let mut diags = Diagnostics::default();
    if type_name != name_of::<token::EphemeralToken>()
        && type_name != name_of::<derived::DerivedToken>()
    {
        return unknown(type_name);
    }
    // Open failed before issuing anything: nothing to close.
    if private.is_empty() {
        return diags;
    }
    let Ok(opened) = serde_json::from_slice::<Opened>(private) else {
        diags.root_error_short("Cannot read the ephemeral token's private data");
        return diags;
    };
    if let Some(api) = shared.api(&mut diags) {
        close_opened(&mut diags, &api, &opened).await;
    }
    diags
}
