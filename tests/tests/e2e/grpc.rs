//! The gRPC verification API of real server processes: Verify (same checks as
//! REST), WatchRevocations (replay, live, resume from a cursor), reflection and
//! health, replicas on one PostgreSQL, the verification cache under concurrent
//! revoke and verify, failing closed without a database, and the offline
//! verifier library.

// Clippy's test exemption covers #[test] fns only, not this module's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigil_e2e::grpc::{verifier, verify};
use sigil_e2e::{create_bot, pg_admin_url, replicas, PgDb, ServerOptions, TestServer};
use sigil_proto::api::{IssueToken, IssuedToken, UpdateBot};
use sigil_proto::v1::verifier_client::VerifierClient;
use sigil_proto::v1::{RevocationEvent, VerifyRequest, VerifyResponse, WatchRevocationsRequest};
use sigil_proto::SecretString;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic::Code;

use sigil_e2e::rt;

/// A server on `database_url` (SQLite when None) serving gRPC, with the
/// shared master key.
fn grpc_opts(database_url: Option<String>) -> ServerOptions {
    ServerOptions::replica(database_url).with_grpc()
}

async fn watch(
    c: &mut VerifierClient<Channel>,
    token: &SecretString,
    since: u64,
) -> Result<tonic::Streaming<RevocationEvent>, tonic::Status> {
    let mut req = tonic::Request::new(WatchRevocationsRequest { since });
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", token.expose()).parse().unwrap(),
    );
    c.watch_revocations(req).await.map(|r| r.into_inner())
}

/// Reads events until a checkpoint; returns the revoked token ids and the checkpoint's cursor.
async fn until_checkpoint(s: &mut tonic::Streaming<RevocationEvent>) -> (Vec<String>, u64) {
    let mut ids = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), s.message())
            .await
            .expect("an event within 10s")
            .unwrap()
            .expect("stream open");
        if ev.checkpoint {
            assert!(ev.token_id.is_empty());
            return (ids, ev.cursor);
        }
        ids.push(ev.token_id);
    }
}

async fn bot_with_token(s: &TestServer, name: &str, perms: &[&str]) -> IssuedToken {
    create_bot(&s.client(), name, perms).await;
    issue(s, name).await
}

/// A one-day token for `bot`, as the owner.
async fn issue(s: &TestServer, bot: &str) -> IssuedToken {
    issue_bound(s, bot, &[], None).await
}

