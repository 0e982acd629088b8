//! `sigil_token`: a token issued for a bot.
//!
//! - `bot_id`, `expiry`/`expires_at`, `app_id`, `claims`, `keepers` and `org`
//!   force a new token; `label` is changed in place (`PATCH`), and
//!   `rotate_before`/`grace_period` only live in state.
//! - `token` (the JWT) is known only from create: the server never shows it again.
//! - Rotation is decided in `plan_update`, against the time the token was last
//!   *read* (kept in private state by refresh), not against "now". A saved
//!   plan's apply re-plans with the same prior state and private state, so it
//!   reaches the same decision: apply never re-decides a rotation.
//! - Destroy revokes, or with `grace_period` shortens the expiry to now + grace.
//! - Refresh drops the token from state only on a definite answer: 404, or a
//!   token the server reports `revoked` or `expired`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::{IssueToken, IssuedToken, Token, UpdateToken};
use sigil_proto::claims::ClaimSet;
use sigil_proto::client::{Client, ClientError};
use sigil_proto::duration::{format_duration, parse_duration_for};
use sigil_proto::ErrorCode;
use tf_provider::schema::{AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::common::*;

#[derive(Clone, Serialize, Deserialize)]
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
    pub token: Value<String>,
    pub created_at: Value<String>,
    pub created_by: Value<String>,
    pub scope: Value<String>,
}

/// Private state: what Terraform keeps for us next to the state, unseen by users.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct TokenPrivate {
    /// Unix time of the last successful refresh: the "now" rotation is decided against.
    #[serde(default)]
    pub checked_at: Option<i64>,
    /// Set by import: the first plan after it adopts `expiry` and `keepers`
    /// from the configuration instead of replacing the token for them.
    #[serde(default)]
    pub imported: bool,
    /// Refreshes seen since the import: the import's own (1) and the first
    /// plan's (2). A third means that plan was applied, so adoption is over.
    #[serde(default)]
    pub import_reads: u8,
}

impl TokenPrivate {
    fn fresh() -> Self {
        TokenPrivate {
            checked_at: Some(now().unix_timestamp()),
            imported: false,
            import_reads: 0,
        }
    }

    /// Records a successful refresh at `at`.
    ///
    /// An imported token keeps `imported` for the refresh `terraform import`
    /// itself makes and for the one of the first plan after it, so that plan
    /// may adopt `expiry` and `keepers`. A plan's refresh is only kept when the
    /// plan is applied: the next refresh after that ends adoption for good,
    /// whether or not the first plan changed anything.
    pub fn refreshed(mut self, at: i64) -> Self {
        self.checked_at = Some(at);
        if self.imported {
            self.import_reads = self.import_reads.saturating_add(1);
            if self.import_reads > 2 {
                self.imported = false;
                self.import_reads = 0;
            }
        }
        self
    }
}

/// A refresh older than this (seconds) makes a rotation decision worth a warning.
const STALE_REFRESH: i64 = 24 * 3600;

/// How many times `create` sends the issue request (same Idempotency-Key).
const ISSUE_ATTEMPTS: u32 = 3;

/// Whether a failed issue request may have been lost on the way (transport)
/// or failed on the server's side (5xx): worth a retry with the same key, and,
/// when the retries fail too, maybe minted all the same.
fn retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Transport { .. } => true,
        _ => e.status().is_some_and(|s| s >= 500),
    }
}

/// Sends the issue request up to `ISSUE_ATTEMPTS` times with the same
/// Idempotency-Key, so a retry never mints a second token: the server answers
/// a repeated key with the token the first request minted.
pub async fn issue_with_retries(
    client: &Client,
    org: &str,
    req: &IssueToken,
    key: &str,
    backoff: std::time::Duration,
) -> Result<IssuedToken, ClientError> {
    let mut attempt = 1;
    loop {
        match client.issue_token(org, req, Some(key)).await {
            Err(e) if retryable(&e) && attempt < ISSUE_ATTEMPTS => {
                tokio::time::sleep(backoff * attempt).await;
                attempt += 1;
            }
            r => return r,
        }
    }
}

