//! Pieces every resource and data source shares: the configured API client,
//! diagnostics made from API errors, the one place that decides "gone" vs
//! "unsure" on a 404, conversions between the server's answers and state
//! values (keeping the user's spelling); the clock is [`crate::clock`]'s.
//!
//! The generic resource plumbing built on these lives in [`crate::resource`];
//! plan-time rules in [`crate::validate`].
//!
//! Errors are never built from secrets: the client keeps the bearer token out
//! of its errors, and the JWT of a `sigil_token` only ever goes into state.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};

use sigil_proto::claims::ClaimSet;
use sigil_proto::client::{Client, ClientError};
use sigil_proto::ErrorCode;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};
use time::OffsetDateTime;

/// A configured client and the default org of the provider block.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
    pub org: String,
    /// The app the provider's token is scoped to (from `whoami`), if any: such
    /// a token sees only that app's objects, and other apps' answer 404.
    pub app: Option<String>,
    /// What this process (one Terraform walk) saw of tokens issued and
    /// shortened, for the destroy warning of `grace_period` ([`crate::token::grace`]).
    pub grace: Arc<crate::token::grace::GraceLog>,
}

/// What `ConfigureProvider` left for the resources.
#[derive(Clone, Default)]
enum Configured {
    /// Not configured yet (e.g. `terraform validate`).
    #[default]
    No,
    /// The provider block depends on values only known at apply (a token
    /// made in the same run): plan-time server checks are skipped.
    Deferred,
    /// Ready to talk to the server.
    Ready(Api),
}

/// The provider's configuration, shared by every resource and data source.
/// Resources are built before `ConfigureProvider` runs, so they hold this handle.
#[derive(Clone, Default)]
pub struct Shared(Arc<RwLock<Configured>>);

impl Shared {
    fn get(&self) -> Configured {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_ready(&self, api: Api) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Configured::Ready(api);
    }

    pub fn set_deferred(&self) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Configured::Deferred;
    }

    /// The client, for an operation that cannot go without it (apply, read, import).
    pub fn api(&self, diags: &mut Diagnostics) -> Option<Api> {
        match self.get() {
            Configured::Ready(api) => Some(api),
            Configured::Deferred => {
                diags.root_error(
                    "The Sigil provider is not configured",
                    "Its `endpoint`, `token` or `org` depends on a value that is not known yet. \
                     Apply the resources it depends on first (see the bootstrap guide).",
                );
                None
            }
            Configured::No => {
                diags.root_error(
                    "The Sigil provider is not configured",
                    "Terraform did not configure the provider before using it.",
                );
                None
            }
        }
    }

    /// The client for optional plan-time checks: `None` (silently) when unavailable.
    pub fn plan_api(&self) -> Option<Api> {
        match self.get() {
            Configured::Ready(api) => Some(api),
            _ => None,
        }
    }

    /// The provider's org for planning a default: unknown when the provider
    /// configuration itself is not known yet.
    pub fn default_org(&self) -> Value<String> {
        match self.get() {
            Configured::Ready(api) => Value::Value(api.org),
            _ => Value::Unknown,
        }
    }
}

/// The org a resource lives in: its own `org`, else the provider's.
pub fn org_of(state_org: &Value<String>, api: &Api) -> String {
    match state_org {
        Value::Value(o) if !o.is_empty() => o.clone(),
        _ => api.org.clone(),
    }
}

pub use crate::clock::{now, parse_rfc3339, rfc3339};

/// Keeps the string already in state when it names the same instant as the
/// server's answer, so `+02:00` vs `Z` or fractional seconds never make a diff.
pub fn same_instant_or(prior: &Value<String>, server: OffsetDateTime) -> Value<String> {
    if let Value::Value(p) = prior {
        if parse_rfc3339(p).map(|t| t.unix_timestamp()) == Some(server.unix_timestamp()) {
            return prior.clone();
        }
    }
    Value::Value(rfc3339(server))
}

/// Keeps the id already in state when it is the same UUID as the server's.
pub fn same_id_or(prior: &Value<String>, server: uuid::Uuid) -> Value<String> {
    if let Value::Value(p) = prior {
        if uuid::Uuid::parse_str(p).ok() == Some(server) {
            return prior.clone();
        }
    }
    Value::Value(server.to_string())
}