/// Polls `f` until it holds; panics after `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if f().await {
            return;
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn sqlite_verify_reasons_claims_and_the_rest_port() {
    let s = TestServer::start_with(grpc_opts(None));
    rt().block_on(async {
        let t = bot_with_token(&s, "ci", &["machines:get,list:*", "bots:list:*"]).await;
        let mut c = verifier(&s).await;

        let r = verify(&mut c, &t.token, None).await;
        assert!(r.valid && r.allowed, "{r:?}");
        assert_eq!(r.reason, "");
        assert_eq!(r.owner_name, "ci");
        assert_eq!(r.kind, "bot");
        assert_eq!(r.org, "default");
        assert_eq!(r.token_id, t.metadata.id.to_string());
        assert_eq!(r.claims, vec!["machines:get,list:*", "bots:list:*"]);
        // Again: served from the verification cache, same answer.
        assert_eq!(verify(&mut c, &t.token, None).await, r);
        let metrics = reqwest::get(format!("{}/metrics", s.endpoint))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let hits = metrics
            .lines()
            .find_map(|l| l.strip_prefix("sigil_verify_cache_lookups_total{result=\"hit\"} "))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        assert!(hits >= 1, "{metrics}");

        let ok = verify(&mut c, &t.token, Some("machines:get:48de76fd")).await;
        assert!(ok.valid && ok.allowed);
        let no = verify(&mut c, &t.token, Some("machines:get,delete:48de76fd")).await;
        assert!(!no.valid && !no.allowed);
        assert_eq!(no.reason, "not_allowed");
        let bad = c
            .verify(VerifyRequest {
                token: t.token.expose().into(),
                required_claim: Some("machines".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);

        // Effective rights: shrinking the bot shrinks the token at once.
        s.client()
            .update_bot(
                "default",
                "ci",
                &UpdateBot {
                    permissions: Some(vec!["machines:get:*".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let r = verify(&mut c, &t.token, Some("machines:list:x")).await;
        assert_eq!((r.valid, r.reason.as_str()), (false, "not_allowed"));
        assert_eq!(r.claims, vec!["machines:get:*"]);

        // Refusals carry the stable reason codes.
        let garbage = verify(&mut c, &SecretString::new("not-a-jwt"), None).await;
        assert_eq!(
            (garbage.valid, garbage.reason.as_str()),
            (false, "malformed")
        );
        // This token's header and payload under another token's signature.
        let other = issue(&s, "ci").await;
        let (head, _) = t.token.expose().rsplit_once('.').unwrap();
        let (_, sig) = other.token.expose().rsplit_once('.').unwrap();
        let tampered = format!("{head}.{sig}");
        let r = verify(&mut c, &SecretString::new(tampered), None).await;
        assert_eq!((r.valid, r.reason.as_str()), (false, "bad_signature"));

        s.client()
            .revoke_token("default", t.metadata.id, None)
            .await
            .unwrap();
        let r = verify(&mut c, &t.token, None).await;
        assert_eq!((r.valid, r.reason.as_str()), (false, "revoked"));

        // gRPC is answered on the REST port too.
        let t2 = issue(&s, "ci").await;
        let mut on_rest = VerifierClient::connect(s.endpoint.clone()).await.unwrap();
        assert!(verify(&mut on_rest, &t2.token, None).await.valid);
        assert!(
            !s.logs().contains(t.token.expose()),
            "JWT leaked into the log"
        );
    });
}

/// A token of bot `bot` with `allowed_cidrs` and `max_uses`.
async fn issue_bound(
    s: &TestServer,
    bot: &str,
    cidrs: &[&str],
    max_uses: Option<i64>,
) -> IssuedToken {
    s.client()
        .issue_token(
            "default",
            &IssueToken {
                owner: bot.into(),
                expiry: Some("1d".into()),
                allowed_cidrs: (!cidrs.is_empty())
                    .then(|| cidrs.iter().map(|c| c.to_string()).collect()),
                max_uses,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
}

/// Verify of `token` presented from `from`.
async fn verify_from(
    c: &mut VerifierClient<Channel>,
    token: &SecretString,
    claim: Option<&str>,
    from: Option<&str>,
) -> Result<VerifyResponse, tonic::Status> {
    c.verify(VerifyRequest {
        token: token.expose().to_string(),
        required_claim: claim.map(str::to_string),
        client_address: from.map(str::to_string),
    })
    .await
    .map(tonic::Response::into_inner)
}

#[test]
fn sqlite_verify_binding_limits_and_parent() {
    let s = TestServer::start_with(grpc_opts(None));
    rt().block_on(async {
        let t = bot_with_token(&s, "ci", &["machines:get,list:*", "revocations:list:*"]).await;
        let mut c = verifier(&s).await;
        let reason = |r: &VerifyResponse| (r.valid, r.reason.clone());

        // Bound: client_address required, inside only.
        let bound = issue_bound(&s, "ci", &["10.1.0.0/16", "2001:db8::/32"], None).await;
        let r = verify_from(&mut c, &bound.token, None, None).await.unwrap();
        assert_eq!(reason(&r), (false, "address_not_allowed".into()), "absent");
        let r = verify_from(&mut c, &bound.token, None, Some(""))
            .await
            .unwrap();
        assert_eq!(reason(&r), (false, "address_not_allowed".into()), "empty");
        for inside in ["10.1.2.3", "::ffff:10.1.2.3", "2001:db8::9"] {
            let r = verify_from(&mut c, &bound.token, None, Some(inside))
                .await
                .unwrap();
            assert!(r.valid, "{inside}: {r:?}");
        }
        for outside in ["10.2.0.1", "::ffff:192.0.2.1", "2001:db9::1"] {
            let r = verify_from(&mut c, &bound.token, None, Some(outside))
                .await
                .unwrap();
            assert_eq!(
                reason(&r),
                (false, "address_not_allowed".into()),
                "{outside}"
            );
            assert!(r.claims.is_empty() && r.token_id.is_empty(), "{r:?}");
        }
        // Not an address: the resource server's bug, whatever the token.
        for token in [&bound.token, &t.token] {
            let e = verify_from(&mut c, token, None, Some("10.1.2.3:443"))
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument);
            assert!(e.message().contains("client_address"), "{e:?}");
        }
        // An unbound token needs no address, and any address is fine.
        assert!(
            verify_from(&mut c, &t.token, None, None)
                .await
                .unwrap()
                .valid
        );
        assert!(
            verify_from(&mut c, &t.token, None, Some("192.0.2.1"))
                .await
                .unwrap()
                .valid
        );

        // Limited: each valid answer takes one use; a refusal takes none.
        let limited = issue_bound(&s, "ci", &[], Some(2)).await;
        let no = verify_from(&mut c, &limited.token, Some("machines:delete:x"), None)
            .await
            .unwrap();
        assert_eq!(reason(&no), (false, "not_allowed".into()));
        for _ in 0..2 {
            let r = verify_from(&mut c, &limited.token, Some("machines:get:x"), None)
                .await
                .unwrap();
            assert!(r.valid, "{r:?}");
        }
        let r = verify_from(&mut c, &limited.token, None, None)
            .await
            .unwrap();
        assert_eq!(reason(&r), (false, "exhausted".into()));
        let view = s
            .client()
            .get_token("default", limited.metadata.id)
            .await
            .unwrap();
        assert_eq!((view.uses, view.status.as_str()), (2, "exhausted"));

        // A derived token names its parent.
        let child = s
            .client_with(&t.token)
            .attenuate_token(&sigil_proto::api::AttenuateToken {
                claims: Some(vec!["machines:get:*".into()]),
                ..Default::default()
            })
            .await
            .unwrap();
        let r = verify(&mut c, &child.token, None).await;
        assert!(r.valid, "{r:?}");
        assert_eq!(r.parent_id, t.metadata.id.to_string());
        assert_eq!(verify(&mut c, &t.token, None).await.parent_id, "");

        // WatchRevocations binds its bearer token to the gRPC peer (127.0.0.1).
        let far = issue_bound(&s, "ci", &["10.0.0.0/8"], None).await;
        let e = watch(&mut c, &far.token, 0).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
        assert!(e.message().contains("address_not_allowed"), "{e:?}");
        let near = issue_bound(&s, "ci", &["127.0.0.0/8"], Some(1)).await;
        let mut stream = watch(&mut c, &near.token, 0).await.unwrap();
        until_checkpoint(&mut stream).await;
        // Opening took its one use; the stream's re-checks take none.
        let view = s
            .client()
            .get_token("default", near.metadata.id)
            .await
            .unwrap();
        assert_eq!(view.uses, 1);
        s.client()
            .revoke_token("default", limited.metadata.id, None)
            .await
            .unwrap();
        let (ids, _) = until_checkpoint(&mut stream).await;
        assert_eq!(
            ids,
            vec![limited.metadata.id.to_string()],
            "still streaming"
        );
        for tok in [&bound.token, &limited.token, &near.token, &far.token] {
            assert!(!s.logs().contains(tok.expose()), "JWT leaked into the log");
        }
    });
}

#[test]
fn reflection_lists_the_services_and_health_serves() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let s = TestServer::start_with(grpc_opts(None));
    rt().block_on(async {
        let ep = s.grpc_endpoint.clone().unwrap();
        let channel = tonic::transport::Endpoint::from_shared(ep)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut refl = ServerReflectionClient::new(channel.clone());
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut resp = refl
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let msg = resp.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
            panic!("{msg:?}")
        };
        let names: HashSet<String> = list.service.into_iter().map(|s| s.name).collect();
        for want in [
            "sigil.v1.Verifier",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
        ] {
            assert!(names.contains(want), "{want} missing from {names:?}");
        }
        // The descriptor of the Verifier service can be fetched (what grpcurl `describe` does).
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "sigil.v1.Verifier".into(),
            )),
        };
        let mut resp = refl
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let msg = resp.message().await.unwrap().unwrap();
        assert!(
            matches!(
                msg.message_response,
                Some(MessageResponse::FileDescriptorResponse(_))
            ),
            "{msg:?}"
        );

        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        for service in ["", "sigil.v1.Verifier"] {
            let r = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                r.status,
                tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            );
        }
    });
}

#[test]
fn watch_needs_a_token_allowing_revocations_list() {
    let s = TestServer::start_with(grpc_opts(None));
    rt().block_on(async {
        let mut c = verifier(&s).await;
        let err = c
            .watch_revocations(WatchRevocationsRequest { since: 0 })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        let err = watch(&mut c, &SecretString::new("nope"), 0)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        let weak = bot_with_token(&s, "weak", &["machines:get:*"]).await;
        let err = watch(&mut c, &weak.token, 0).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        // Two authorization entries are refused, whichever comes first, as
        // REST refuses two Authorization headers: never "first wins".
        let strong = bot_with_token(&s, "strong", &["revocations:list:*"]).await;
        for (a, b) in [(&strong.token, &weak.token), (&weak.token, &strong.token)] {
            let mut req = tonic::Request::new(WatchRevocationsRequest { since: 0 });
            for t in [a, b] {
                req.metadata_mut().append(
                    "authorization",
                    format!("Bearer {}", t.expose()).parse().unwrap(),
                );
            }
            let err = c.watch_revocations(req).await.unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
            assert!(
                err.message().contains("more than one authorization"),
                "{err:?}"
            );
        }

        // A watcher whose own token is revoked is cut off.
        let w = bot_with_token(&s, "watcher", &["revocations:list:*"]).await;
        let mut stream = watch(&mut c, &w.token, 0).await.unwrap();
        until_checkpoint(&mut stream).await;
        s.client()
            .revoke_token("default", w.metadata.id, None)
            .await
            .unwrap();
        let end = loop {
            match tokio::time::timeout(Duration::from_secs(10), stream.message())
                .await
                .expect("stream ends")
            {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("stream ended without a status"),
                Err(status) => break status,
            }
        };
        assert_eq!(end.code(), Code::Unauthenticated);
    });
}

#[test]
fn replicas_share_verification_and_revocation_within_a_second() {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        let t = bot_with_token(&a, "shared", &["bots:list:*"]).await;
        let mut ga = verifier(&a).await;
        let mut gb = verifier(&b).await;
        // Issued on A, valid on B over gRPC (and on A).
        assert!(verify(&mut gb, &t.token, None).await.valid);
        assert!(verify(&mut ga, &t.token, None).await.valid);
        assert_eq!(
            b.client_with(&t.token).whoami().await.unwrap().name,
            "shared"
        );

        let mut stream = watch(&mut gb, &a.owner_token, 0).await.unwrap();
        let (before, _) = until_checkpoint(&mut stream).await;
        assert!(before.is_empty());

        a.client()
            .revoke_token("default", t.metadata.id, Some("leaked"))
            .await
            .unwrap();
        let revoked_at = Instant::now();
        // B refuses it over REST and gRPC within a second.
        eventually(Duration::from_secs(1), "B's REST refuses", || async {
            b.client_with(&t.token)
                .whoami()
                .await
                .err()
                .and_then(|e| e.status())
                == Some(401)
        })
        .await;
        eventually(Duration::from_secs(1), "B's gRPC refuses", || {
            let mut gb = gb.clone();
            let tok = t.token.clone();
            async move { verify(&mut gb, &tok, None).await.reason == "revoked" }
        })
        .await;
        // B's watch stream delivers the revocation made on A within a second.
        let (ids, _) = until_checkpoint(&mut stream).await;
        let ids = if ids.is_empty() {
            until_checkpoint(&mut stream).await.0
        } else {
            ids
        };
        assert_eq!(ids, vec![t.metadata.id.to_string()]);
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "watch took {:?}",
            revoked_at.elapsed()
        );
        assert!(
            b.logs()
                .contains("listening for revocations from other replicas"),
            "{}",
            b.logs()
        );
    });
}

