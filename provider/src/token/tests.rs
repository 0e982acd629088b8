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
    let named = |summary: &str, attr: &'static str| (summary.to_string(), AttributePath::new(attr));
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