pub type StringSet = Value<BTreeSet<Value<String>>>;
pub type StringMap = Value<BTreeMap<String, Value<String>>>;

/// The strings of a set when the set and all its elements are known (null → empty).
pub fn known_set(v: &StringSet) -> Option<Vec<String>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::Unknown => None,
        Value::Value(set) => set.iter().map(|e| e.as_ref_option().cloned()).collect(),
    }
}

pub fn known_map(v: &StringMap) -> Option<BTreeMap<String, String>> {
    match v {
        Value::Null => Some(BTreeMap::new()),
        Value::Unknown => None,
        Value::Value(m) => m
            .iter()
            .map(|(k, e)| e.as_ref_option().map(|e| (k.clone(), e.clone())))
            .collect(),
    }
}

pub fn to_set(values: &[String]) -> StringSet {
    Value::Value(values.iter().map(|s| Value::Value(s.clone())).collect())
}

pub fn to_map(values: &BTreeMap<String, String>) -> StringMap {
    Value::Value(
        values
            .iter()
            .map(|(k, v)| (k.clone(), Value::Value(v.clone())))
            .collect(),
    )
}

/// Whether two lists of claims grant exactly the same rights. Used to keep
/// the user's spelling in state when the server answers an equivalent one.
pub fn same_claims(a: &[String], b: &[String]) -> bool {
    match (ClaimSet::parse(a), ClaimSet::parse(b)) {
        (Ok(x), Ok(y)) => x.is_subset_of(&y) && y.is_subset_of(&x),
        _ => {
            let x: BTreeSet<&String> = a.iter().collect();
            let y: BTreeSet<&String> = b.iter().collect();
            x == y
        }
    }
}

/// The claims to put in state: the prior set when equivalent to the server's,
/// null when the server's list is empty and the prior was null.
pub fn claims_state(prior: &StringSet, server: &[String]) -> StringSet {
    if let Some(p) = known_set(prior) {
        if prior.is_null() && server.is_empty() {
            return Value::Null;
        }
        if !prior.is_null() && same_claims(&p, server) {
            return prior.clone();
        }
    }
    to_set(server)
}

/// The networks of a list as a set (canonical forms), when every entry parses.
fn networks(values: &[String]) -> Option<BTreeSet<String>> {
    values
        .iter()
        .map(|v| {
            sigil_proto::rules::parse_cidr(v)
                .ok()
                .map(|n| n.to_string())
        })
        .collect()
}

