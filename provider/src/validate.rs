//! Plan-time rules: the wire crate's checks (names, claims, durations, text
//! sizes, lifetimes), reported as diagnostics on the attribute they concern.
//!
//! Nothing here states a limit of its own: every rule is `sigil-proto`'s
//! ([`sigil_proto::names`], [`sigil_proto::claims`], [`sigil_proto::duration`],
//! [`sigil_proto::rules`]), the same code the server runs, so a `plan` fails on
//! exactly the inputs an `apply` would be refused for, with the same words.
//! Unknown values (known only at apply) and nulls are skipped: the server
//! checks those.

use std::fmt::Display;

use sigil_proto::claims::{Claim, ClaimSet};
use sigil_proto::duration::parse_duration_for;
use sigil_proto::names::{AppName, OrgName, ServiceName, Username};
use sigil_proto::rules::{self, RuleError};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::common::{parse_rfc3339, StringMap, StringSet};

/// Reports `result`'s error, if any, as `summary` on `attr`.
pub fn report<E: Display>(
    diags: &mut Diagnostics,
    summary: &str,
    attr: AttributePath,
    result: Result<(), E>,
) -> bool {
    match result {
        Ok(()) => true,
        Err(e) => {
            diags.error(summary.to_string(), e.to_string(), attr);
            false
        }
    }
}

/// Checks a known string attribute `name` with `rule`, reported as `summary`.
fn check_with<E: Display>(
    diags: &mut Diagnostics,
    v: &Value<String>,
    name: &'static str,
    summary: &str,
    rule: impl FnOnce(&str) -> Result<(), E>,
) {
    if let Value::Value(s) = v {
        report(diags, summary, AttributePath::new(name), rule(s));
    }
}

/// `org`: an org name (`[a-z0-9][a-z0-9-]{0,62}`).
pub fn check_org(diags: &mut Diagnostics, v: &Value<String>) {
    check_with(diags, v, "org", "Invalid org", |s| {
        OrgName::parse(s).map(drop)
    });
}

/// A bot's `username`.
pub fn check_username(diags: &mut Diagnostics, v: &Value<String>) {
    check_with(diags, v, "username", "Invalid username", |s| {
        Username::parse(s).map(drop)
    });
}

/// An app's `name`.
pub fn check_app_name(diags: &mut Diagnostics, v: &Value<String>) {
    check_with(diags, v, "name", "Invalid name", |s| {
        AppName::parse(s).map(drop)
    });
}

/// A free-text attribute under one of [`sigil_proto::rules`]' checks
/// (`check_label`, `check_description`, `check_reason`).
pub fn check_text(
    diags: &mut Diagnostics,
    v: &Value<String>,
    name: &'static str,
    rule: fn(&str) -> Result<(), RuleError>,
) {
    check_with(diags, v, name, &format!("Invalid {name}"), rule);
}

/// A string that must be a UUID, naming the attribute; `hint` says where one comes from.
pub fn check_uuid(diags: &mut Diagnostics, v: &Value<String>, name: &'static str, hint: &str) {
    check_with(diags, v, name, &format!("Invalid {name}"), |s| {
        uuid::Uuid::parse_str(s)
            .map(drop)
            .map_err(|_| format!("invalid {name} {s:?}: expected an id (a UUID), {hint}"))
    });
}

/// A duration attribute (`100d`, `1h30m`): its seconds when known and valid.
pub fn check_duration(
    diags: &mut Diagnostics,
    v: &Value<String>,
    name: &'static str,
) -> Option<i64> {
    let Value::Value(s) = v else { return None };
    match parse_duration_for(name, s) {
        Ok(secs) => Some(secs),
        Err(e) => {
            let hint = if parse_rfc3339(s).is_some() && name == "expiry" {
                "\n\n`expiry` is a lifetime; give an absolute time in `expires_at` instead."
            } else {
                ""
            };
            diags.error(
                format!("Invalid {name}"),
                format!("{e}{hint}"),
                AttributePath::new(name),
            );
            None
        }
    }
}

/// A token lifetime in seconds, on `name`: positive and at most
/// [`rules::MAX_TOKEN_LIFETIME_SECS`].
pub fn check_lifetime(diags: &mut Diagnostics, name: &'static str, secs: i64) {
    report(
        diags,
        &format!("Invalid {name}"),
        AttributePath::new(name),
        rules::check_lifetime(name, secs),
    );
}

