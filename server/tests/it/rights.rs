//! Property test of SPEC §2's no-escalation invariant, through the HTTP app:
//! over random permission sets of a creator and an owner and random
//! requested claims (`proptest` draws them; a fixed seed, a bounded number
//! of cases, so it runs in seconds on each backend), no token issued, and no
//! token whose owner was updated, ever carries effective rights beyond its
//! owner's or its creator's. Refusals are fine; an answer that grants more is not.

use crate::{both, Ctx};
use axum::http::StatusCode;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};
use sigil_proto::ClaimSet;

both!(no_token_exceeds_its_owner_or_its_creator);

const CASES: usize = 64;

/// Claims over a small universe, so that sets overlap often.
fn claim() -> impl Strategy<Value = String> {
    let part = |items: &'static [&'static str]| {
        prop_oneof![
            1 => Just("*".to_string()),
            3 => prop::sample::subsequence(items.to_vec(), 1..=items.len()).prop_map(|v| v.join(",")),
        ]
    };
    (
        part(&["tokens", "bots", "machines"]),
        part(&["issue", "get", "list", "update"]),
        part(&["x", "y"]),
    )
        .prop_map(|(s, a, x)| format!("{s}:{a}:{x}"))
}

fn claims() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(claim(), 0..4)
}

#[derive(Debug, Clone)]
struct Case {
    creator: Vec<String>,
    /// Whether the creator may issue for anyone and update bots.
    creator_issues: bool,
    /// Whether the creator also holds every permission of the owner.
    creator_holds_owner: bool,
    owner: Vec<String>,
    /// 0: no claims asked (the owner's permissions); 1: a subset of the
    /// owner's (by `mask`); 2: `random`.
    request_mode: u8,
    mask: Vec<bool>,
    random: Vec<String>,
    /// The creator's change of the owner's permissions: a subset of the
    /// creator's (by `mask`) or `random`.
    update_subset: bool,
}

impl Case {
    fn creator_perms(&self) -> Vec<String> {
        let mut p = self.creator.clone();
        if self.creator_issues {
            p.extend(["tokens:issue:*".to_string(), "bots:update:*".to_string()]);
        }
        if self.creator_holds_owner {
            p.extend(self.owner.iter().cloned());
        }
        p
    }

    fn picked(&self, from: &[String]) -> Vec<String> {
        from.iter()
            .zip(self.mask.iter().cycle())
            .filter(|(_, keep)| **keep)
            .map(|(c, _)| c.clone())
            .collect()
    }

    fn requested(&self) -> Option<Vec<String>> {
        match self.request_mode {
            0 => None,
            1 => Some(self.picked(&self.owner)),
            _ => Some(self.random.clone()),
        }
    }

    fn update(&self) -> Vec<String> {
        if self.update_subset {
            self.picked(&self.creator_perms())
        } else {
            self.random.clone()
        }
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        (claims(), any::<bool>(), any::<bool>(), claims()),
        (
            0u8..3,
            prop::collection::vec(any::<bool>(), 1..5),
            claims(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (creator, creator_issues, creator_holds_owner, owner),
                (request_mode, mask, random, update_subset),
            )| Case {
                creator,
                creator_issues,
                creator_holds_owner,
                owner,
                request_mode,
                mask,
                random,
                update_subset,
            },
        )
}

fn set(v: &Value) -> ClaimSet {
    let items: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ClaimSet::parse(&items).unwrap()
}

async fn whoami(c: &Ctx, jwt: &str) -> ClaimSet {
    let (s, v) = c.get("/v1/whoami", jwt).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    set(&v["claims"])
}

async fn no_token_exceeds_its_owner_or_its_creator(c: Ctx) {
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let (mut minted, mut updated) = (0, 0);
    for i in 0..CASES {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        let (creator, owner) = (format!("c{i}"), format!("o{i}"));
        let creator_perms = case.creator_perms();
        c.bot(
            &creator,
            &creator_perms.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
        c.bot(
            &owner,
            &case.owner.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
        let creator_jwt = c.issue(&creator).await.1;
        let creator_rights = whoami(&c, &creator_jwt).await;
        let owner_perms = ClaimSet::parse(&case.owner).unwrap();

        // Issue: whatever the answer, a minted token stays within both.
        let mut body = json!({"owner": owner});
        if let Some(r) = &case.requested() {
            body["claims"] = json!(r);
        }
        let (s, v) = c.post("/v1/orgs/default/tokens", &creator_jwt, body).await;
        let Some(jwt) = v["token"].as_str().map(str::to_string) else {
            assert!(s.is_client_error(), "case {i} {case:?}: {s} {v}");
            continue;
        };
        minted += 1;
        let claims = set(&v["claims"]);
        assert!(
            claims.is_subset_of(&owner_perms),
            "case {i} {case:?}: beyond the owner: {v}"
        );
        assert!(
            claims.is_subset_of(&creator_rights),
            "case {i} {case:?}: beyond the creator: {v}"
        );
        let effective = whoami(&c, &jwt).await;
        assert!(effective.is_subset_of(&owner_perms) && effective.is_subset_of(&creator_rights));

        // Update: the creator changes the owner's permissions; granted or
        // refused, the token's effective rights stay within the owner's
        // current permissions and the creator's rights.
        let (s, v) = c
            .patch_as(
                &format!("/v1/orgs/default/bots/{owner}"),
                &creator_jwt,
                json!({"permissions": case.update()}),
            )
            .await;
        let now_perms = if s == StatusCode::OK {
            updated += 1;
            let granted = set(&v["permissions"]);
            assert!(
                granted.is_subset_of(&creator_rights),
                "case {i} {case:?}: granted beyond the creator: {v}"
            );
            granted
        } else {
            assert!(s.is_client_error(), "case {i} {case:?}: {s} {v}");
            owner_perms
        };
        let effective = whoami(&c, &jwt).await;
        assert!(
            effective.is_subset_of(&now_perms) && effective.is_subset_of(&creator_rights),
            "case {i} {case:?}: effective {:?}",
            effective.to_strings()
        );
    }
    // Not vacuous: the cases reach both the granting and the refusing paths.
    eprintln!("{minted} of {CASES} issues granted, {updated} updates granted");
    assert!(
        minted >= CASES / 4 && updated >= 2,
        "{minted} minted, {updated} updated"
    );
}
