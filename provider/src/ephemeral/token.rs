//! `ephemeral "sigil_token"`: a token of a bot for one Terraform run.
//!
//! The arguments are `sigil_token`'s that make sense for a token that lives
//! one run (`bot_id`, `claims`, `app_id`, `allowed_cidrs`, `max_uses`,
//! `expiry`/`expires_at`, `label`, `org`), checked by the same rules; the
//! results are `token` (sensitive), `id`, `expires_at` and `scope`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sigil_proto::api::IssueToken;
use tf_provider::schema::AttributeConstraint::*;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use super::{Ephemeral, Issued, Opened, DEFAULT_EXPIRY, DEFAULT_LABEL};
use crate::common::*;
use crate::resource::*;
use crate::token::issue::issue_with_retries;
use crate::validate::*;

#[derive(Default, Serialize, Deserialize)]
pub struct EphemeralTokenState {
    pub org: Value<String>,
    pub bot_id: Value<String>,
    pub label: Value<String>,
    pub expiry: Value<String>,
    pub expires_at: Value<String>,
    pub app_id: Value<String>,
    pub claims: StringSet,
    pub allowed_cidrs: StringSet,
    pub max_uses: Value<i64>,
    pub id: Value<String>,
    pub token: Value<String>,
    pub scope: Value<String>,
}

pub struct EphemeralToken;

/// The lifetime rules shared with `sigil_derived_token`: `expiry` or
/// `expires_at`, not both, each within the server's limits.
pub fn check_expiry(diags: &mut Diagnostics, expiry: &Value<String>, expires_at: &Value<String>) {
    if let Some(secs) = check_duration(diags, expiry, "expiry") {
        check_lifetime(diags, "expiry", secs);
    }
    check_expires_at(diags, expires_at, "expires_at", now().unix_timestamp());
    if !expiry.is_null() && !expires_at.is_null() {
        diags.error(
            "Conflicting expiry and expires_at",
            "`expiry` and `expires_at` cannot both be set: give a lifetime (`expiry`) or a time \
             (`expires_at`).",
            AttributePath::new("expires_at"),
        );
    }
}

/// The fields both ephemeral tokens share, after their own first ones.
pub fn common_fields(what: &str) -> Vec<Field> {
    vec![
        field(
            "claims",
            Optional,
            set_of_strings(),
            format!(
                "Claims of the token (`scope:action:specific`); default: all of {what}'s. \
                 Checked at plan."
            ),
        ),
        field(
            "allowed_cidrs",
            Optional,
            set_of_strings(),
            "Networks (IPv4/IPv6 CIDRs or addresses, at most 32) the token may be used from.",
        ),
        field(
            "max_uses",
            Optional,
            tf_provider::schema::AttributeType::Number,
            "How many authentications the token allows (1–1,000,000); default: unlimited.",
        ),
        field(
            "expiry",
            Optional,
            string(),
            format!(
                "Lifetime from when the run opens it (`30m`, `2h`); default `{DEFAULT_EXPIRY}`. \
                 Conflicts with `expires_at`."
            ),
        ),
        field(
            "expires_at",
            OptionalComputed,
            string(),
            "Absolute expiry (RFC 3339) instead of `expiry`; the result is the token's expiry.",
        ),
        field(
            "label",
            Optional,
            string(),
            format!("Label of the token; default `{DEFAULT_LABEL}`."),
        ),
        field("id", Computed, string(), "The token's id."),
        field(
            "token",
            Computed,
            string(),
            "The JWT: exists during the run only, never in a plan or state.",
        )
        .sensitive(),
        field(
            "scope",
            Computed,
            string(),
            "`org`, or `app` for a token scoped to an app.",
        ),
    ]
}

/// `None` when null, the value when known; an error when unknown (Terraform
/// opens only wholly known configurations, so this is a safeguard).
pub fn known_opt<T: Clone>(
    diags: &mut Diagnostics,
    v: &Value<T>,
    name: &'static str,
) -> Option<Option<T>> {
    match v {
        Value::Null => Some(None),
        Value::Value(x) => Some(Some(x.clone())),
        Value::Unknown => {
            diags.error_short(format!("{name} is not known yet"), AttributePath::new(name));
            None
        }
    }
}

pub fn known_strings(
    diags: &mut Diagnostics,
    v: &StringSet,
    name: &'static str,
) -> Option<Option<Vec<String>>> {
    match v {
        Value::Null => Some(None),
        _ => match known_set(v) {
            Some(s) => Some(Some(s)),
            None => {
                diags.error_short(format!("{name} is not known yet"), AttributePath::new(name));
                None
            }
        },
    }
}

/// The label to send: the configured one, else [`DEFAULT_LABEL`].
pub fn label_or_default(label: Option<String>) -> String {
    label
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| DEFAULT_LABEL.to_string())
}

/// The expiry to send: the configured lifetime or time, else [`DEFAULT_EXPIRY`].
pub fn expiry_or_default(
    expiry: Option<String>,
    expires_at: Option<String>,
) -> (Option<String>, Option<String>) {
    match (expiry, expires_at) {
        (None, None) => (Some(DEFAULT_EXPIRY.to_string()), None),
        other => other,
    }
}

#[async_trait]
impl Ephemeral for EphemeralToken {
    type State = EphemeralTokenState;
    const NAME: &'static str = "token";
    const DESCRIPTION: &'static str =
        "A token of a bot that exists only during one Terraform run (Terraform 1.10 and later): \
         opened when the run needs it, revoked when the run is done, never written to a plan \
         or state.";