/// An absolute time (RFC 3339) on `name`: its unix time when known and valid.
pub fn check_time(diags: &mut Diagnostics, v: &Value<String>, name: &'static str) -> Option<i64> {
    let Value::Value(s) = v else { return None };
    match parse_rfc3339(s) {
        Some(t) => Some(t.unix_timestamp()),
        None => {
            diags.error(
                format!("Invalid {name}"),
                format!(
                    "invalid {name} {s:?}: expected an RFC 3339 time such as \
                     2030-01-31T12:00:00Z (use `expiry` for a duration such as 100d)"
                ),
                AttributePath::new(name),
            );
            None
        }
    }
}

/// An absolute expiry (RFC 3339) on `name`, whose lifetime from `now` must
/// pass [`check_lifetime`].
pub fn check_expires_at(diags: &mut Diagnostics, v: &Value<String>, name: &'static str, now: i64) {
    if let Some(t) = check_time(diags, v, name) {
        check_lifetime(diags, name, t.saturating_sub(now));
    }
}

/// A set of claims (`scope:action:specific`): each claim's syntax, no nulls,
/// then the limits of the whole list (count, combinations), reported as
/// `summary` on `name`.
pub fn check_claims(diags: &mut Diagnostics, v: &StringSet, name: &'static str, summary: &str) {
    let Value::Value(set) = v else { return };
    let at = || AttributePath::new(name);
    if set.iter().any(Value::is_null) {
        diags.error(
            summary.to_string(),
            format!("{name}: a claim cannot be null"),
            at(),
        );
    }
    let known: Vec<&String> = set.iter().filter_map(Value::as_ref_option).collect();
    let mut each_ok = true;
    for claim in &known {
        each_ok &= report(
            diags,
            summary,
            at(),
            Claim::parse(claim)
                .map(drop)
                .map_err(|e| format!("{name}: {e}")),
        );
    }
    // The limits of the list, once each claim parses (else the first bad
    // claim would be reported twice).
    if each_ok {
        report(
            diags,
            summary,
            at(),
            ClaimSet::parse(&known)
                .map(drop)
                .map_err(|e| format!("{name}: {e}")),
        );
    }
}

/// `allowed_cidrs`: each an IPv4/IPv6 network (`10.0.0.0/8`) or address,
/// with no host bits set (the error names the network meant), no null, at
/// most [`rules::MAX_CIDRS`]: [`rules::parse_cidrs`], the server's own check.
pub fn check_cidrs(diags: &mut Diagnostics, v: &StringSet, name: &'static str) {
    let Value::Value(set) = v else { return };
    let summary = format!("Invalid {name}");
    if set.iter().any(Value::is_null) {
        diags.error(
            summary.clone(),
            format!("{name}: a network cannot be null"),
            AttributePath::new(name),
        );
    }
    let known: Vec<String> = set
        .iter()
        .filter_map(Value::as_ref_option)
        .cloned()
        .collect();
    report(
        diags,
        &summary,
        AttributePath::new(name),
        rules::parse_cidrs(&known).map(drop),
    );
}

/// `max_uses`: from 1 to [`rules::MAX_USES`].
pub fn check_max_uses(diags: &mut Diagnostics, v: &Value<i64>, name: &'static str) {
    if let Value::Value(n) = v {
        report(
            diags,
            &format!("Invalid {name}"),
            AttributePath::new(name),
            rules::check_max_uses(*n),
        );
    }
}

/// A bot's identities: each key a service name, each value a valid identity
/// and never null (null would silently remove it), on `identities["<service>"]`.
pub fn check_identities(diags: &mut Diagnostics, v: &StringMap) {
    let Value::Value(m) = v else { return };
    for (service, id) in m {
        let at = || AttributePath::new("identities").key(service.clone());
        report(
            diags,
            "Invalid identity service",
            at(),
            ServiceName::parse(service)
                .map(drop)
                .map_err(|e| format!("identities: {e}")),
        );
        match id {
            Value::Null => diags.error(
                "Invalid identity",
                format!(
                    "identities: the identity in {service:?} is null; remove the key to remove \
                     the identity"
                ),
                at(),
            ),
            Value::Value(id) => {
                report(
                    diags,
                    "Invalid identity",
                    at(),
                    rules::check_identity(id).map_err(|e| format!("identities: {service:?}: {e}")),
                );
            }
            Value::Unknown => {}
        }
    }
}

