//! Immediate refusal across replicas while tokens are verified from memory
//! (`docs/verification.md`): two real `sigil server` processes on one fresh
//! PostgreSQL database. For every kind of change — revoke, bot deletion, user
//! deletion, permission shrink, expiry shortening — checkers hammer both
//! replicas over gRPC `Verify` and REST while the change is made on one of
//! them, and no request *started* after the change returned may get the old
//! answer. Then the same with the second replica's LISTEN connection killed
//! over and over, and with the second replica stopped (`SIGSTOP`) past its
//! lease and resumed. Derived tokens: a grandchild derived on one replica is
//! accepted on the other, and refused there at once when its root is revoked.

use sigil_e2e::grpc::{verifier, verify};
use sigil_e2e::{psql, replicas, TestServer};
use sigil_proto::api::{
    AttenuateToken, CreateBot, CreateUser, IssueToken, IssuedToken, UpdateBot, UpdateToken,
};
use sigil_proto::v1::verifier_client::VerifierClient;
use sigil_proto::SecretString;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

use sigil_e2e::rt;

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The kinds of change that must be refused everywhere once they returned.
#[derive(Debug, Clone, Copy)]
enum Change {
    Revoke,
    DeleteBot,
    DeleteUser,
    ShrinkPermissions,
    ShortenExpiry,
}

/// The claim a checker asks for: the permission shrink removes it.
const CLAIM: &str = "apps:list:*";

