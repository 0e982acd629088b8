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
//! - this file: the resource (schema, state ↔ API, validation, plan, update, destroy);
//! - [`private`]: the private state, and adoption of `expiry`/`keepers` after an import;
//! - [`issue`]: create, with retries under one Idempotency-Key;
//! - [`rotation`]: the `rotate_before` decision, taken at plan time only;
//! - [`grace`]: when the destroy of a token with `grace_period` says how long
//!   it stays valid (only once its bot is known to outlive the run).

pub mod grace;
pub(crate) mod issue;
mod private;
mod rotation;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::{Token as RemoteToken, UpdateToken};
use sigil_proto::claims::ClaimSet;
use sigil_proto::client::ClientError;
use sigil_proto::rules::TokenStatus;
use sigil_proto::{rules, ErrorCode};
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::schema::AttributeType;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};
use uuid::Uuid;

pub use private::TokenPrivate;

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

/// Whether two claim sets grant the same rights (or are the same value).
fn same_claim_set(a: &StringSet, b: &StringSet) -> bool {
    match (known_set(a), known_set(b)) {
        (Some(x), Some(y)) if !a.is_null() && !b.is_null() => same_claims(&x, &y),
        _ => a == b,
    }
}

/// The configuration's rules that do not depend on the clock (see
/// [`Token::check_new`] for the lifetime of `expires_at`).
fn validate_token(diags: &mut Diagnostics, c: &TokenState) {
    check_uuid(
        diags,
        &c.bot_id,
        "bot_id",
        "e.g. sigil_bot.ci.id or data.sigil_bot.ci.id",
    );
    check_uuid(
        diags,
        &c.app_id,
        "app_id",
        "e.g. sigil_app.web.id or data.sigil_app.web.id",
    );
    check_text(diags, &c.label, "label", rules::check_label);
    let expiry = check_duration(diags, &c.expiry, "expiry");
    if let Some(secs) = expiry {
        check_lifetime(diags, "expiry", secs);
    }
    // The syntax only: the lifetime depends on when the token is issued.
    check_time(diags, &c.expires_at, "expires_at");
    if !c.expiry.is_null() && !c.expires_at.is_null() {
        diags.error(
            "Conflicting expiry and expires_at",
            "`expiry` and `expires_at` cannot both be set: give a lifetime (`expiry`) or a time \
             (`expires_at`).",
            AttributePath::new("expires_at"),
        );
    }
    if let Some(window) = check_duration(diags, &c.rotate_before, "rotate_before") {
        rotation::check_window(diags, c, window, expiry);
    }
    check_duration(diags, &c.grace_period, "grace_period");
    check_claims(diags, &c.claims, "claims", "Invalid claim");
    check_cidrs(diags, &c.allowed_cidrs, "allowed_cidrs");
    check_max_uses(diags, &c.max_uses, "max_uses");
}

impl Token {
    /// Plan-time check that the claims are within the bot's permissions, when
    /// both are known: the same check (and code) as the server's.
    async fn check_claims_of_bot(shared: &Shared, diags: &mut Diagnostics, s: &TokenState) {
        let (Some(api), Value::Value(bot), Some(claims)) =
            (shared.plan_api(), &s.bot_id, known_set(&s.claims))
        else {
            return;
        };
        if s.claims.is_null() || Uuid::parse_str(bot).is_err() {
            return;
        }
        let Ok(wanted) = ClaimSet::parse(&claims) else {
            return;
        };
        let org = match &s.org {
            Value::Value(o) => o.clone(),
            Value::Unknown => return,
            Value::Null => api.org.clone(),
        };
        match api.client.get_bot(&org, bot).await {
            Ok(b) => {
                let Ok(have) = ClaimSet::parse(&b.permissions) else {
                    return;
                };
                let missing: Vec<String> = wanted
                    .not_covered_by(&have)
                    .iter()
                    .map(|c| c.to_string())
                    .collect();
                if !missing.is_empty() {
                    diags.error(
                        "Claims beyond the bot's permissions",
                        format!(
                            "claims {} are not covered by the permissions of bot {:?} ({}); a \
                             token can never hold more than its bot (error code `{}`). Widen the \
                             bot's `permissions` first, in an earlier apply.",
                            missing.join(", "),
                            b.username,
                            if b.permissions.is_empty() {
                                "none".into()
                            } else {
                                b.permissions.join(", ")
                            },
                            ErrorCode::ClaimsExceedOwner,
                        ),
                        AttributePath::new("claims"),
                    );
                }
            }
            Err(e) if e.is_not_found() => diags.error(
                "Unknown bot",
                format!("bot_id {bot:?}: there is no such bot in org {org:?}"),
                AttributePath::new("bot_id"),
            ),
            // A token that may issue but not read bots: leave the check to the server.
            Err(e) if e.status() == Some(403) => {}
            Err(e) => api_error(
                diags,
                "Cannot check the token's claims",
                &e,
                &Self::field_attr,
            ),
        }
    }