#[test]
fn a_client_resuming_from_its_cursor_misses_nothing() {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        let first = bot_with_token(&a, "first", &["bots:list:*"]).await;
        a.client()
            .revoke_token("default", first.metadata.id, None)
            .await
            .unwrap();
        let mut ga = verifier(&a).await;
        let mut stream = watch(&mut ga, &a.owner_token, 0).await.unwrap();
        let (ids, cursor) = until_checkpoint(&mut stream).await;
        assert_eq!(ids, vec![first.metadata.id.to_string()]);
        drop(stream); // disconnect

        // Revoked on B while the client is away, one by deleting a bot.
        let mut missed = Vec::new();
        for i in 0..3 {
            let t = issue(&a, "first").await;
            if i == 1 {
                b.client_with(&a.owner_token)
                    .revoke_by_value(&t.token)
                    .await
                    .unwrap();
            } else {
                b.client_with(&a.owner_token)
                    .revoke_token("default", t.metadata.id, None)
                    .await
                    .unwrap();
            }
            missed.push(t.metadata.id.to_string());
        }
        let other = bot_with_token(&a, "doomed", &["bots:list:*"]).await;
        b.client_with(&a.owner_token)
            .delete_bot("default", "doomed")
            .await
            .unwrap();
        missed.push(other.metadata.id.to_string());

        let mut stream = watch(&mut ga, &a.owner_token, cursor).await.unwrap();
        let (ids, next) = until_checkpoint(&mut stream).await;
        assert_eq!(
            ids, missed,
            "replay after the cursor, in order, nothing else"
        );
        assert!(next > cursor);
        // And from the last cursor: nothing again.
        let mut stream = watch(&mut ga, &a.owner_token, next).await.unwrap();
        assert!(until_checkpoint(&mut stream).await.0.is_empty());
    });
}