/// A data source looked up by exactly one of `id` and `name` (whose attribute is `name_attr`).
pub fn check_one_of(
    diags: &mut Diagnostics,
    id: &Value<String>,
    name: &Value<String>,
    name_attr: &'static str,
) {
    if id.is_null() && name.is_null() {
        diags.error_short(
            format!("Give `id` or `{name_attr}`"),
            AttributePath::new(name_attr),
        );
    }
    if id.is_value() && name.is_value() {
        diags.error_short(
            format!("Give `id` or `{name_attr}`, not both"),
            AttributePath::new(name_attr),
        );
    }
    check_uuid(diags, id, "id", &format!("or use `{name_attr}`"));
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// The summaries of the errors `check` reports, with their attribute paths.
    pub fn errors(check: impl FnOnce(&mut Diagnostics)) -> Vec<(String, AttributePath)> {
        let mut diags = Diagnostics::default();
        check(&mut diags);
        diags
            .errors
            .iter()
            .map(|d| (d.summary.to_string(), d.attribute.clone()))
            .collect()
    }

    /// Asserts that the first error is `Invalid <attr>` on `attr`; answers
    /// its detail's first line (tf-provider appends a backtrace under
    /// RUST_BACKTRACE).
    pub fn first_invalid(diags: &Diagnostics, attr: &str) -> String {
        let e = &diags.errors[0];
        assert_eq!(e.summary, format!("Invalid {attr}"));
        assert_eq!(e.attribute, AttributePath::new(attr.to_string()));
        e.detail.lines().next().unwrap_or("").to_string()
    }

    pub fn v(s: &str) -> Value<String> {
        Value::Value(s.to_string())
    }

    pub fn set(items: &[&str]) -> StringSet {
        Value::Value(items.iter().map(|s| v(s)).collect())
    }

    #[test]
    fn unknown_and_null_values_are_left_to_the_server() {
        for value in [Value::Null, Value::Unknown] {
            assert!(errors(|d| check_org(d, &value)).is_empty());
            assert!(errors(|d| check_text(d, &value, "label", rules::check_label)).is_empty());
            assert!(errors(|d| check_expires_at(d, &value, "expires_at", 0)).is_empty());
        }
        assert!(errors(|d| check_claims(d, &Value::Unknown, "claims", "Invalid claim")).is_empty());
    }

    #[test]
    fn claims_are_checked_one_by_one_then_as_a_list() {
        let e = errors(|d| {
            check_claims(
                d,
                &set(&["machines:get:*", "bots"]),
                "claims",
                "Invalid claim",
            )
        });
        assert_eq!(
            e,
            vec![("Invalid claim".into(), AttributePath::new("claims"))]
        );
        let many: Vec<String> = (0..=sigil_proto::claims::MAX_CLAIMS)
            .map(|i| format!("s{i}:get:*"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut diags = Diagnostics::default();
        check_claims(&mut diags, &set(&many), "permissions", "Invalid permission");
        assert_eq!(diags.errors.len(), 1);
        assert!(
            diags.errors[0].detail.contains("at most"),
            "{:?}",
            diags.errors[0].detail
        );
        // A claim too wide to expand is refused like the server does.
        let wide = format!(
            "{}:*:*",
            (0..40)
                .map(|i| format!("s{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(
            errors(|d| check_claims(d, &set(&[&wide]), "claims", "Invalid claim")).len(),
            1
        );
        let mut with_null = set(&["machines:get:*"]);
        if let Value::Value(s) = &mut with_null {
            s.insert(Value::Null);
        }
        assert_eq!(
            errors(|d| check_claims(d, &with_null, "claims", "Invalid claim")).len(),
            1
        );
    }

    #[test]
    fn lifetimes_are_positive_and_at_most_a_hundred_years() {
        let now = 1_700_000_000;
        let at = |secs: i64| {
            v(&crate::common::rfc3339(
                time::OffsetDateTime::from_unix_timestamp(now + secs).unwrap(),
            ))
        };
        assert!(errors(|d| check_expires_at(d, &at(3600), "expires_at", now)).is_empty());
        for bad in [
            at(-60),
            at(0),
            at(rules::MAX_TOKEN_LIFETIME_SECS + 86_400),
            v("tomorrow"),
        ] {
            assert_eq!(
                errors(|d| check_expires_at(d, &bad, "expires_at", now)),
                vec![(
                    "Invalid expires_at".into(),
                    AttributePath::new("expires_at")
                )],
                "{bad:?}"
            );
        }
        assert!(errors(|d| check_lifetime(d, "expiry", rules::MAX_TOKEN_LIFETIME_SECS)).is_empty());
        assert_eq!(
            errors(|d| check_lifetime(d, "expiry", rules::MAX_TOKEN_LIFETIME_SECS + 1)).len(),
            1
        );
    }

    #[test]
    fn an_expiry_given_as_a_time_points_at_expires_at() {
        let mut diags = Diagnostics::default();
        assert_eq!(
            check_duration(&mut diags, &v("2030-01-01T00:00:00Z"), "expiry"),
            None
        );
        assert!(diags.errors[0].detail.contains("expires_at"));
        let mut diags = Diagnostics::default();
        assert_eq!(
            check_duration(&mut diags, &v("1h30m"), "rotate_before"),
            Some(5400)
        );
        assert!(check_duration(&mut diags, &v("10 days"), "grace_period").is_none());
        assert_eq!(diags.errors[0].summary, "Invalid grace_period");
        assert!(
            diags.errors[0].detail.contains("100d"),
            "shows the accepted forms"
        );
    }

    #[test]
    fn networks_and_use_limits_are_checked_with_the_servers_words() {
        let ok = set(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
        assert!(errors(|d| check_cidrs(d, &ok, "allowed_cidrs")).is_empty());
        let mut diags = Diagnostics::default();
        check_cidrs(&mut diags, &set(&["10.0.0.1/8"]), "allowed_cidrs");
        assert_eq!(diags.errors.len(), 1);
        assert_eq!(
            first_invalid(&diags, "allowed_cidrs"),
            "allowed_cidrs: `10.0.0.1/8` has host bits set; the network is 10.0.0.0/8"
        );
        let mut diags = Diagnostics::default();
        check_cidrs(&mut diags, &set(&["example.com"]), "allowed_cidrs");
        assert!(
            diags.errors[0]
                .detail
                .contains("not an IPv4 or IPv6 network"),
            "{}",
            diags.errors[0].detail
        );
        let many: Vec<String> = (0..=rules::MAX_CIDRS)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut diags = Diagnostics::default();
        check_cidrs(&mut diags, &set(&many), "allowed_cidrs");
        assert_eq!(
            first_invalid(&diags, "allowed_cidrs"),
            format!("allowed_cidrs takes at most {} networks", rules::MAX_CIDRS)
        );
        let mut with_null = set(&["10.0.0.0/8"]);
        if let Value::Value(s) = &mut with_null {
            s.insert(Value::Null);
        }
        assert_eq!(
            errors(|d| check_cidrs(d, &with_null, "allowed_cidrs")).len(),
            1
        );
        assert!(errors(|d| check_cidrs(d, &Value::Unknown, "allowed_cidrs")).is_empty());

        for n in [1, rules::MAX_USES] {
            assert!(errors(|d| check_max_uses(d, &Value::Value(n), "max_uses")).is_empty());
        }
        for n in [0, -1, rules::MAX_USES + 1] {
            let mut diags = Diagnostics::default();
            check_max_uses(&mut diags, &Value::Value(n), "max_uses");
            assert_eq!(
                first_invalid(&diags, "max_uses"),
                format!("max_uses must be from 1 to {}", rules::MAX_USES)
            );
        }
    }

    #[test]
    fn identities_name_the_service_in_the_path() {
        let m: StringMap = Value::Value(
            [
                ("Slack!".to_string(), v("x")),
                ("github".to_string(), v("a\nb")),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(
            errors(|d| check_identities(d, &m)),
            vec![
                (
                    "Invalid identity service".into(),
                    AttributePath::new("identities").key("Slack!")
                ),
                (
                    "Invalid identity".into(),
                    AttributePath::new("identities").key("github")
                ),
            ]
        );
    }
}
