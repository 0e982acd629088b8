//! Property tests of the parsers every input crosses (`proptest`): on any
//! string they answer, never panic; what they accept round-trips through
//! their own formatting; and the OpenAPI patterns (`names`, `api`) accept
//! exactly what the checks accept, so a schema-driven client and the server
//! agree. Bounded case counts: the whole file runs in a few seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sigil_proto::api::{CLAIM_PATTERN, DURATION_PATTERN};
use sigil_proto::duration::{format_duration, parse_duration, Expiry};
use sigil_proto::names::{
    check_email, check_ref, OrgName, RefKind, ServiceName, Username, BOT_PATTERN, EMAIL_PATTERN,
    ORG_PATTERN,
};
use sigil_proto::{Claim, ClaimSet};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings made mostly of the characters the parsers care about, so that
/// random input reaches deep into them (plus any character at all).
fn noisy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                'a', 'z', '0', '9', '-', '.', '_', ':', ',', '*', '@', '/', 's', 'm', 'h', 'd',
                'w', 'o', 'y', 'T', 'Z', '+', ' ', '\0', '\n', 'é',
            ]),
            1 => any::<char>(),
        ],
        0..80,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// The body of an OpenAPI pattern, for proptest's generator (which takes no anchors).
fn body(pattern: &str) -> String {
    pattern
        .trim_start_matches('^')
        .trim_end_matches('$')
        .to_string()
}

/// Strings a (generator-ready) pattern body matches.
fn matching(pattern: &str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern).unwrap()
}

fn full(pattern: &str) -> regex::Regex {
    regex::Regex::new(&format!("^(?:{})$", body(pattern))).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn durations_never_panic_and_round_trip(s in noisy()) {
        if let Ok(secs) = parse_duration(&s) {
            prop_assert!(secs > 0);
            prop_assert_eq!(parse_duration(&format_duration(secs)), Ok(secs));
            prop_assert!(full(DURATION_PATTERN).is_match(&s), "accepted beyond the pattern: {:?}", s);
        }
        let _ = Expiry::parse("expiry", &s);
    }

    #[test]
    fn formatted_durations_parse_back(secs in 1i64..=(1000 * 365 * 86_400)) {
        prop_assert_eq!(parse_duration(&format_duration(secs)), Ok(secs));
    }

    #[test]
    fn claims_never_panic_and_round_trip(s in noisy()) {
        if let Ok(c) = Claim::parse(&s) {
            let again = Claim::parse(&c.to_string()).unwrap();
            prop_assert_eq!(&again, &c);
            prop_assert!(full(CLAIM_PATTERN).is_match(&s), "accepted beyond the pattern: {:?}", s);
        }
    }

    #[test]
    fn claims_the_pattern_allows_parse(s in matching(&body(CLAIM_PATTERN).replace("{1,256}", "{1,8}").replace("{0,31}", "{0,4}"))) {
        let c = Claim::parse(&s);
        prop_assert!(c.is_ok(), "{:?}: {:?}", s, c);
        let set = ClaimSet::parse(&[s.as_str(), "*:*:*"]).unwrap();
        prop_assert_eq!(ClaimSet::parse(&set.to_strings()).unwrap(), set);
    }

    #[test]
    fn names_never_panic_and_match_their_patterns(s in noisy()) {
        if let Ok(n) = OrgName::parse(&s) {
            prop_assert_eq!(n.as_str(), s.as_str());
            prop_assert!(full(ORG_PATTERN).is_match(&s));
        }
        for ok in [Username::parse(&s).is_ok(), ServiceName::parse(&s).is_ok()] {
            if ok {
                prop_assert!(full(BOT_PATTERN).is_match(&s));
            }
        }
        if check_email(&s).is_ok() {
            prop_assert!(full(EMAIL_PATTERN).is_match(&s), "email beyond the pattern: {:?}", s);
        }
        for kind in [RefKind::Org, RefKind::App, RefKind::Bot, RefKind::User, RefKind::Principal] {
            if check_ref("x", kind, &s).is_ok() {
                prop_assert!(!s.contains('\0'));
            }
        }
    }

    #[test]
    fn names_the_patterns_allow_parse(
        org in matching(&body(ORG_PATTERN)),
        bot in matching(&body(BOT_PATTERN)),
        email in matching("[a-z0-9.+é]{1,20}@[a-z0-9-]{1,20}\\.[a-z]{2,6}"),
    ) {
        // A name never looks like a UUID; the pattern cannot say so, the
        // generator almost never draws one.
        if uuid::Uuid::parse_str(&org).is_err() {
            prop_assert!(OrgName::parse(&org).is_ok(), "{:?}", org);
            prop_assert!(check_ref("org", RefKind::Org, &org).is_ok());
        }
        if uuid::Uuid::parse_str(&bot).is_err() {
            prop_assert!(Username::parse(&bot).is_ok(), "{:?}", bot);
            prop_assert!(check_ref("owner", RefKind::Principal, &bot).is_ok());
        }
        prop_assert!(check_email(&email).is_ok(), "{:?}", email);
        prop_assert!(full(EMAIL_PATTERN).is_match(&email));
        prop_assert!(check_ref("owner", RefKind::Principal, &email).is_ok());
    }

    #[test]
    fn claim_sets_never_panic_and_subsets_hold(a in prop::collection::vec(noisy(), 0..6), b in prop::collection::vec("[a-c*]:[x-z*]:[1-3*]", 0..6)) {
        let _ = ClaimSet::parse(&a);
        let set = ClaimSet::parse(&b).unwrap();
        let all = ClaimSet::parse(&["*:*:*"]).unwrap();
        prop_assert!(set.is_subset_of(&all));
        prop_assert!(set.is_subset_of(&set));
        // The intersection is covered by both sides.
        let other = ClaimSet::parse(&["a,b:x:*", "c:*:1"]).unwrap();
        let both = set.intersect(&other);
        prop_assert!(both.is_subset_of(&set) && both.is_subset_of(&other));
    }
}