#[test]
fn never_valid_after_revoke_returned_under_concurrent_verify() {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        create_bot(&a.client(), "busy", &["bots:list:*"]).await;
        let mut tokens = Vec::new();
        for _ in 0..12 {
            tokens.push(issue(&a, "busy").await);
        }
        let ga = verifier(&a).await;
        let gb = verifier(&b).await;
        // token index → when its revoke call returned.
        let revoked: Arc<Mutex<Vec<Option<Instant>>>> =
            Arc::new(Mutex::new(vec![None; tokens.len()]));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut checkers = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            for c in [ga.clone(), gb.clone()] {
                let (tok, revoked, stop, mut c) =
                    (t.token.clone(), revoked.clone(), stop.clone(), c);
                checkers.push(tokio::spawn(async move {
                    let (mut valid, mut refused) = (0u32, 0u32);
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let started = Instant::now();
                        let r = verify(&mut c, &tok, None).await;
                        let done_before =
                            revoked.lock().unwrap()[i].is_some_and(|at| at <= started);
                        if r.valid {
                            assert!(
                                !done_before,
                                "token {i} answered valid after its revoke returned"
                            );
                            valid += 1;
                        } else {
                            assert_eq!(r.reason, "revoked");
                            refused += 1;
                        }
                    }
                    (valid, refused)
                }));
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await; // the caches are warm
        for (i, t) in tokens.iter().enumerate() {
            let replica = if i % 2 == 0 { &a } else { &b };
            replica
                .client_with(&a.owner_token)
                .revoke_token("default", t.metadata.id, None)
                .await
                .unwrap();
            revoked.lock().unwrap()[i] = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (mut valid, mut refused) = (0, 0);
        for c in checkers {
            let (v, r) = c.await.unwrap();
            valid += v;
            refused += r;
        }
        assert!(
            valid > 0 && refused > 0,
            "both phases were exercised: {valid} valid, {refused} refused"
        );
    });
}