    /// Destroy with `grace_period`: shorten the expiry to now + grace (never
    /// extend it) instead of revoking.
    async fn shorten(
        diags: &mut Diagnostics,
        (api, org, id): (&Api, &str, Uuid),
        prior: &TokenState,
    ) -> Option<()> {
        let grace = check_duration(diags, &prior.grace_period, "grace_period")?;
        let what = Self::what(&id);
        let blind = || Self::blind(api, org, prior);
        let t = match api.client.get_token(org, id).await {
            Ok(t) => t,
            Err(e) => {
                return deleted(diags, api, org, ("read", &what), blind(), Err::<(), _>(e)).await
            }
        };
        let until = now() + time::Duration::seconds(grace);
        if t.status != "active" || until >= t.expires_at {
            return Some(());
        }
        let req = UpdateToken {
            expires_at: Some(rfc3339(until)),
            ..Default::default()
        };
        match api.client.update_token(org, id, &req).await {
            Ok(t) => {
                let shortened = grace::Shortened {
                    id,
                    label: t.label.clone(),
                    bot: Some(t.owner_id),
                    expires_at: t.expires_at,
                    grace: prior
                        .grace_period
                        .as_ref_option()
                        .cloned()
                        .unwrap_or_default(),
                };
                if let Some(s) = api.grace.shortened(shortened) {
                    let (summary, detail) = grace::warning(&s);
                    diags.root_warning(summary, detail);
                }
                Some(())
            }
            Err(e) => {
                deleted(
                    diags,
                    api,
                    org,
                    ("shorten", &what),
                    blind(),
                    Err::<(), _>(e),
                )
                .await
            }
        }
    }
}

