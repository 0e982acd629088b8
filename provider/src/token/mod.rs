//! `sigil_token`: a token issued for a bot.
//!
//! - `bot_id`, `expiry`/`expires_at`, `app_id`, `claims`, `keepers`,
//!   `allowed_cidrs`, `max_uses` and `org` force a new token; `label` is
//!   changed in place (`PATCH`), and `rotate_before`/`grace_period` only live
//!   in state.
//! - `token` (the JWT) is known only from create: the server never shows it again.
//! - Refresh drops the token from state only on a definite answer (a 404). A
//!   token the server still shows keeps its `status`: one no longer `active`
//!   (`revoked`, `expired`, `exhausted`) is replaced by the next plan, which
//!   says which and why. The server keeps such tokens viewable for 90 days, so
//!   the plan shows a replacement of the dead token rather than a token that
//!   vanished.
//! - Destroy revokes, or with `grace_period` shortens the expiry to now + grace.
//!
//! # Layout
//! - this file: the resource (state ↔ API, plan, update, destroy), wiring the parts:
//! - [`schema`]: the field table;
//! - [`checks`]: plan-time rules (configuration, claims against the bot);
//! - [`status`]: why a token no longer `active` is replaced;
//! - [`destroy`]: destroy with `grace_period` (shorten instead of revoke);
//! - [`private`]: the private state, and adoption of `expiry`/`keepers` after an import;
//! - [`issue`]: create, with retries under one Idempotency-Key;
//! - [`rotation`]: the `rotate_before` decision, taken at plan time only;
//! - [`grace`]: when the destroy of a token with `grace_period` says how long
//!   it stays valid (only once its bot is known to outlive the run).

mod checks;
mod destroy;
pub mod grace;
pub(crate) mod issue;
mod private;
mod rotation;
mod schema;
mod status;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::{Token as RemoteToken, UpdateToken};
use sigil_proto::claims::ClaimSet;
use sigil_proto::client::ClientError;
use sigil_proto::rules::TokenStatus;
use sigil_proto::{rules, ErrorCode};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};
use uuid::Uuid;

use checks::{same_claim_set, validate_token};
pub use private::TokenPrivate;
use status::dead;

use crate::common::*;
use crate::resource::*;
use crate::validate::*;

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct TokenState {
    pub id: Value<String>,
    pub org: Value<String>,
    pub bot_id: Value<String>,
    pub label: Value<String>,
    pub expiry: Value<String>,
    pub expires_at: Value<String>,
    pub app_id: Value<String>,
    pub claims: StringSet,
    pub rotate_before: Value<String>,
    pub grace_period: Value<String>,
    pub keepers: StringMap,
    pub allowed_cidrs: StringSet,
    pub max_uses: Value<i64>,
    pub token: Value<String>,
    pub created_at: Value<String>,
    pub created_by: Value<String>,
    pub scope: Value<String>,
    pub status: Value<String>,
    pub uses: Value<i64>,
    pub revoked_reason: Value<String>,
    pub parent_id: Value<String>,
}

pub struct Token;

state!(TokenState; key = id);

fn planned_scope(app_id: &Value<String>) -> Value<String> {
    match app_id {
        Value::Null => Value::Value("org".into()),
        _ => Value::Value("app".into()),
    }
}

#[async_trait]
impl Object for Token {
    type State = TokenState;
    type Private = Option<TokenPrivate>;
    type Remote = RemoteToken;
    type Key = Uuid;

    const NAME: &'static str = "token";
    const NOUN: &'static str = "token";
    const DESCRIPTION: &'static str = "A long-lived, scoped token for a bot.";
    const IMPORT_ID: &'static str = "a token id (a UUID) or org/id";
    const GONE: Option<&'static str> =
        Some("It is removed from the state; the next apply issues a new one.");

    fn fields() -> Vec<Field> {
        schema::fields()
    }