#[test]
fn a_replica_that_loses_its_database_fails_closed() {
    let db = PgDb::create();
    let s = TestServer::start_with(grpc_opts(Some(db.url.clone())));
    rt().block_on(async {
        let t = bot_with_token(&s, "orphan", &["bots:list:*"]).await;
        let mut c = verifier(&s).await;
        assert!(verify(&mut c, &t.token, None).await.valid);
        let name = db.url.rsplit('/').next().unwrap().to_string();
        let out = std::process::Command::new("psql")
            .arg(pg_admin_url())
            .arg("-c")
            .arg(format!("DROP DATABASE {name} WITH (FORCE)"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let http = reqwest::Client::new();
        eventually(Duration::from_secs(10), "/readyz answers 503", || async {
            http.get(format!("{}/readyz", s.endpoint))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .ok()
                == Some(503)
        })
        .await;
        // The cached signature does not make it valid: Verify fails, never "valid".
        let err = c
            .verify(VerifyRequest {
                token: t.token.expose().into(),
                required_claim: None,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err.code(), Code::Unavailable | Code::Internal),
            "{err:?}"
        );
        assert!(!err.message().contains(t.token.expose()));
    });
}

#[test]
fn offline_verifier_learns_revocations_from_the_stream() {
    use sigil_proto::verifier::{TokenVerifier, VerifierConfig, VerifyError};
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        let watcher = bot_with_token(&a, "resource-server", &["revocations:list:*"]).await;
        let user = bot_with_token(&a, "caller", &["machines:get:*"]).await;
        let mut cfg = VerifierConfig::new(b.endpoint.clone(), watcher.token.clone());
        cfg.grpc_endpoint = b.grpc_endpoint.clone();
        cfg.jwks_min_refresh = Duration::from_millis(500);
        let v = TokenVerifier::start(cfg).await.unwrap();
        let ok = v.verify(user.token.expose()).await.unwrap();
        assert_eq!(ok.id, user.metadata.id.to_string());
        assert!(ok.allows("machines", "get", "m1"));
        assert!(!ok.allows("machines", "delete", "m1"));
        assert_eq!(
            v.verify("garbage").await.unwrap_err(),
            VerifyError::Malformed
        );

        // Revoked through replica A; the verifier, subscribed to B, learns within a second.
        a.client()
            .revoke_token("default", user.metadata.id, None)
            .await
            .unwrap();
        eventually(Duration::from_secs(1), "offline verifier refuses", || {
            let v = v.clone();
            let tok = user.token.clone();
            async move { v.verify(tok.expose()).await.err() == Some(VerifyError::Revoked) }
        })
        .await;

        // A key rotated on A after start: B publishes it within seconds, and the
        // verifier fetches the JWKS again on first sight of the new kid.
        a.client().rotate_keys().await.unwrap();
        let fresh = issue(&a, "caller").await;
        eventually(
            Duration::from_secs(15),
            "offline verifier accepts a token of the new key",
            || {
                let v = v.clone();
                let tok = fresh.token.clone();
                async move { v.verify(tok.expose()).await.is_ok() }
            },
        )
        .await;
    });
}

