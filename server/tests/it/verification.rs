//! Verification from memory (`sigil_server::replica::lease`, `verify_cache`): a warm
//! token needs no database while the lease is live and fails closed once it
//! ran out; every kind of change empties the view before it returns; a change
//! waits for a peer replica that has not acknowledged it, at most a lease.

use crate::{both, code, Ctx};
use axum::http::StatusCode;
use serde_json::json;
use sigil_server::ops::{Actor, Uow};
use sigil_server::state::Settings;
use sigil_server::store;
use std::time::Duration;

both!(
    verification_warm_token_needs_no_database,
    verification_a_failed_renewal_drops_the_lease_at_once,
    verification_revoke_refused_at_once,
    verification_owner_deletion_refused_at_once,
    verification_permission_shrink_applies_at_once,
    verification_expiry_shortening_applies_at_once,
    verification_key_retirement_refused_at_once,
    verification_change_waits_for_a_silent_peer,
    verification_change_returns_when_peer_acknowledges,
    verification_last_use_is_batched,
);

/// Renews the lease now, and every 500 ms until the test ends (as `sigil
/// server` does).
async fn keep_lease(c: &Ctx) {
    c.state.lease.renew(&c.state.env()).await.unwrap();
    // Never stopped: the renewal runs until the test's runtime ends.
    sigil_server::jobs::lease::spawn(c.state.clone(), sigil_server::jobs::Stop::new());
}

/// A context whose lease is live, and a bot token authenticated once (warm).
async fn warm(c: &Ctx, perms: &[&str]) -> String {
    keep_lease(c).await;
    assert!(c.state.lease.fresh());
    let jwt = c.bot_token("warm", perms).await;
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    assert!(c.state.verify_cache.warm(&jwt, c.state.now()).is_some());
    jwt
}

async fn verification_warm_token_needs_no_database(c: Ctx) {
    // Renewed once by hand (no renewal task): the lease runs out on its own.
    let jwt = c.bot_token("warm", &["bots:list:*"]).await;
    let (_, cold) = c.issue("warm").await;
    c.state.lease.renew(&c.state.env()).await.unwrap();
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    // No database at all from here on.
    c.state.store.pool.close().await;
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(s, StatusCode::OK, "warm, under a live lease: {v}");
    // A token never seen needs the database: fails closed.
    let (s, _) = c.get("/v1/whoami", &cold).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    // Once the lease ran out, memory no longer answers.
    tokio::time::sleep(c.state.lease.duration).await;
    assert!(!c.state.lease.fresh());
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "fails closed: {v}");
    // Nor after a failed renewal.
    assert!(c.state.lease.renew(&c.state.env()).await.is_err());
    assert!(!c.state.lease.fresh());
}

async fn verification_a_failed_renewal_drops_the_lease_at_once(c: Ctx) {
    let jwt = warm(&c, &["bots:list:*"]).await;
    c.state.store.pool.close().await;
    assert!(c.state.lease.renew(&c.state.env()).await.is_err());
    assert!(!c.state.lease.fresh(), "no proof of being up to date");
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "fails closed: {v}");
}

async fn verification_revoke_refused_at_once(c: Ctx) {
    let jwt = warm(&c, &["bots:list:*"]).await;
    let id = crate::payload(&jwt)["jti"].as_str().unwrap().to_string();
    let (s, _) = c.revoke(&id).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    assert!(v.to_string().contains("revoked"), "{v}");
}

async fn verification_owner_deletion_refused_at_once(c: Ctx) {
    let jwt = warm(&c, &["bots:list:*"]).await;
    let (s, _) = c.delete("/v1/orgs/default/bots/warm").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::UNAUTHORIZED);
}