    fn field_attr(field: &str) -> Option<&'static str> {
        match field {
            "owner" => Some("bot_id"),
            "app" => Some("app_id"),
            f => Self::fields().iter().find(|a| a.name == f).map(|a| a.name),
        }
    }

    /// Fills the state's server-side attributes from the server's view of the token,
    /// keeping the configuration's spelling wherever it means the same thing.
    fn apply(s: &mut TokenState, t: &RemoteToken) {
        s.id = Value::Value(t.id.to_string());
        s.org = Value::Value(t.org.clone());
        s.bot_id = same_id_or(&s.bot_id, t.owner_id);
        s.label = opt_string(&s.label, t.label.as_deref());
        s.expires_at = same_instant_or(&s.expires_at, t.expires_at);
        s.app_id = match t.app_id {
            Some(a) => same_id_or(&s.app_id, a),
            None => Value::Null,
        };
        // `claims` is computed when not set: an empty list is a value, not null.
        s.claims = match &s.claims {
            Value::Null => to_set(&t.claims),
            prior => claims_state(prior, &t.claims),
        };
        s.allowed_cidrs = cidrs_state(&s.allowed_cidrs, &t.allowed_cidrs);
        s.max_uses = t.max_uses.into();
        s.created_at = Value::Value(rfc3339(t.created_at));
        s.created_by = Value::Value(t.created_by.to_string());
        s.scope = Value::Value(t.scope.clone());
        s.status = Value::Value(t.status.clone());
        s.uses = Value::Value(t.uses);
        s.revoked_reason = t
            .revoked_reason
            .clone()
            .or_else(|| t.revoke_reason.clone())
            .filter(|r| !r.is_empty())
            .into();
        s.parent_id = t.parent_id.map(|p| p.to_string()).into();
    }

    fn validate(diags: &mut Diagnostics, c: &TokenState) {
        validate_token(diags, c);
    }

    fn plan_new(s: &mut TokenState, config: &TokenState) {
        s.id = Value::Unknown;
        s.token = Value::Unknown;
        s.created_at = Value::Unknown;
        s.created_by = Value::Unknown;
        s.scope = planned_scope(&s.app_id);
        // What a token just issued is: never used, live, derived from nothing.
        s.status = Value::Value(TokenStatus::Active.to_string());
        s.uses = Value::Value(0);
        s.revoked_reason = Value::Null;
        s.parent_id = Value::Null;
        if config.expires_at.is_null() {
            s.expires_at = Value::Unknown;
        }
        if config.claims.is_null() {
            s.claims = Value::Unknown;
        }
    }

    async fn fetch(api: &Api, org: &str, key: &Uuid) -> Result<RemoteToken, ClientError> {
        api.client.get_token(org, *key).await
    }

    /// An app-scoped provider token sees the tokens of its app only: blind to
    /// an org-scoped token, and to one whose app it cannot read.
    async fn blind(api: &Api, org: &str, s: &TokenState) -> bool {
        match (&api.app, s.app_id.as_ref_option()) {
            (None, _) => false,
            (Some(_), Some(app)) => api.client.get_app(org, app).await.is_err(),
            (Some(_), None) => true,
        }
    }

    fn refreshed(private: Option<TokenPrivate>) -> Option<TokenPrivate> {
        Some(
            private
                .unwrap_or_default()
                .refreshed(now().unix_timestamp()),
        )
    }

    fn adopt(
        s: &mut TokenState,
        p: &mut Option<TokenPrivate>,
        t: &RemoteToken,
    ) -> Result<(), String> {
        if t.status != TokenStatus::Active.as_str() {
            return Err(format!(
                "The token is {}: there is nothing live to manage.",
                t.status
            ));
        }
        Self::apply(s, t);
        *p = Some(TokenPrivate::imported());
        Ok(())
    }

    /// A token no longer `active` (as of the refresh) is replaced, and the
    /// plan says why; otherwise the changed forces-new attributes, compared for
    /// meaning (the same instant, equivalent claims, the same networks), except
    /// `expiry` and `keepers` adopted after an import; then a rotation,
    /// decided here once ([`rotation`]).
    async fn replaced(
        diags: &mut Diagnostics,
        prior: &TokenState,
        s: &TokenState,
        config: &TokenState,
        private: &Option<TokenPrivate>,
    ) -> Vec<&'static str> {
        let adopting = private::adopting(private);
        let mut replace = forces_new_changes(&Self::fields(), prior, s);
        replace.retain(|f| match *f {
            "expiry" => !(adopting && prior.expiry.is_null()),
            "keepers" => !(adopting && prior.keepers.is_null()),
            "expires_at" => !same_instant(&s.expires_at, &prior.expires_at),
            "claims" => !same_claim_set(&s.claims, &prior.claims),
            "allowed_cidrs" => !same_cidrs(&s.allowed_cidrs, &prior.allowed_cidrs),
            _ => true,
        });
        if let Some((summary, detail)) = dead(prior) {
            diags.warning(summary, detail, AttributePath::new("status"));
            replace.insert(0, "status");
            return replace;
        }
        if replace.is_empty()
            && config.expires_at.is_null()
            && rotation::rotates(diags, prior, s, private, now().unix_timestamp())
        {
            replace.push("expires_at");
        }
        replace
    }

    /// A token about to be issued: its `expires_at` lifetime against now, and
    /// its claims against the bot's permissions (when the server can tell).
    async fn check_new(shared: &Shared, diags: &mut Diagnostics, s: &TokenState) {
        check_expires_at(diags, &s.expires_at, "expires_at", now().unix_timestamp());
        Self::check_claims_of_bot(shared, diags, s).await;
    }

    async fn create(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        planned: TokenState,
    ) -> Option<(TokenState, Option<TokenPrivate>)> {
        let issued = issue::issue(diags, api, org, &planned).await?;
        // The bot outlives this run: tokens of it shortened earlier in the
        // run (a replacement) stay valid as their grace_period said.
        for shortened in api.grace.issued(issued.metadata.owner_id) {
            let (summary, detail) = grace::warning(&shortened);
            diags.root_warning(summary, detail);
        }
        let mut s = Self::applied(planned, &issued.metadata);
        s.token = Value::Value(issued.token.into_inner());
        Some((s, Some(TokenPrivate::fresh())))
    }

    async fn update(
        shared: &Shared,
        diags: &mut Diagnostics,
        prior: TokenState,
        planned: TokenState,
        private: Option<TokenPrivate>,
    ) -> Option<(TokenState, Option<TokenPrivate>)> {
        let mut s = planned;
        if s.label != prior.label {
            let api = shared.api(diags)?;
            let org = org_of(&s.org, &api);
            let id = Self::key_to_change(diags, &s)?;
            let req = UpdateToken {
                label: Some(s.label.as_ref_option().cloned().unwrap_or_default()),
                ..Default::default()
            };
            let answer = api.client.update_token(&org, id, &req).await;
            let t = answered(
                diags,
                &format!("update token {id}"),
                &Self::field_attr,
                answer,
            )?;
            Self::apply(&mut s, &t);
        }
        Some((s, private::updated(private)))
    }

    async fn delete(
        diags: &mut Diagnostics,
        api: &Api,
        org: &str,
        key: &Uuid,
        prior: &TokenState,
    ) -> Option<()> {
        if prior.grace_period.is_value() {
            return Self::shorten(diags, (api, org, *key), prior).await;
        }
        let answer = api
            .client
            .revoke_token(org, *key, Some("destroyed by Terraform"))
            .await;
        let blind = Self::blind(api, org, prior);
        deleted(diags, api, org, ("revoke", &Self::what(key)), blind, answer).await
    }
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests;