/// A 404 on a token: definite unless the org is out of reach, or the provider's
/// token is app-scoped and cannot see this token's app.
async fn token_not_found(
    api: &Api,
    org: &str,
    id: uuid::Uuid,
    app_id: &Value<String>,
    err: &ClientError,
) -> NotFound {
    let blind = match (&api.app, app_id.as_ref_option()) {
        (None, _) => false,
        (Some(_), Some(app)) => api.client.get_app(org, app).await.is_err(),
        (Some(_), None) => true,
    };
    confirm_not_found(api, org, &format!("token {id}"), err, blind).await
}

pub struct TokenResource(pub Shared);

fn field_attr(field: &str) -> Option<&'static str> {
    Some(match field {
        "owner" => "bot_id",
        "label" => "label",
        "expiry" => "expiry",
        "expires_at" => "expires_at",
        "app" => "app_id",
        "claims" => "claims",
        _ => return None,
    })
}

/// Why a plan replaces a token because of `rotate_before`, if it does.
pub fn rotation_due(expires_at: i64, rotate_before: i64, decided_at: i64) -> bool {
    decided_at >= expires_at.saturating_sub(rotate_before)
}

/// Fills the state's server-side attributes from the server's view of the token,
/// keeping the configuration's spelling wherever it means the same thing.
fn apply_token(s: &mut TokenState, t: &Token) {
    s.id = Value::Value(t.id.to_string());
    s.org = Value::Value(t.org.clone());
    s.bot_id = same_id_or(&s.bot_id, t.owner_id);
    s.label = opt_string(&s.label, t.label.as_deref());
    s.expires_at = same_instant_or(&s.expires_at, t.expires_at);
    s.app_id = match t.app_id {
        Some(a) => same_id_or(&s.app_id, a),
        None => Value::Null,
    };
    s.claims = match &s.claims {
        Value::Value(_) if known_set(&s.claims).is_some_and(|p| same_claims(&p, &t.claims)) => {
            s.claims.clone()
        }
        _ => to_set(&t.claims),
    };
    s.created_at = Value::Value(rfc3339(t.created_at));
    s.created_by = Value::Value(t.created_by.to_string());
    s.scope = Value::Value(t.scope.clone());
}

fn planned_scope(app_id: &Value<String>) -> Value<String> {
    match app_id {
        Value::Null => Value::Value("org".into()),
        _ => Value::Value("app".into()),
    }
}

impl TokenResource {
    /// Marks what a new token will compute as unknown.
    fn plan_new(&self, s: &mut TokenState, config: &TokenState) {
        s.id = Value::Unknown;
        s.token = Value::Unknown;
        s.created_at = Value::Unknown;
        s.created_by = Value::Unknown;
        s.scope = planned_scope(&s.app_id);
        if config.expires_at.is_null() {
            s.expires_at = Value::Unknown;
        }
        if config.claims.is_null() {
            s.claims = Value::Unknown;
        }
        if config.org.is_null() {
            s.org = self.0.default_org();
        }
    }

    /// Plan-time check that the claims are within the bot's permissions, when
    /// both are known: the same check (and code) as the server's.
    async fn check_claims(&self, diags: &mut Diagnostics, s: &TokenState) {
        let (Some(api), Value::Value(bot), Some(claims)) =
            (self.0.plan_api(), &s.bot_id, known_set(&s.claims))
        else {
            return;
        };
        if s.claims.is_null() || uuid::Uuid::parse_str(bot).is_err() {
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
            Err(e) => api_error(diags, "Cannot check the token's claims", &e, &field_attr),
        }
    }
}

