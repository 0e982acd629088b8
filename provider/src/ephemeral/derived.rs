//! `ephemeral "sigil_derived_token"`: a narrower token derived from the
//! provider's own token (`POST /v1/tokens/attenuate`) for one run: a
//! least-privilege credential, no bot needed. The server makes it a child
//! of the provider's token, so it can never hold more than its parent, and
//! it dies with it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::AttenuateToken;
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::value::Value;
use tf_provider::Diagnostics;

use super::token::{
    check_expiry, common_fields, expiry_or_default, known_opt, known_strings, label_or_default,
};
use super::{Ephemeral, Issued, Opened};
use crate::common::*;
use crate::resource::*;
use crate::validate::*;

#[derive(Default, Serialize, Deserialize)]
pub struct DerivedTokenState {
    pub app_id: Value<String>,
    pub label: Value<String>,
    pub expiry: Value<String>,
    pub expires_at: Value<String>,
    pub claims: StringSet,
    pub allowed_cidrs: StringSet,
    pub max_uses: Value<i64>,
    pub org: Value<String>,
    pub id: Value<String>,
    pub token: Value<String>,
    pub scope: Value<String>,
}

pub struct DerivedToken;

#[async_trait]
impl Ephemeral for DerivedToken {
    type State = DerivedTokenState;
    const NAME: &'static str = "derived_token";
    const DESCRIPTION: &'static str =
        "A narrower token derived from the provider's own token, for one Terraform run \
         (Terraform 1.10 and later): at most the provider token's claims and lifetime, revoked \
         when the run is done, never written to a plan or state.";

    fn fields() -> Vec<Field> {
        let mut f = vec![
            field(
                "app_id",
                Optional,
                string(),
                "Scope the token to this app (id or name); a token derived from an app-scoped \
                 provider token keeps that app.",
            ),
            field(
                "org",
                Computed,
                string(),
                "Org of the token: the provider token's.",
            ),
        ];
        f.extend(common_fields("the provider token"));
        f
    }

    fn validate(diags: &mut Diagnostics, c: &DerivedTokenState) {
        check_text(diags, &c.label, "label", sigil_proto::rules::check_label);
        check_expiry(diags, &c.expiry, &c.expires_at);
        check_claims(diags, &c.claims, "claims", "Invalid claim");
        check_cidrs(diags, &c.allowed_cidrs, "allowed_cidrs");
        check_max_uses(diags, &c.max_uses, "max_uses");
    }

    async fn open(
        diags: &mut Diagnostics,
        api: &Api,
        mut c: DerivedTokenState,
    ) -> Option<(DerivedTokenState, Opened)> {
        let (expiry, expires_at) = expiry_or_default(
            known_opt(diags, &c.expiry, "expiry")?,
            known_opt(diags, &c.expires_at, "expires_at")?,
        );
        let req = AttenuateToken {
            claims: known_strings(diags, &c.claims, "claims")?,
            expiry,
            expires_at,
            label: Some(label_or_default(known_opt(diags, &c.label, "label")?)),
            app: known_opt(diags, &c.app_id, "app_id")?,
            allowed_cidrs: known_strings(diags, &c.allowed_cidrs, "allowed_cidrs")?,
            max_uses: known_opt(diags, &c.max_uses, "max_uses")?,
        };
        let issued = match api.client.attenuate_token(&req).await {
            Ok(t) => Issued::from(t, &c.expires_at),
            Err(e) => {
                let attr = |f: &str| Self::fields().iter().find(|x| x.name == f).map(|x| x.name);
                api_error(diags, "Cannot derive an ephemeral token", &e, &attr);
                return None;
            }
        };
        c.org = Value::Value(issued.opened.org.clone());
        c.id = Value::Value(issued.id);
        c.token = Value::Value(issued.token);
        c.expires_at = issued.expires_at;
        c.scope = Value::Value(issued.scope);
        Some((c, issued.opened))
    }
}