/// Sets up the owner of a token for `change` (names made unique by `n`) and
/// answers the token.
async fn token_for(a: &TestServer, change: Change, n: usize) -> IssuedToken {
    let owner = a.client();
    let name = format!("p{n}");
    let perms = vec!["bots:list:*".to_string(), CLAIM.to_string()];
    let (owner_name, expiry) = match change {
        Change::DeleteUser => {
            let email = format!("{name}@example.com");
            owner
                .create_user(
                    "default",
                    &CreateUser {
                        email: email.clone(),
                        permissions: perms,
                    },
                )
                .await
                .unwrap();
            (email, "1h")
        }
        _ => {
            owner
                .create_bot(
                    "default",
                    &CreateBot {
                        username: name.clone(),
                        permissions: perms,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            (name, "1d")
        }
    };
    owner
        .issue_token(
            "default",
            &IssueToken {
                owner: owner_name,
                expiry: Some(expiry.into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
}

/// Makes `change` through `on` (a replica's REST API); returns once it returned.
async fn make(on: &TestServer, owner: &SecretString, change: Change, t: &IssuedToken) {
    let c = on.client_with(owner);
    let id = t.metadata.id;
    match change {
        Change::Revoke => {
            c.revoke_token("default", id, None).await.unwrap();
        }
        Change::DeleteBot => c.delete_bot("default", &t.metadata.owner).await.unwrap(),
        Change::DeleteUser => c.delete_user("default", &t.metadata.owner).await.unwrap(),
        Change::ShrinkPermissions => {
            c.update_bot(
                "default",
                &t.metadata.owner,
                &UpdateBot {
                    permissions: Some(vec!["bots:list:*".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
        Change::ShortenExpiry => {
            c.update_token(
                "default",
                id,
                &UpdateToken {
                    expires_at: Some(now_rfc3339()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
    }
}

/// Hammers `token` on every verifier and on every replica's REST until
/// `stop`; panics if a request started after `changed` got the old answer
/// (valid and allowed `CLAIM`). Answers how many old and new answers came.
fn checkers(
    verifiers: Vec<VerifierClient<Channel>>,
    rests: Vec<sigil_proto::client::Client>,
    token: SecretString,
    changed: Arc<Mutex<Option<Instant>>>,
    stop: Arc<AtomicBool>,
    what: String,
) -> Vec<tokio::task::JoinHandle<(u32, u32)>> {
    let mut tasks = Vec::new();
    for (i, mut v) in verifiers.into_iter().enumerate() {
        let (token, changed, stop, what) =
            (token.clone(), changed.clone(), stop.clone(), what.clone());
        tasks.push(tokio::spawn(async move {
            let (mut old, mut new) = (0, 0);
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let r = verify(&mut v, &token, Some(CLAIM)).await;
                let after = changed.lock().unwrap().is_some_and(|at| at <= started);
                if r.valid {
                    assert!(
                        !after,
                        "{what}: gRPC replica {i} answered valid after the change returned"
                    );
                    old += 1;
                } else {
                    new += 1;
                }
            }
            (old, new)
        }));
    }
    for (i, c) in rests.into_iter().enumerate() {
        let (changed, stop, what) = (changed.clone(), stop.clone(), what.clone());
        tasks.push(tokio::spawn(async move {
            let (mut old, mut new) = (0, 0);
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let r = c.whoami().await;
                let after = changed.lock().unwrap().is_some_and(|at| at <= started);
                let still = r.is_ok_and(|w| w.claims.iter().any(|c| c == CLAIM));
                if still {
                    assert!(!after, "{what}: REST replica {i} answered the old rights after the change returned");
                    old += 1;
                } else {
                    new += 1;
                }
            }
            (old, new)
        }));
    }
    tasks
}

/// For every kind of change: warm on both replicas, change on one while
/// both are hammered, never the old answer after it returned.
fn every_change_is_refused_at_once_under_load(during: impl Fn(&TestServer) + Send + Sync) {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        let changes = [
            Change::Revoke,
            Change::DeleteBot,
            Change::DeleteUser,
            Change::ShrinkPermissions,
            Change::ShortenExpiry,
        ];
        for (n, change) in changes.into_iter().enumerate() {
            let t = token_for(&a, change, n).await;
            let (ga, gb) = (verifier(&a).await, verifier(&b).await);
            // Warm on both replicas.
            assert!(verify(&mut ga.clone(), &t.token, Some(CLAIM)).await.valid);
            assert!(verify(&mut gb.clone(), &t.token, Some(CLAIM)).await.valid);
            let changed = Arc::new(Mutex::new(None));
            let stop = Arc::new(AtomicBool::new(false));
            let tasks = checkers(
                vec![ga, gb],
                vec![a.client_with(&t.token), b.client_with(&t.token)],
                t.token.clone(),
                changed.clone(),
                stop.clone(),
                format!("{change:?}"),
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            during(&b);
            // Alternate the replica the change is made on.
            let on = if n % 2 == 0 { &a } else { &b };
            make(on, &a.owner_token, change, &t).await;
            *changed.lock().unwrap() = Some(Instant::now());
            tokio::time::sleep(Duration::from_millis(200)).await;
            stop.store(true, Ordering::SeqCst);
            let (mut old, mut new) = (0, 0);
            for task in tasks {
                let (o, nw) = task.await.unwrap();
                old += o;
                new += nw;
            }
            assert!(
                old > 0 && new > 0,
                "{change:?}: both phases exercised: {old} old, {new} new"
            );
        }
    });
}

#[test]
fn replicas_every_change_refused_at_once_under_concurrent_verify() {
    every_change_is_refused_at_once_under_load(|_| {});
}

/// The listener connection of the replica with process id `pid`, by its
/// `application_name`.
fn terminate_listener(pid: u32) -> bool {
    let out = psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'sigil-listener-{pid}'"
    ));
    out.trim() == "t"
}

#[test]
fn replicas_a_killed_listener_never_lets_a_change_through() {
    every_change_is_refused_at_once_under_load(|b| {
        // Killed just before the change, and again and again meanwhile: B
        // learns of the change by its lease renewal; the change waits for it.
        let pid = b.pid();
        // (It reconnects after each kill: wait for it to be back first.)
        let found = (0..200).any(|_| {
            terminate_listener(pid) || {
                std::thread::sleep(Duration::from_millis(25));
                false
            }
        });
        assert!(found, "B's listener was found and killed");
        std::thread::spawn(move || {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(25));
                let _ = terminate_listener(pid);
            }
        });
    });
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(ok.success(), "kill -{sig} {pid} failed");
}

#[test]
fn replicas_a_replica_paused_past_its_lease_refuses_after_resume() {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        let t = token_for(&a, Change::Revoke, 0).await;
        let mut gb = verifier(&b).await;
        let rest_b = b.client_with(&t.token);
        // Warm on B, over gRPC and REST.
        assert!(verify(&mut gb, &t.token, None).await.valid);
        rest_b.whoami().await.unwrap();

        signal(b.pid(), "STOP");
        let started = Instant::now();
        a.client()
            .revoke_token("default", t.metadata.id, None)
            .await
            .unwrap();
        // B could not acknowledge: the revoke waited for B's lease to run out.
        let waited = started.elapsed();
        signal(b.pid(), "CONT");
        assert!(
            waited >= Duration::from_secs(1),
            "revoke returned after {waited:?}"
        );

        // B's very first answers after resuming refuse the token.
        let r = verify(&mut gb, &t.token, None).await;
        assert!(!r.valid, "B answered valid after resuming: {r:?}");
        assert_eq!(r.reason, "revoked");
        let e = rest_b.whoami().await.unwrap_err();
        assert_eq!(e.status(), Some(401), "{e:?}");
        // A change made on B after it resumed reaches A as well.
        let t2 = token_for(&a, Change::Revoke, 1).await;
        let mut ga = verifier(&a).await;
        assert!(verify(&mut ga, &t2.token, None).await.valid);
        b.client_with(&a.owner_token)
            .revoke_token("default", t2.metadata.id, None)
            .await
            .unwrap();
        assert_eq!(verify(&mut ga, &t2.token, None).await.reason, "revoked");
    });
}

/// A root issued on A, a child derived on A and a grandchild derived on B;
/// the grandchild is accepted on both, warm in both memories; revoking the
/// root on A refuses the grandchild on B at once (no wait, no retry), over
/// REST and gRPC, and the same the other way round for a second family.
#[test]
fn replicas_a_grandchild_dies_with_its_root_everywhere_at_once() {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        for (n, (first, second)) in [(&a, &b), (&b, &a)].into_iter().enumerate() {
            let root = token_for(&a, Change::Revoke, 100 + n).await;
            let kid = first
                .client_with(&root.token)
                .attenuate_token(&AttenuateToken {
                    expiry: Some("1h".into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(kid.metadata.parent_id, Some(root.metadata.id));
            let grandkid = second
                .client_with(&kid.token)
                .attenuate_token(&AttenuateToken {
                    claims: Some(vec![CLAIM.into()]),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(grandkid.metadata.parent_id, Some(kid.metadata.id));
            // Accepted on both replicas (and now warm in both memories).
            let (mut gfirst, mut gsecond) = (verifier(first).await, verifier(second).await);
            for g in [&mut gfirst, &mut gsecond] {
                assert!(verify(g, &grandkid.token, Some(CLAIM)).await.valid);
            }
            let rest_second = second.client_with(&grandkid.token);
            rest_second.whoami().await.unwrap();
            first.client_with(&grandkid.token).whoami().await.unwrap();

            first
                .client_with(&a.owner_token)
                .revoke_token("default", root.metadata.id, None)
                .await
                .unwrap();
            // The very first answers after the revoke returned refuse it.
            let e = rest_second.whoami().await.unwrap_err();
            assert_eq!(e.status(), Some(401), "{e:?}");
            let r = verify(&mut gsecond, &grandkid.token, None).await;
            assert!(!r.valid, "the grandchild answered valid: {r:?}");
            assert_eq!(r.reason, "revoked");
            let r = verify(&mut gfirst, &kid.token, None).await;
            assert_eq!(r.reason, "revoked");
            let view = second
                .client_with(&a.owner_token)
                .get_token("default", grandkid.metadata.id)
                .await
                .unwrap();
            assert_eq!(view.status, "revoked");
            assert_eq!(view.revoked_reason.as_deref(), Some("parent revoked"));
        }
    });
}