/// Why a token the refresh found no longer `active` is replaced: the plan's
/// warning (summary, detail), or `None` for a live token (or one never read).
fn dead(prior: &TokenState) -> Option<(String, String)> {
    let status = prior.status.as_ref_option()?;
    let status = TokenStatus::parse(status).ok()?;
    let id = Uuid::parse_str(prior.id.as_ref_option()?).ok()?;
    let name = grace::token_name(prior.label.as_ref_option().map(String::as_str), id);
    let (why, detail) = match status {
        TokenStatus::Active => return None,
        TokenStatus::Revoked => {
            let reason = prior.revoked_reason.as_ref_option();
            (
                reason.map(|r| format!(" ({r})")).unwrap_or_default(),
                format!(
                    "The server reports it revoked{}: a revoked token is refused everywhere and \
                     can never be used again.",
                    reason
                        .map(|r| format!(" with the reason {r:?}"))
                        .unwrap_or_default()
                ),
            )
        }
        TokenStatus::Expired => {
            let at = prior.expires_at.as_ref_option();
            (
                at.map(|a| format!(" (at {a})")).unwrap_or_default(),
                "Its expiry has passed: the server refuses it.".to_string(),
            )
        }
        TokenStatus::Exhausted => {
            let of = match (&prior.uses, &prior.max_uses) {
                (Value::Value(u), Value::Value(m)) => format!(" ({u} of {m} uses)"),
                _ => String::new(),
            };
            (
                of,
                "It has used every use its max_uses allows: the server refuses it.".to_string(),
            )
        }
    };
    Some((
        format!("Token {name} is {status}{why}; it will be replaced"),
        format!(
            "{detail} This plan issues a new token in its place; the old one stays viewable \
             (sigil tokens view {id}) with its status."
        ),
    ))
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
        vec![
            field("id", Computed, string(), "The token's id (its JWT `jti`)."),
            org_field("token"),
            field(
                "bot_id",
                Required,
                string(),
                "Id of the bot the token is for (a UUID), e.g. `sigil_bot.ci.id`.",
            )
            .forces_new(),
            field(
                "label",
                Optional,
                string(),
                "A label, shown in `sigil tokens list`: at most 200 characters, no control \
                 characters. Updated in place; the JWT stays valid.",
            ),
            field(
                "expiry",
                Optional,
                string(),
                "Lifetime from issue: `30s`, `15m`, `36h`, `100d`, `2w`, `6mo` (30 days), `1y` \
                 (365 days), combinations such as `1h30m`, or Go-style `175200h0m0s`; at most \
                 100 years. Conflicts with `expires_at`. Neither set: the server's default \
                 lifetime.",
            )
            .forces_new(),
            field(
                "expires_at",
                OptionalComputed,
                string(),
                "Absolute expiry, RFC 3339 (`2030-01-31T12:00:00Z`), in the future and at most \
                 100 years away when the token is issued. Conflicts with `expiry`; when not set, \
                 the expiry the server computed.",
            )
            .forces_new(),
            field(
                "app_id",
                Optional,
                string(),
                "Scope the token to this app (its id, e.g. `sigil_app.web.id`).",
            )
            .forces_new(),
            field(
                "claims",
                OptionalComputed,
                set_of_strings(),
                "Claims `scope:action:specific`, a subset of the bot's permissions (checked at \
                 plan when the bot exists); at most 100. Defaults to all of the bot's \
                 permissions at issue time. Equivalent spellings never make a diff.",
            )
            .forces_new(),
            field(
                "rotate_before",
                Optional,
                string(),
                "A duration, shorter than `expiry`: once the token is inside this window before \
                 its expiry, a plan replaces it and says why (see Rotation). Needs `expiry`, not \
                 `expires_at`. State only.",
            ),
            field(
                "grace_period",
                Optional,
                string(),
                "A duration: on destroy (and so on replacement), the token stays valid this long \
                 (its expiry is shortened, never extended) instead of being revoked at once. \
                 State only.",
            ),
            field(
                "keepers",
                Optional,
                map_of_strings(),
                "Arbitrary values, e.g. a generation number to bump after a suspected leak.",
            )
            .forces_new(),
            field(
                "allowed_cidrs",
                Optional,
                set_of_strings(),
                "Networks the token may be used from: IPv4 or IPv6 CIDRs (`10.0.0.0/8`, \
                 `2001:db8::/32`) or single addresses (`192.0.2.7`), at most 32. A request \
                 from elsewhere is refused (`address_not_allowed`), and gRPC `Verify` needs \
                 the caller's `client_address`. A network with host bits set (`10.0.0.1/8`) \
                 fails the plan, naming the network meant. Not set: any address.",
            )
            .forces_new(),
            field(
                "max_uses",
                Optional,
                AttributeType::Number,
                "How many successful authentications the token allows, from 1 to 1,000,000 \
                 (e.g. 1 for a one-time bootstrap token). Once they are used the token is \
                 refused, its `status` is `exhausted`, and the next plan replaces it. Not set: \
                 unlimited.",
            )
            .forces_new(),
            field(
                "token",
                Computed,
                string(),
                "The JWT. Known only from create: the server never stores it, so an imported \
                 token has none (null).",
            )
            .sensitive(),
            field(
                "created_at",
                Computed,
                string(),
                "When the token was issued (RFC 3339).",
            ),
            field(
                "created_by",
                Computed,
                string(),
                "Id of the principal that issued the token (the owner of the provider's token).",
            ),
            field(
                "scope",
                Computed,
                string(),
                "`org`, or `app` for a token scoped to an app.",
            ),
            field(
                "status",
                Computed,
                string(),
                "`active`, `expired`, `revoked` or `exhausted` (all of `max_uses` used), as of \
                 the last refresh. A plan replaces a token that is no longer `active`, with a \
                 warning that says which and why.",
            ),
            field(
                "uses",
                Computed,
                AttributeType::Number,
                "Successful authentications with the token so far (counted exactly when \
                 `max_uses` is set).",
            ),
            field(
                "revoked_reason",
                Computed,
                string(),
                "Why a revoked token was revoked (`leaked`, `parent revoked`, `owner deleted`, \
                 or the revoker's words); null while it is not revoked.",
            ),
            field(
                "parent_id",
                Computed,
                string(),
                "The token this one was derived from (`POST /v1/tokens/attenuate`); null for \
                 a token issued directly, as every token this resource creates is.",
            ),
        ]
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

/// What the tests of this module and its parts share.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use tf_provider::value::ValueEmpty;
    use tf_provider::Resource;

    pub fn token_state() -> TokenState {
        TokenState {
            id: Value::Value("0190f0f0-0000-7000-8000-000000000001".into()),
            org: Value::Value("default".into()),
            bot_id: Value::Value("0190f0f0-0000-7000-8000-000000000002".into()),
            expires_at: Value::Value("2099-01-01T00:00:00Z".into()),
            claims: to_set(&["machines:get:*".to_string()]),
            created_at: Value::Value("2024-01-01T00:00:00Z".into()),
            created_by: Value::Value("0190f0f0-0000-7000-8000-000000000003".into()),
            scope: Value::Value("org".into()),
            ..TokenState::default()
        }
    }

    /// A token as the server shows it (JSON), with `extra` fields added or replaced.
    pub fn remote_token(extra: serde_json::Value) -> serde_json::Value {
        let mut t = serde_json::json!({
            "id": "0190f0f0-0000-7000-8000-000000000001",
            "org": "default",
            "owner_id": "0190f0f0-0000-7000-8000-000000000002",
            "owner": "ci",
            "owner_kind": "bot",
            "claims": [],
            "scope": "org",
            "created_at": "2024-01-01T00:00:00Z",
            "created_by": "0190f0f0-0000-7000-8000-000000000003",
            "created_by_name": "owner",
            "expires_at": "2099-01-01T00:00:00Z",
            "status": "active"
        });
        if let (Some(t), serde_json::Value::Object(extra)) = (t.as_object_mut(), extra) {
            t.extend(extra);
        }
        t
    }

    /// Plans `config` (also the proposed state) against `prior` with an
    /// unconfigured provider: the attributes that force a replacement, and
    /// the diagnostics.
    pub fn plan_update(
        prior: TokenState,
        proposed: TokenState,
        config: TokenState,
        private: Option<TokenPrivate>,
    ) -> (Vec<AttributePath>, Diagnostics) {
        let r = Managed::<Token>::new(Shared::default());
        let mut diags = Diagnostics::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (_, _, replace) = rt
            .block_on(r.plan_update(
                &mut diags,
                prior,
                proposed,
                config,
                private,
                ValueEmpty::Null,
            ))
            .unwrap();
        (replace, diags)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::validate::tests::{errors, set, v};
    use tf_provider::value::ValueEmpty;
    use tf_provider::Resource;

    fn config(f: impl FnOnce(&mut TokenState)) -> TokenState {
        let mut c = TokenState {
            bot_id: v("0190f0f0-0000-7000-8000-000000000002"),
            ..TokenState::default()
        };
        f(&mut c);
        c
    }

    fn summaries(c: &TokenState) -> Vec<(String, AttributePath)> {
        errors(|d| validate_token(d, c))
    }

    #[test]
    fn each_attribute_is_checked_at_plan_and_named() {
        assert!(summaries(&config(|c| {
            c.label = v(&"é".repeat(rules::MAX_LABEL_CHARS));
            c.expiry = v("90d");
            c.rotate_before = v("30d");
            c.grace_period = v("1h");
            c.claims = set(&["machines:get,list:*"]);
        }))
        .is_empty());
        let named =
            |summary: &str, attr: &'static str| (summary.to_string(), AttributePath::new(attr));
        for (c, expected) in [
            (
                config(|c| c.label = v(&"x".repeat(201))),
                named("Invalid label", "label"),
            ),
            (
                config(|c| c.label = v("a\tb")),
                named("Invalid label", "label"),
            ),
            (
                config(|c| c.expiry = v("10 days")),
                named("Invalid expiry", "expiry"),
            ),
            (
                config(|c| c.expiry = v("101y")),
                named("Invalid expiry", "expiry"),
            ),
            (
                config(|c| c.expires_at = v("tomorrow")),
                named("Invalid expires_at", "expires_at"),
            ),
            (
                config(|c| c.rotate_before = v("soon")),
                named("Invalid rotate_before", "rotate_before"),
            ),
            (
                config(|c| c.grace_period = v("forever")),
                named("Invalid grace_period", "grace_period"),
            ),
            (
                config(|c| c.claims = set(&["bots"])),
                named("Invalid claim", "claims"),
            ),
            (
                config(|c| c.bot_id = v("ci")),
                named("Invalid bot_id", "bot_id"),
            ),
            (
                config(|c| c.app_id = v("web")),
                named("Invalid app_id", "app_id"),
            ),
        ] {
            assert_eq!(summaries(&c), vec![expected]);
        }
        assert_eq!(
            summaries(&config(|c| {
                c.expiry = v("1d");
                c.expires_at = v("2030-01-01T00:00:00Z");
            })),
            vec![named("Conflicting expiry and expires_at", "expires_at")]
        );
    }

    #[test]
    fn an_expires_at_in_the_past_or_too_far_fails_the_plan_of_a_new_token() {
        let plan = |expires_at: &str| {
            let r = Managed::<Token>::new(Shared::default());
            let c = config(|c| c.expires_at = v(expires_at));
            let mut diags = Diagnostics::default();
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(r.plan_create(&mut diags, c.clone(), c, ValueEmpty::Null));
            diags
                .errors
                .iter()
                .map(|d| (d.summary.to_string(), d.attribute.clone()))
                .collect::<Vec<_>>()
        };
        let expected = vec![(
            "Invalid expires_at".to_string(),
            AttributePath::new("expires_at"),
        )];
        assert_eq!(plan("2001-01-01T00:00:00Z"), expected);
        assert_eq!(plan("2999-01-01T00:00:00Z"), expected);
        let soon = rfc3339(now() + time::Duration::days(30));
        assert!(plan(&soon).is_empty());
        // Validation itself (also run by `terraform destroy`) ignores the clock.
        assert!(summaries(&config(|c| c.expires_at = v("2001-01-01T00:00:00Z"))).is_empty());
    }

    #[test]
    fn equivalent_claims_and_instants_never_replace() {
        let prior = token_state();
        let mut same = prior.clone();
        same.claims = set(&["machines:get:*"]);
        same.expires_at = v("2099-01-01T01:00:00+01:00");
        assert!(plan_update(prior.clone(), same.clone(), same, None)
            .0
            .is_empty());
        let mut other = prior.clone();
        other.claims = set(&["machines:list:*"]);
        other.label = v("renamed");
        assert_eq!(
            plan_update(prior, other.clone(), other, None).0,
            vec![AttributePath::new("claims")]
        );
    }

    #[test]
    fn a_token_no_longer_active_is_replaced_and_the_plan_says_which_and_why() {
        let plan = |f: &dyn Fn(&mut TokenState)| {
            let mut prior = token_state();
            prior.label = v("ci");
            prior.status = v("active");
            f(&mut prior);
            let config = TokenState {
                status: Value::Null,
                ..prior.clone()
            };
            let (replace, diags) = plan_update(prior.clone(), prior, config, None);
            let warnings: Vec<String> = diags
                .warnings
                .iter()
                .map(|d| d.summary.to_string())
                .collect();
            (replace, warnings)
        };
        let id = "0190f0f0-0000-7000-8000-000000000001";
        assert_eq!(plan(&|_| {}), (vec![], vec![]));
        assert_eq!(
            plan(&|s| {
                s.status = v("revoked");
                s.revoked_reason = v("leaked");
            }),
            (
                vec![AttributePath::new("status")],
                vec![format!(
                    "Token \"ci\" (id {id}) is revoked (leaked); it will be replaced"
                )]
            )
        );
        assert_eq!(
            plan(&|s| s.status = v("expired")).1,
            vec![format!(
                "Token \"ci\" (id {id}) is expired (at 2099-01-01T00:00:00Z); it will be replaced"
            )]
        );
        let (replace, warnings) = plan(&|s| {
            s.status = v("exhausted");
            s.uses = Value::Value(1);
            s.max_uses = Value::Value(1);
            s.label = Value::Null;
        });
        assert_eq!(replace, vec![AttributePath::new("status")]);
        assert_eq!(
            warnings,
            vec![format!(
                "Token {id} is exhausted (1 of 1 uses); it will be replaced"
            )]
        );
    }

    #[test]
    fn a_new_token_is_planned_active_and_unused() {
        let c = config(|c| c.max_uses = Value::Value(3));
        let mut s = c.clone();
        Token::plan_new(&mut s, &c);
        assert_eq!(s.status, v("active"));
        assert_eq!(s.uses, Value::Value(0));
        assert_eq!((s.revoked_reason, s.parent_id), (Value::Null, Value::Null));
    }

    #[test]
    fn networks_and_use_limits_are_validated_and_their_changes_replace() {
        assert_eq!(
            summaries(&config(|c| c.allowed_cidrs = set(&["10.1.2.3/16"]))),
            vec![(
                "Invalid allowed_cidrs".to_string(),
                AttributePath::new("allowed_cidrs")
            )]
        );
        assert_eq!(
            summaries(&config(|c| c.max_uses = Value::Value(0))),
            vec![(
                "Invalid max_uses".to_string(),
                AttributePath::new("max_uses")
            )]
        );
        let mut prior = token_state();
        prior.allowed_cidrs = set(&["192.0.2.7", "10.0.0.0/8"]);
        prior.max_uses = Value::Value(5);
        let mut same = prior.clone();
        same.allowed_cidrs = set(&["10.0.0.0/8", "192.0.2.7/32"]);
        assert!(plan_update(prior.clone(), same.clone(), same, None)
            .0
            .is_empty());
        let mut other = prior.clone();
        other.max_uses = Value::Value(6);
        other.allowed_cidrs = set(&["10.0.0.0/16"]);
        assert_eq!(
            plan_update(prior, other.clone(), other, None).0,
            vec![
                AttributePath::new("allowed_cidrs"),
                AttributePath::new("max_uses")
            ]
        );
    }

    #[test]
    fn the_servers_view_fills_status_uses_and_bindings_in_the_users_spelling() {
        let t: RemoteToken = serde_json::from_value(remote_token(serde_json::json!({
            "status": "revoked",
            "revoked_reason": "leaked",
            "allowed_cidrs": ["192.0.2.7/32"],
            "max_uses": 3,
            "uses": 2,
            "parent_id": "0190f0f0-0000-7000-8000-000000000009"
        })))
        .unwrap();
        let mut s = token_state();
        s.allowed_cidrs = set(&["192.0.2.7"]);
        Token::apply(&mut s, &t);
        assert_eq!(s.allowed_cidrs, set(&["192.0.2.7"]));
        assert_eq!((s.max_uses, s.uses), (Value::Value(3), Value::Value(2)));
        assert_eq!(s.status, v("revoked"));
        assert_eq!(s.revoked_reason, v("leaked"));
        assert_eq!(s.parent_id, v("0190f0f0-0000-7000-8000-000000000009"));
        // Unbound and unlimited: null, as when not configured.
        let t: RemoteToken = serde_json::from_value(remote_token(serde_json::json!({}))).unwrap();
        let mut s = token_state();
        Token::apply(&mut s, &t);
        assert_eq!((s.allowed_cidrs, s.max_uses), (Value::Null, Value::Null));
        assert_eq!(s.revoked_reason, Value::Null);
    }

    #[test]
    fn forces_new_attributes_are_the_documented_ones() {
        let forcing: Vec<&str> = Token::fields()
            .iter()
            .filter(|f| f.forces_new)
            .map(|f| f.name)
            .collect();
        assert_eq!(
            forcing,
            [
                "org",
                "bot_id",
                "expiry",
                "expires_at",
                "app_id",
                "claims",
                "keepers",
                "allowed_cidrs",
                "max_uses"
            ]
        );
    }
}