/// `examples/resource-server`, run as a process against a real server (its
/// gRPC on the REST port), protecting `GET /machines/{id}` with `machines:get:{id}`.
#[test]
fn example_resource_server_protects_its_route() {
    use std::io::{BufRead, BufReader};
    let s = TestServer::start();
    let rt = rt();
    let (watcher, caller, weak) = rt.block_on(async {
        (
            bot_with_token(&s, "resource-server", &["revocations:list:*"]).await,
            bot_with_token(&s, "caller", &["machines:get:*"]).await,
            bot_with_token(&s, "weak", &["machines:list:*"]).await,
        )
    });
    let mut child = std::process::Command::new(sigil_e2e::bin("sigil-resource-server"))
        .env("SIGIL_ENDPOINT", &s.endpoint)
        .env("SIGIL_TOKEN", watcher.token.expose())
        .env("LISTEN", "127.0.0.1:0")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let _guard = Kill(child);
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("resource server output").unwrap();
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.trim().to_string();
        }
    };
    rt.block_on(async {
        let http = reqwest::Client::new();
        let get = |tok: Option<SecretString>| {
            let req = http.get(format!("{addr}/machines/m1"));
            let req = match tok {
                Some(t) => req.bearer_auth(t.expose()),
                None => req,
            };
            async move { req.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(get(None).await, 401);
        assert_eq!(get(Some(weak.token.clone())).await, 403);
        assert_eq!(get(Some(caller.token.clone())).await, 200);
        s.client()
            .revoke_token("default", caller.metadata.id, None)
            .await
            .unwrap();
        eventually(
            Duration::from_secs(1),
            "the resource server refuses a revoked token",
            || {
                let f = get(Some(caller.token.clone()));
                async move { f.await == 401 }
            },
        )
        .await;
    });
}

/// Revocations committed concurrently on two replicas reach a watcher that
/// keeps disconnecting and resuming from its cursor: each exactly once.
#[test]
fn concurrent_revocations_reach_a_reconnecting_watcher_exactly_once() {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        create_bot(&a.client(), "many", &["bots:list:*"]).await;
        let mut tokens = Vec::new();
        for _ in 0..30 {
            tokens.push(issue(&a, "many").await.metadata.id);
        }
        let want: HashSet<String> = tokens.iter().map(|t| t.to_string()).collect();
        let owner = a.owner_token.clone();
        let (ca, cb) = (a.client(), b.client_with(&owner));
        let revokes = tokio::spawn(async move {
            let mut tasks = Vec::new();
            for (i, id) in tokens.into_iter().enumerate() {
                let c = if i % 2 == 0 { ca.clone() } else { cb.clone() };
                tasks.push(tokio::spawn(async move {
                    c.revoke_token("default", id, None).await.unwrap()
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        let mut g = verifier(&b).await;
        let (mut seen, mut cursor) = (Vec::new(), 0u64);
        let start = Instant::now();
        while seen.iter().collect::<HashSet<_>>().len() < want.len() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "only {} of {} seen",
                seen.len(),
                want.len()
            );
            let mut s = watch(&mut g, &owner, cursor).await.unwrap();
            // A few events, then disconnect.
            for _ in 0..3 {
                let Ok(Ok(Some(ev))) =
                    tokio::time::timeout(Duration::from_secs(2), s.message()).await
                else {
                    break;
                };
                cursor = ev.cursor;
                if !ev.checkpoint {
                    seen.push(ev.token_id);
                }
            }
        }
        revokes.await.unwrap();
        assert_eq!(seen.len(), want.len(), "no event twice");
        assert_eq!(seen.into_iter().collect::<HashSet<_>>(), want);
    });
}