#[async_trait]
impl Resource for TokenResource {
    type State<'a> = TokenState;
    type PrivateState<'a> = Option<TokenPrivate>;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::*;
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::markdown(
                    "A long-lived, scoped token for a bot. The JWT is in `token`, known only \
                     from create.",
                ),
                attributes: map! {
                    "id" => string(Computed, "The token's id (its JWT `jti`)."),
                    "org" => string(OptionalComputed, "Org of the token; defaults to the provider's. Forces a new token."),
                    "bot_id" => string(Required, "Id of the bot the token is for. Forces a new token."),
                    "label" => string(Optional, "A label; changed in place."),
                    "expiry" => string(Optional, "Lifetime from issue, e.g. `100d`, `1h30m`, `1y`. Conflicts with `expires_at`. Forces a new token. Neither set: the server's default lifetime."),
                    "expires_at" => string(OptionalComputed, "Absolute expiry (RFC 3339). Conflicts with `expiry`; computed from it otherwise. Forces a new token."),
                    "app_id" => string(Optional, "Scope the token to this app (its id). Forces a new token."),
                    "claims" => string_set(OptionalComputed, "Claims (`scope:action:specific`), a subset of the bot's permissions; defaults to all of them. Forces a new token."),
                    "rotate_before" => string(Optional, "A duration: once the token is inside this window before its expiry, plans replace it (and say why)."),
                    "grace_period" => string(Optional, "A duration: on destroy, the token stays valid this long (its expiry is shortened) instead of being revoked at once."),
                    "keepers" => string_map(Optional, "Arbitrary values; changing any forces a new token."),
                    "token" => attr(AttributeType::String, Computed, true, "The JWT. Known only from create: imported tokens have none."),
                    "created_at" => string(Computed, "When the token was issued (RFC 3339)."),
                    "created_by" => string(Computed, "Id of the principal that issued the token."),
                    "scope" => string(Computed, "`org` or `app`."),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, c: TokenState) -> Option<()> {
        check_org(diags, &c.org);
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
        let mut expiry_secs = None;
        if let Value::Value(e) = &c.expiry {
            match parse_duration_for("expiry", e) {
                Ok(s) => expiry_secs = Some(s),
                Err(err) => diags.error(
                    "Invalid expiry",
                    err.to_string(),
                    AttributePath::new("expiry"),
                ),
            }
        }
        if let Value::Value(e) = &c.expires_at {
            if parse_rfc3339(e).is_none() {
                diags.error(
                    "Invalid expires_at",
                    format!("invalid expires_at {e:?}: expected an RFC 3339 time such as 2030-01-31T12:00:00Z (use `expiry` for a duration such as 100d)"),
                    AttributePath::new("expires_at"),
                );
            }
        }
        if !c.expiry.is_null() && !c.expires_at.is_null() {
            diags.error(
                "Conflicting expiry and expires_at",
                "`expiry` and `expires_at` cannot both be set: give a lifetime (`expiry`) or a time (`expires_at`).",
                AttributePath::new("expires_at"),
            );
        }
        if let Value::Value(r) = &c.rotate_before {
            match parse_duration_for("rotate_before", r) {
                Ok(secs) => {
                    if !c.expires_at.is_null() {
                        diags.error(
                            "rotate_before needs expiry",
                            "`rotate_before` cannot be used with a fixed `expires_at`: the new token would expire at the same time and be replaced again. Use `expiry`.",
                            AttributePath::new("rotate_before"),
                        );
                    } else if let Some(e) = expiry_secs.filter(|e| *e <= secs) {
                        diags.error(
                            "rotate_before too long",
                            format!(
                                "rotate_before ({r}) must be shorter than expiry ({}): otherwise every plan would replace the token.",
                                format_duration(e)
                            ),
                            AttributePath::new("rotate_before"),
                        );
                    }
                }
                Err(err) => diags.error(
                    "Invalid rotate_before",
                    err.to_string(),
                    AttributePath::new("rotate_before"),
                ),
            }
        }
        if let Value::Value(g) = &c.grace_period {
            if let Err(err) = parse_duration_for("grace_period", g) {
                diags.error(
                    "Invalid grace_period",
                    err.to_string(),
                    AttributePath::new("grace_period"),
                );
            }
        }
        if let Value::Value(set) = &c.claims {
            for claim in set.iter().filter_map(|v| v.as_ref_option()) {
                if let Err(err) = sigil_proto::Claim::parse(claim) {
                    diags.error(
                        "Invalid claim",
                        format!("claims: {err}"),
                        AttributePath::new("claims"),
                    );
                }
            }
            if set.len() > sigil_proto::claims::MAX_CLAIMS {
                diags.error(
                    "Too many claims",
                    format!(
                        "claims: at most {} claims are accepted",
                        sigil_proto::claims::MAX_CLAIMS
                    ),
                    AttributePath::new("claims"),
                );
            }
        }
        if let Value::Value(l) = &c.label {
            if l.len() > 200 {
                diags.error(
                    "Invalid label",
                    "label: at most 200 characters",
                    AttributePath::new("label"),
                );
            }
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        mut state: TokenState,
        private: Option<TokenPrivate>,
        _meta: ValueEmpty,
    ) -> Option<(TokenState, Option<TokenPrivate>)> {
        let Value::Value(id) = &state.id else {
            return Some((state, private));
        };
        let Ok(id) = uuid::Uuid::parse_str(id) else {
            return Some((state, private));
        };
        let api = match self.0.api(diags) {
            Some(a) => a,
            None => return Some((state, private)),
        };
        let org = org_of(&state.org, &api);
        match api.client.get_token(&org, id).await {
            Ok(t) if t.status == "active" => {
                apply_token(&mut state, &t);
                let p = private
                    .unwrap_or_default()
                    .refreshed(now().unix_timestamp());
                Some((state, Some(p)))
            }
            Ok(t) => {
                diags.root_warning(
                    format!("Token {id} is {}", t.status),
                    format!(
                        "The token was {} outside Terraform; it is removed from the state and the next apply issues a new one.",
                        t.status
                    ),
                );
                None
            }
            Err(e) if e.is_not_found() => {
                if !token_not_found(&api, &org, id, &state.app_id, &e)
                    .await
                    .gone_or_report(diags)
                {
                    return Some((state, private));
                }
                diags.root_warning(
                    format!("Token {id} no longer exists"),
                    "It is removed from the state; the next apply issues a new one.",
                );
                None
            }
            Err(e) => {
                api_error(diags, &format!("Cannot read token {id}"), &e, &no_field);
                Some((state, private))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: TokenState,
        config: TokenState,
        _meta: ValueEmpty,
    ) -> Option<(TokenState, Option<TokenPrivate>)> {
        let mut s = proposed;
        self.plan_new(&mut s, &config);
        self.check_claims(diags, &s).await;
        Some((s, None))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: TokenState,
        proposed: TokenState,
        config: TokenState,
        private: Option<TokenPrivate>,
        _meta: ValueEmpty,
    ) -> Option<(TokenState, Option<TokenPrivate>, Vec<AttributePath>)> {
        let mut s = proposed;
        let imported = private.as_ref().is_some_and(|p| p.imported);
        let mut replace: Vec<&'static str> = Vec::new();

        if s.org != prior.org {
            replace.push("org");
        }
        if s.bot_id != prior.bot_id {
            replace.push("bot_id");
        }
        if s.app_id != prior.app_id {
            replace.push("app_id");
        }
        // After an import, expiry and keepers are unknown to the server: adopt them.
        if s.expiry != prior.expiry && !(imported && prior.expiry.is_null()) {
            replace.push("expiry");
        }
        if s.keepers != prior.keepers && !(imported && prior.keepers.is_null()) {
            replace.push("keepers");
        }
        let same_time = match (&s.expires_at, &prior.expires_at) {
            (Value::Value(a), Value::Value(b)) => {
                parse_rfc3339(a).map(|t| t.unix_timestamp())
                    == parse_rfc3339(b).map(|t| t.unix_timestamp())
            }
            (a, b) => a == b,
        };
        if !same_time {
            replace.push("expires_at");
        }
        let same_claims_set = match (known_set(&s.claims), known_set(&prior.claims)) {
            (Some(a), Some(b)) if !s.claims.is_null() && !prior.claims.is_null() => {
                same_claims(&a, &b)
            }
            _ => s.claims == prior.claims,
        };
        if !same_claims_set {
            replace.push("claims");
        }

        // Rotation: decided here, once, against the time of the last refresh.
        if replace.is_empty() && config.expires_at.is_null() {
            if let (Value::Value(rb), Value::Value(exp)) = (&s.rotate_before, &prior.expires_at) {
                if let (Ok(window), Some(exp)) =
                    (parse_duration_for("rotate_before", rb), parse_rfc3339(exp))
                {
                    let now = now().unix_timestamp();
                    let checked_at = private.as_ref().and_then(|p| p.checked_at);
                    let decided_at = checked_at.unwrap_or(now);
                    if now - decided_at > STALE_REFRESH {
                        diags.warning(
                            "Rotation decided against an old refresh",
                            format!(
                                "Token {} was last read from the server at {} ({} ago; a plan with -refresh=false?): whether it is inside its rotate_before window ({rb}) is decided against that time, not now{}. Plan with refresh to decide against the current time.",
                                prior.id.as_ref_option().map(String::as_str).unwrap_or("?"),
                                time::OffsetDateTime::from_unix_timestamp(decided_at)
                                    .map(rfc3339)
                                    .unwrap_or_default(),
                                format_duration(now - decided_at),
                                if rotation_due(exp.unix_timestamp(), window, now)
                                    && !rotation_due(exp.unix_timestamp(), window, decided_at)
                                {
                                    ", and by now it is inside the window: this plan does not rotate it, the next refreshed plan will"
                                } else {
                                    ""
                                },
                            ),
                            AttributePath::new("rotate_before"),
                        );
                    }
                    if rotation_due(exp.unix_timestamp(), window, decided_at) {
                        let left = exp.unix_timestamp() - decided_at;
                        diags.warning(
                            "Token rotation planned",
                            format!(
                                "Token {} expires at {} ({}), inside its rotate_before window ({rb}): this plan replaces it with a new token.",
                                prior.id.as_ref_option().map(String::as_str).unwrap_or("?"),
                                rfc3339(exp),
                                if left > 0 { format!("in {}", format_duration(left)) } else { "now".into() },
                            ),
                            AttributePath::new("rotate_before"),
                        );
                        replace.push("expires_at");
                    }
                }
            }
        }

        if replace.is_empty() {
            // In place: only label, rotate_before, grace_period (and adopted values) change.
            return Some((s, private, Vec::new()));
        }
        self.plan_new(&mut s, &config);
        // The new token is issued with these claims: check them now, not at apply.
        self.check_claims(diags, &s).await;
        Some((
            s,
            private,
            replace.into_iter().map(AttributePath::new).collect(),
        ))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: TokenState,
        private: Option<TokenPrivate>,
        _meta: ValueEmpty,
    ) -> Option<Option<TokenPrivate>> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: TokenState,
        _config: TokenState,
        _private: Option<TokenPrivate>,
        _meta: ValueEmpty,
    ) -> Option<(TokenState, Option<TokenPrivate>)> {
        let api = self.0.api(diags)?;
        let org = org_of(&planned.org, &api);
        let Value::Value(owner) = planned.bot_id.clone() else {
            diags.error_short("bot_id is not known", AttributePath::new("bot_id"));
            return None;
        };
        let claims = match &planned.claims {
            Value::Value(_) => known_set(&planned.claims),
            _ => None,
        };
        let req = IssueToken {
            owner,
            label: planned
                .label
                .as_ref_option()
                .filter(|l| !l.is_empty())
                .cloned(),
            expiry: planned.expiry.as_ref_option().cloned(),
            expires_at: match &planned.expires_at {
                Value::Value(e) => Some(e.clone()),
                _ => None,
            },
            app: planned.app_id.as_ref_option().cloned(),
            claims,
        };
        // One key per create, sent with every retry: a retried request never
        // mints a second token.
        let key = uuid::Uuid::new_v4().to_string();
        let backoff = std::time::Duration::from_millis(500);
        match issue_with_retries(&api.client, &org, &req, &key, backoff).await {
            Ok(issued) => {
                let mut s = planned;
                apply_token(&mut s, &issued.metadata);
                s.token = Value::Value(issued.token.into_inner());
                Some((s, Some(TokenPrivate::fresh())))
            }
            Err(e) if retryable(&e) => {
                api_error(diags, "Cannot issue the token", &e, &field_attr);
                diags.root_error(
                    "A token may have been issued all the same",
                    format!(
                        "The issue request failed {ISSUE_ATTEMPTS} times in a way that does not \
                         tell whether the server minted a token (Idempotency-Key {key}). Look \
                         for it among the active tokens of bot {} in org {org:?}{}, e.g. \
                         `sigil tokens list --org {org} -u {}` or the `sigil_tokens` data \
                         source, and revoke it (or import it) before applying again.",
                        req.owner,
                        match &req.label {
                            Some(l) => format!(" with label {l:?}"),
                            None => String::new(),
                        },
                        req.owner,
                    ),
                );
                None
            }
            Err(e) => {
                api_error(diags, "Cannot issue the token", &e, &field_attr);
                None
            }
        }
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: TokenState,
        planned: TokenState,
        _config: TokenState,
        private: Option<TokenPrivate>,
        _meta: ValueEmpty,
    ) -> Option<(TokenState, Option<TokenPrivate>)> {
        let mut s = planned;
        if s.label != prior.label {
            let api = self.0.api(diags)?;
            let org = org_of(&s.org, &api);
            let Some(id) =
                s.id.as_ref_option()
                    .and_then(|i| uuid::Uuid::parse_str(i).ok())
            else {
                diags.root_error_short("The token's id is not known");
                return None;
            };
            let req = UpdateToken {
                label: Some(s.label.as_ref_option().cloned().unwrap_or_default()),
                ..Default::default()
            };
            match api.client.update_token(&org, id, &req).await {
                Ok(t) => apply_token(&mut s, &t),
                Err(e) => {
                    api_error(diags, &format!("Cannot update token {id}"), &e, &field_attr);
                    return None;
                }
            }
        }
        let mut p = private.unwrap_or_default();
        p.imported = false;
        p.import_reads = 0;
        Some((s, Some(p)))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: TokenState,
        _private: Option<TokenPrivate>,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let api = self.0.api(diags)?;
        let org = org_of(&prior.org, &api);
        let Some(id) = prior
            .id
            .as_ref_option()
            .and_then(|i| uuid::Uuid::parse_str(i).ok())
        else {
            return Some(());
        };
        if let Value::Value(g) = &prior.grace_period {
            let grace = match parse_duration_for("grace_period", g) {
                Ok(g) => g,
                Err(e) => {
                    diags.error(
                        "Invalid grace_period",
                        e.to_string(),
                        AttributePath::new("grace_period"),
                    );
                    return None;
                }
            };
            let t = match api.client.get_token(&org, id).await {
                Ok(t) => t,
                Err(e) if e.is_not_found() => {
                    return token_not_found(&api, &org, id, &prior.app_id, &e)
                        .await
                        .gone_or_report(diags)
                        .then_some(());
                }
                Err(e) => {
                    api_error(diags, &format!("Cannot read token {id}"), &e, &no_field);
                    return None;
                }
            };
            if t.status != "active" {
                return Some(());
            }
            let until = now() + time::Duration::seconds(grace);
            if until >= t.expires_at {
                return Some(());
            }
            let req = UpdateToken {
                expires_at: Some(rfc3339(until)),
                ..Default::default()
            };
            return match api.client.update_token(&org, id, &req).await {
                Ok(t) => {
                    diags.root_warning(
                        format!("Token {id} stays valid until {}", rfc3339(t.expires_at)),
                        format!(
                            "Its grace_period ({g}) shortened its expiry instead of revoking it."
                        ),
                    );
                    Some(())
                }
                Err(e) if e.is_not_found() => token_not_found(&api, &org, id, &prior.app_id, &e)
                    .await
                    .gone_or_report(diags)
                    .then_some(()),
                Err(e) => {
                    api_error(diags, &format!("Cannot shorten token {id}"), &e, &no_field);
                    None
                }
            };
        }
        match api
            .client
            .revoke_token(&org, id, Some("destroyed by Terraform"))
            .await
        {
            Ok(_) => Some(()),
            Err(e) if e.is_not_found() => token_not_found(&api, &org, id, &prior.app_id, &e)
                .await
                .gone_or_report(diags)
                .then_some(()),
            Err(e) => {
                api_error(diags, &format!("Cannot revoke token {id}"), &e, &no_field);
                None
            }
        }
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(TokenState, Option<TokenPrivate>)> {
        let api = self.0.api(diags)?;
        let (org, rest) = split_import_id(&id, &api);
        let Ok(uid) = uuid::Uuid::parse_str(&rest) else {
            diags.root_error(
                "Invalid import id",
                format!("expected a token id (a UUID) or org/id, got {id:?}"),
            );
            return None;
        };
        match api.client.get_token(&org, uid).await {
            Ok(t) if t.status == "active" => {
                let mut s = TokenState {
                    id: Value::Null,
                    org: Value::Null,
                    bot_id: Value::Null,
                    label: Value::Null,
                    expiry: Value::Null,
                    expires_at: Value::Null,
                    app_id: Value::Null,
                    claims: Value::Null,
                    rotate_before: Value::Null,
                    grace_period: Value::Null,
                    keepers: Value::Null,
                    token: Value::Null,
                    created_at: Value::Null,
                    created_by: Value::Null,
                    scope: Value::Null,
                };
                apply_token(&mut s, &t);
                Some((
                    s,
                    Some(TokenPrivate {
                        checked_at: None,
                        imported: true,
                        import_reads: 0,
                    }),
                ))
            }
            Ok(t) => {
                diags.root_error(
                    format!("Cannot import token {uid}"),
                    format!(
                        "The token is {}: there is nothing live to manage.",
                        t.status
                    ),
                );
                None
            }
            Err(e) => {
                api_error(diags, &format!("Cannot import token {uid}"), &e, &no_field);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn token_state() -> TokenState {
        TokenState {
            id: Value::Value("0190f0f0-0000-7000-8000-000000000001".into()),
            org: Value::Value("default".into()),
            bot_id: Value::Value("0190f0f0-0000-7000-8000-000000000002".into()),
            label: Value::Null,
            expiry: Value::Null,
            expires_at: Value::Value("2099-01-01T00:00:00Z".into()),
            app_id: Value::Null,
            claims: to_set(&["machines:get:*".to_string()]),
            rotate_before: Value::Null,
            grace_period: Value::Null,
            keepers: Value::Null,
            token: Value::Null,
            created_at: Value::Value("2024-01-01T00:00:00Z".into()),
            created_by: Value::Value("0190f0f0-0000-7000-8000-000000000003".into()),
            scope: Value::Value("org".into()),
        }
    }

    fn with_keepers(mut s: TokenState) -> TokenState {
        s.keepers = Value::Value(
            [("generation".to_string(), Value::Value("1".to_string()))]
                .into_iter()
                .collect(),
        );
        s
    }

    /// Plans `config` against an imported token whose private state went
    /// through `refreshes` refreshes; the attributes that force a replacement.
    fn plan_after_import(refreshes: usize, config: TokenState) -> Vec<AttributePath> {
        let mut p = TokenPrivate {
            checked_at: None,
            imported: true,
            import_reads: 0,
        };
        for _ in 0..refreshes {
            p = p.refreshed(now().unix_timestamp());
        }
        let r = TokenResource(Shared::default());
        let mut diags = Diagnostics::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (_, _, replace) = rt
            .block_on(r.plan_update(
                &mut diags,
                token_state(),
                config.clone(),
                config,
                Some(p),
                Value::Null,
            ))
            .unwrap();
        replace
    }

    #[test]
    fn only_the_first_plan_after_an_import_adopts_keepers() {
        // `terraform import` refreshes once, the first plan once: it adopts.
        assert!(plan_after_import(2, with_keepers(token_state())).is_empty());
        // That plan applied (no changes), the next refresh ends adoption.
        assert_eq!(
            plan_after_import(3, with_keepers(token_state())),
            vec![AttributePath::new("keepers")]
        );
        assert_eq!(
            plan_after_import(7, with_keepers(token_state())),
            vec![AttributePath::new("keepers")]
        );
        // A token that was never imported is never adopted from.
        let mut p = TokenPrivate::fresh();
        for _ in 0..3 {
            p = p.refreshed(now().unix_timestamp());
            assert!(!p.imported);
        }
    }

    #[test]
    fn a_rotation_decided_against_an_old_refresh_warns() {
        let plan = |checked_ago: i64| {
            let mut s = token_state();
            s.expiry = Value::Value("100d".into());
            s.rotate_before = Value::Value("1d".into());
            let p = TokenPrivate {
                checked_at: Some(now().unix_timestamp() - checked_ago),
                ..TokenPrivate::default()
            };
            let mut diags = Diagnostics::default();
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            // `expires_at` is computed from `expiry`: not in the configuration.
            let config = TokenState {
                expires_at: Value::Null,
                ..s.clone()
            };
            rt.block_on(TokenResource(Shared::default()).plan_update(
                &mut diags,
                s.clone(),
                s,
                config,
                Some(p),
                Value::Null,
            ))
            .unwrap();
            diags
                .warnings
                .iter()
                .map(|d| d.summary.to_string())
                .collect::<Vec<_>>()
        };
        assert!(plan(60).is_empty());
        assert_eq!(
            plan(2 * 24 * 3600),
            vec!["Rotation decided against an old refresh".to_string()]
        );
    }

    /// A one-connection-at-a-time HTTP server answering `answers` in turn and
    /// recording each request's Idempotency-Key.
    async fn fake_server(answers: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let keys = Arc::new(Mutex::new(Vec::new()));
        let seen = keys.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body by Content-Length.
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse::<usize>().unwrap())
                            .unwrap_or(0);
                        let key = head
                            .lines()
                            .find_map(|l| l.strip_prefix("idempotency-key:"))
                            .map(|v| v.trim().to_string())
                            .unwrap_or_default();
                        seen.lock().unwrap().push(key);
                        break (i + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                sock.shutdown().await.unwrap();
            }
        });
        (format!("http://{addr}"), keys)
    }

    fn issued_body() -> String {
        serde_json::json!({
            "token": "header.payload.signature",
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
        })
        .to_string()
    }

    fn unavailable() -> (u16, String) {
        (
            503,
            r#"{"error":{"code":"unavailable","message":"try again"}}"#.to_string(),
        )
    }

    async fn issue(endpoint: &str) -> Result<IssuedToken, ClientError> {
        let client = Client::new(endpoint, None).unwrap();
        let req = IssueToken {
            owner: "ci".into(),
            ..Default::default()
        };
        let backoff = std::time::Duration::from_millis(1);
        issue_with_retries(&client, "default", &req, "key-1", backoff).await
    }

    #[tokio::test]
    async fn issue_retries_5xx_with_the_same_idempotency_key() {
        let (endpoint, keys) =
            fake_server(vec![unavailable(), unavailable(), (201, issued_body())]).await;
        let issued = issue(&endpoint).await.unwrap();
        assert_eq!(issued.metadata.owner, "ci");
        assert_eq!(*keys.lock().unwrap(), vec!["key-1"; 3]);
    }

    #[tokio::test]
    async fn issue_gives_up_after_three_attempts_and_never_retries_a_4xx() {
        let (endpoint, keys) = fake_server(vec![unavailable(), unavailable(), unavailable()]).await;
        let e = issue(&endpoint).await.unwrap_err();
        assert!(retryable(&e), "{e}");
        assert_eq!(keys.lock().unwrap().len(), 3);

        let bad = (
            422,
            r#"{"error":{"code":"claims_exceed_owner","message":"no"}}"#.to_string(),
        );
        let (endpoint, keys) = fake_server(vec![bad]).await;
        let e = issue(&endpoint).await.unwrap_err();
        assert!(!retryable(&e));
        assert_eq!(keys.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn issue_retries_a_broken_connection() {
        // Nothing listens on the port at first: a transport error, retried.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = issue(&format!("http://{addr}")).await.unwrap_err();
        assert!(matches!(e, ClientError::Transport { .. }), "{e}");
        assert!(retryable(&e));
    }

    #[test]
    fn rotation_window() {
        let exp = 1_000_000;
        assert!(!rotation_due(exp, 3600, exp - 7200));
        assert!(rotation_due(exp, 3600, exp - 3600));
        assert!(rotation_due(exp, 3600, exp - 10));
        assert!(rotation_due(exp, 3600, exp + 10));
    }
}