/// Whether two sets of `allowed_cidrs` name the same networks (`192.0.2.7`
/// and `192.0.2.7/32` alike), or are the same value.
pub fn same_cidrs(a: &StringSet, b: &StringSet) -> bool {
    match (known_set(a), known_set(b)) {
        (Some(x), Some(y)) if a.is_null() == b.is_null() => match (networks(&x), networks(&y)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        _ => a == b,
    }
}

/// The `allowed_cidrs` to put in state: the prior set when it names the
/// server's networks (keeping the user's spelling), null when the server has
/// none and the prior was null.
pub fn cidrs_state(prior: &StringSet, server: &[String]) -> StringSet {
    if prior.is_null() && server.is_empty() {
        return Value::Null;
    }
    let answered = to_set(server);
    if same_cidrs(prior, &answered) {
        prior.clone()
    } else {
        answered
    }
}

/// The map to put in state: null when the server's map is empty and the prior
/// was not an empty map (the user did not set it), else the server's.
pub fn map_state(prior: &StringMap, server: &BTreeMap<String, String>) -> StringMap {
    if server.is_empty() && !matches!(prior, Value::Value(m) if m.is_empty()) {
        Value::Null
    } else {
        to_map(server)
    }
}

/// Whether two optional RFC 3339 strings name the same instant (or are the same value).
pub fn same_instant(a: &Value<String>, b: &Value<String>) -> bool {
    match (a, b) {
        (Value::Value(a), Value::Value(b)) => {
            parse_rfc3339(a).map(|t| t.unix_timestamp())
                == parse_rfc3339(b).map(|t| t.unix_timestamp())
        }
        (a, b) => a == b,
    }
}

/// Null for an empty optional string the user did not set, else the value.
/// A string attribute's value to send, empty when null or unknown (validation
/// and the plan have made sure a required one is known by apply).
pub fn known_string(v: &Value<String>) -> String {
    v.as_ref_option().cloned().unwrap_or_default()
}

pub fn opt_string(prior: &Value<String>, server: Option<&str>) -> Value<String> {
    match server {
        Some(s) if !s.is_empty() => Value::Value(s.to_string()),
        _ if prior.as_ref_option().is_some_and(|p| p.is_empty()) => prior.clone(),
        _ => Value::Null,
    }
}

/// Reports a failed API call as a diagnostic that carries the server's
/// message and error code, on `attr` when the server named a field we map.
pub fn api_error(
    diags: &mut Diagnostics,
    what: &str,
    err: &ClientError,
    field_to_attr: &dyn Fn(&str) -> Option<&'static str>,
) {
    match err {
        ClientError::Api {
            status,
            code,
            message,
            field,
        } => {
            let hint = match code {
                ErrorCode::Unauthenticated => {
                    "\n\nThe server refused the provider's token: check `token` in the provider \
                     block (or SIGIL_TOKEN); it may be expired or revoked."
                }
                ErrorCode::Forbidden | ErrorCode::Escalation => {
                    "\n\nThe provider's token does not hold the claims this needs."
                }
                _ => "",
            };
            let detail = format!(
                "The Sigil server answered HTTP {status} with error code `{code}`: {message}{hint}"
            );
            let summary = format!("{what}: {message} ({code})");
            match field.as_deref().and_then(field_to_attr) {
                Some(attr) => diags.error(summary, detail, AttributePath::new(attr)),
                None => diags.root_error(summary, detail),
            }
        }
        ClientError::Transport { endpoint, .. } => diags.root_error(
            format!("{what}: cannot reach the Sigil server at {endpoint}"),
            format!(
                "{err}\n\nCheck `endpoint` in the provider block (or SIGIL_ENDPOINT) and that the \
                 server is running. Nothing was removed from the state."
            ),
        ),
        ClientError::Decode { .. } => diags.root_error(
            format!("{what}: unexpected answer from the Sigil server"),
            err.to_string(),
        ),
    }
}

/// What a 404 on an object means.
pub enum NotFound {
    /// The object is gone: drop it from the state.
    Gone,
    /// The 404 may only mean the provider's token cannot see it: an error.
    Unsure { summary: String, detail: String },
}

impl NotFound {
    /// True when gone; otherwise reports the error and returns false.
    pub fn gone_or_report(self, diags: &mut Diagnostics) -> bool {
        match self {
            NotFound::Gone => true,
            NotFound::Unsure { summary, detail } => {
                diags.root_error(summary, detail);
                false
            }
        }
    }
}

/// Decides whether a 404 about `what` in `org` is a definite "it is gone".
///
/// The server answers 404 also for an org out of the caller's reach (naming
/// the field `org`) and, for an app-scoped caller, for other apps' objects
/// (`app_scoped_blind`). So a 404 is definite only when the org itself is
/// reachable and the caller is not blind to the object; anything else is
/// reported, and nothing leaves the state.
pub async fn confirm_not_found(
    api: &Api,
    org: &str,
    what: &str,
    err: &ClientError,
    app_scoped_blind: bool,
) -> NotFound {
    let unsure = |why: String| {
        NotFound::Unsure {
        summary: format!("Cannot tell whether {what} still exists"),
        detail: format!(
            "The Sigil server answered: {err}. {why} Nothing was removed from the state; check `token` and `org` in the provider block (or SIGIL_TOKEN and SIGIL_ORG)."
        ),
    }
    };
    if matches!(err, ClientError::Api { field: Some(f), .. } if f == "org") {
        return unsure(format!(
            "The org {org:?} is not reachable with the provider's token: it may belong to another org."
        ));
    }
    if app_scoped_blind {
        if let Some(app) = &api.app {
            return unsure(format!(
                "The provider's token is scoped to app {app:?}: it cannot tell an object of another app (or of the whole org) from one that was deleted."
            ));
        }
    }
    match api.client.get_org(org).await {
        Ok(_) => NotFound::Gone,
        Err(e) => unsure(format!(
            "The org {org:?} itself cannot be read with the provider's token ({e})."
        )),
    }
}

/// What refreshing an object learned.
pub enum Refreshed<T> {
    Found(T),
    /// Definitely gone (warned about): drop it from the state.
    Gone,
    /// An error was reported: keep the state as it is.
    Kept,
}

/// Sorts the answer of a read of `what` (e.g. `bot <id>`): the object, a
/// definite "gone" (a 404 the org confirms; warned with `gone_detail`), or an
/// error that keeps the state (401, 403, 5xx, network, an unsure 404).
///
/// `app_scoped_blind` says whether an app-scoped provider token may be blind
/// to the object; it is only awaited on a 404 (it may cost a request).
pub async fn refresh<T>(
    diags: &mut Diagnostics,
    api: &Api,
    org: &str,
    what: &str,
    app_scoped_blind: impl Future<Output = bool>,
    answer: Result<T, ClientError>,
    gone_detail: &str,
) -> Refreshed<T> {
    match answer {
        Ok(t) => Refreshed::Found(t),
        Err(e) if e.is_not_found() => {
            if confirm_not_found(api, org, what, &e, app_scoped_blind.await)
                .await
                .gone_or_report(diags)
            {
                diags.root_warning(
                    format!("{} no longer exists", capitalized(what)),
                    gone_detail.to_string(),
                );
                Refreshed::Gone
            } else {
                Refreshed::Kept
            }
        }
        Err(e) => {
            api_error(diags, &format!("Cannot read {what}"), &e, &no_field);
            Refreshed::Kept
        }
    }
}

/// Sorts the answer of a delete of `what`: done, also when it is definitely
/// gone already; otherwise an error.
///
/// `verb` names the call in the error (`delete`, `revoke`); the answer's
/// value, if any, is not needed.
pub async fn deleted<T>(
    diags: &mut Diagnostics,
    api: &Api,
    org: &str,
    (verb, what): (&str, &str),
    app_scoped_blind: impl Future<Output = bool>,
    answer: Result<T, ClientError>,
) -> Option<()> {
    match answer {
        Ok(_) => Some(()),
        Err(e) if e.is_not_found() => confirm_not_found(api, org, what, &e, app_scoped_blind.await)
            .await
            .gone_or_report(diags)
            .then_some(()),
        Err(e) => {
            api_error(diags, &format!("Cannot {verb} {what}"), &e, &no_field);
            None
        }
    }
}

pub fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// No field maps to an attribute.
pub fn no_field(_: &str) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_keep_the_users_spelling_when_equivalent() {
        let prior = to_set(&["machines:get:*".into(), "machines:list:*".into()]);
        let server = vec!["machines:get,list:*".to_string()];
        assert_eq!(claims_state(&prior, &server), prior);
        let other = vec!["machines:get:*".to_string()];
        assert_eq!(claims_state(&prior, &other), to_set(&other));
        assert_eq!(claims_state(&Value::Null, &[]), Value::Null);
    }

    #[test]
    fn networks_keep_the_users_spelling() {
        let prior = to_set(&["192.0.2.7".into(), "2001:DB8::/32".into()]);
        let server = vec!["2001:db8::/32".to_string(), "192.0.2.7/32".to_string()];
        assert_eq!(cidrs_state(&prior, &server), prior);
        let other = vec!["192.0.2.8/32".to_string()];
        assert_eq!(cidrs_state(&prior, &other), to_set(&other));
        assert_eq!(cidrs_state(&Value::Null, &[]), Value::Null);
        assert_eq!(cidrs_state(&to_set(&[]), &[]), to_set(&[]));
        assert!(!same_cidrs(&Value::Null, &to_set(&[])));
    }

    #[test]
    fn instants_keep_the_users_spelling() {
        let prior = Value::Value("2030-01-31T14:00:00+02:00".to_string());
        let server = parse_rfc3339("2030-01-31T12:00:00Z").unwrap();
        assert_eq!(same_instant_or(&prior, server), prior);
        let later = parse_rfc3339("2030-02-01T12:00:00Z").unwrap();
        assert_eq!(
            same_instant_or(&prior, later),
            Value::Value("2030-02-01T12:00:00Z".into())
        );
    }
}