async fn verification_permission_shrink_applies_at_once(c: Ctx) {
    let jwt = warm(&c, &["bots:list:*", "apps:list:*"]).await;
    assert_eq!(
        c.status("/v1/orgs/default/apps", &jwt).await,
        StatusCode::OK
    );
    let (s, v) = c
        .patch(
            "/v1/orgs/default/bots/warm",
            json!({"permissions": ["bots:list:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        c.status("/v1/orgs/default/apps", &jwt).await,
        StatusCode::FORBIDDEN
    );
    let (_, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(v["claims"], json!(["bots:list:*"]), "{v}");
}

async fn verification_expiry_shortening_applies_at_once(c: Ctx) {
    let jwt = warm(&c, &["bots:list:*"]).await;
    let id = crate::payload(&jwt)["jti"].as_str().unwrap().to_string();
    // Shortened to now: expired at once.
    let now = time::OffsetDateTime::from_unix_timestamp(c.state.now())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (s, v) = c
        .patch(
            &format!("/v1/orgs/default/tokens/{id}"),
            json!({"expires_at": now}),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::UNAUTHORIZED);
}

async fn verification_key_retirement_refused_at_once(c: Ctx) {
    let jwt = warm(&c, &["bots:list:*"]).await;
    let old_kid = c.jwks_kids().await[0].clone();
    let (s, v) = c.post("/v1/keys/rotate", &c.owner, json!({})).await;
    assert!(s.is_success(), "{s} {v}");
    // No API retires a key yet: an operator's (or a future operation's)
    // deletion, committed through a unit of work like every change.
    let mut uow = Uow::unauthenticated(&c.state, Actor::system())
        .await
        .unwrap();
    sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
        .bind(&old_kid)
        .execute(uow.c())
        .await
        .unwrap();
    uow.commit().await.unwrap();
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
}

/// A context with a short lease, and a fake peer replica's lease row.
async fn with_peer(db: &Ctx, lease: Duration) -> Ctx {
    let c = db
        .fresh(Settings {
            auth_failures_per_minute: 1_000_000,
            lease,
            ..Settings::default()
        })
        .await;
    let mut conn = c.state.store.pool.acquire().await.unwrap();
    store::renew_lease(&mut conn, "peer", 0).await.unwrap();
    c
}

async fn verification_change_waits_for_a_silent_peer(c: Ctx) {
    let c = with_peer(&c, Duration::from_millis(800)).await;
    let (id, _) = {
        c.bot("quiet", &["bots:list:*"]).await;
        c.issue("quiet").await
    };
    let started = std::time::Instant::now();
    let (s, _) = c.revoke(&id).await;
    assert_eq!(s, StatusCode::OK);
    // The peer never acknowledged: the revoke waited until its lease (granted
    // before the commit) had surely run out on the peer.
    assert!(
        started.elapsed() >= c.state.lease.duration,
        "returned after {:?}",
        started.elapsed()
    );
}

async fn verification_change_returns_when_peer_acknowledges(c: Ctx) {
    // A long lease: returning before it means the acknowledgement was used.
    let c = with_peer(&c, Duration::from_secs(600)).await;
    let pool = c.state.store.pool.clone();
    let peer = tokio::spawn(async move {
        loop {
            let mut conn = pool.acquire().await.unwrap();
            let (head, _) = store::change_head(&mut conn).await.unwrap();
            drop(conn);
            store::ack_lease(&pool, "peer", head).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    c.bot("acked", &["bots:list:*"]).await;
    let (id, _) = c.issue("acked").await;
    let (s, _) = tokio::time::timeout(Duration::from_secs(300), c.revoke(&id))
        .await
        .expect("the revoke returned once the peer acknowledged");
    assert_eq!(s, StatusCode::OK);
    peer.abort();
}

async fn verification_last_use_is_batched(c: Ctx) {
    let jwt = warm(&c, &["bots:list:*"]).await;
    let id = crate::payload(&jwt)["jti"].as_str().unwrap().to_string();
    let path = format!("/v1/orgs/default/tokens/{id}");
    let (_, v) = c.get(&path, &c.owner).await;
    let first = v["last_used_at"].clone();
    assert!(!first.is_null(), "the first (cold) use is recorded");
    // Warm uses within the minute: nothing queued, nothing written.
    for _ in 0..5 {
        assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    }
    assert_eq!(c.state.last_use.pending(), 0);
    // A minute later, a warm use is queued, then written in one batch.
    c.advance(61);
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    assert_eq!(c.state.last_use.pending(), 1);
    let (_, v) = c.get(&path, &c.owner).await;
    assert_eq!(v["last_used_at"], first, "not written on the request path");
    c.state.last_use.flush(&c.state.store, c.state.now()).await;
    assert_eq!(c.state.last_use.pending(), 0);
    let (_, v) = c.get(&path, &c.owner).await;
    assert_ne!(v["last_used_at"], first, "written by the flush");
}