    fn fields() -> Vec<Field> {
        let mut f = vec![
            field(
                "bot_id",
                Required,
                string(),
                "Id of the bot the token is for, e.g. `sigil_bot.ci.id`.",
            ),
            field(
                "org",
                OptionalComputed,
                string(),
                "Org of the bot; defaults to the provider's.",
            ),
            field(
                "app_id",
                Optional,
                string(),
                "Scope the token to this app (id), e.g. `sigil_app.web.id`.",
            ),
        ];
        f.extend(common_fields("the bot"));
        f
    }

    fn validate(diags: &mut Diagnostics, c: &EphemeralTokenState) {
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
        check_text(diags, &c.label, "label", sigil_proto::rules::check_label);
        check_expiry(diags, &c.expiry, &c.expires_at);
        check_claims(diags, &c.claims, "claims", "Invalid claim");
        check_cidrs(diags, &c.allowed_cidrs, "allowed_cidrs");
        check_max_uses(diags, &c.max_uses, "max_uses");
    }

    async fn open(
        diags: &mut Diagnostics,
        api: &Api,
        mut c: EphemeralTokenState,
    ) -> Option<(EphemeralTokenState, Opened)> {
        let owner = known_opt(diags, &c.bot_id, "bot_id")?.unwrap_or_default();
        let (expiry, expires_at) = expiry_or_default(
            known_opt(diags, &c.expiry, "expiry")?,
            known_opt(diags, &c.expires_at, "expires_at")?,
        );
        let req = IssueToken {
            owner,
            label: Some(label_or_default(known_opt(diags, &c.label, "label")?)),
            expiry,
            expires_at,
            app: known_opt(diags, &c.app_id, "app_id")?,
            claims: known_strings(diags, &c.claims, "claims")?,
            allowed_cidrs: known_strings(diags, &c.allowed_cidrs, "allowed_cidrs")?,
            max_uses: known_opt(diags, &c.max_uses, "max_uses")?,
        };
        let org = org_of(&c.org, api);
        let key = uuid::Uuid::new_v4().to_string();
        let backoff = std::time::Duration::from_millis(200);
        let answer = issue_with_retries(&api.client, &org, &req, &key, backoff).await;
        let issued = match answer {
            Ok(t) => Issued::from(t, &c.expires_at),
            Err(e) => {
                let attr = |f: &str| Self::fields().iter().find(|x| x.name == f).map(|x| x.name);
                let what = format!("Cannot open an ephemeral token for bot {}", req.owner);
                api_error(diags, &what, &e, &attr);
                return None;
            }
        };
        c.org = Value::Value(org);
        c.id = Value::Value(issued.id);
        c.token = Value::Value(issued.token);
        c.expires_at = issued.expires_at;
        c.scope = Value::Value(issued.scope);
        Some((c, issued.opened))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{errors, v};

    fn check(f: impl FnOnce(&mut EphemeralTokenState)) -> Vec<(String, AttributePath)> {
        let mut c = EphemeralTokenState {
            bot_id: v("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
            ..Default::default()
        };
        f(&mut c);
        errors(|d| EphemeralToken::validate(d, &c))
    }

    #[test]
    fn arguments_are_checked_at_plan_and_named() {
        assert!(check(|_| {}).is_empty());
        let named = |f: fn(&mut EphemeralTokenState)| -> Vec<String> {
            check(f)
                .into_iter()
                .map(|(_, p)| format!("{p:?}"))
                .collect()
        };
        assert_eq!(check(|c| c.bot_id = v("ci")).len(), 1);
        assert_eq!(check(|c| c.expiry = v("forever")).len(), 1);
        assert_eq!(check(|c| c.expires_at = v("tomorrow")).len(), 1);
        let both = named(|c| {
            c.expiry = v("1h");
            c.expires_at = v("2099-01-01T00:00:00Z");
        });
        assert!(both.iter().any(|p| p.contains("expires_at")), "{both:?}");
        assert_eq!(check(|c| c.max_uses = Value::Value(0)).len(), 1);
        assert_eq!(
            check(|c| c.claims = crate::validate::tests::set(&["nope"])).len(),
            1
        );
        assert_eq!(
            check(|c| c.allowed_cidrs = crate::validate::tests::set(&["10.0.0.0/99"])).len(),
            1
        );
    }

    #[test]
    fn defaults_are_a_short_life_and_a_label_that_says_ephemeral() {
        assert_eq!(expiry_or_default(None, None), (Some("1h".into()), None));
        assert_eq!(
            expiry_or_default(Some("5m".into()), None),
            (Some("5m".into()), None)
        );
        let at = Some("2099-01-01T00:00:00Z".to_string());
        assert_eq!(expiry_or_default(None, at.clone()), (None, at));
        assert_eq!(label_or_default(None), "terraform ephemeral");
        assert_eq!(label_or_default(Some(String::new())), "terraform ephemeral");
        assert_eq!(label_or_default(Some("ci".into())), "ci");
    }

    #[test]
    fn results_are_computed_and_the_token_is_sensitive() {
        let fields = EphemeralToken::fields();
        let f = |n: &str| fields.iter().find(|f| f.name == n).cloned();
        for r in ["id", "token", "scope"] {
            assert_eq!(f(r).map(|f| f.constraint), Some(Computed), "{r}");
        }
        assert!(f("token").is_some_and(|f| f.sensitive));
        assert!(f("bot_id").is_some_and(|f| f.constraint == Required));
    }
}
