//! `POST,GET /v1/orgs`, `GET /v1/orgs/{org}`; each org's objects out of the
//! others' reach (the rest of tenancy is attacked in `forged.rs`).

use crate::{both, code, count, field, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    creating_answers_the_org,
    a_taken_name_is_409,
    a_bad_name_is_400,
    the_root_owner_lists_every_org,
    the_root_owner_administers_a_new_org,
    the_org_caps_token_lifetimes,
    a_token_within_the_cap_works,
    another_orgs_objects_do_not_exist,
    a_token_lists_only_its_own_org,
    only_the_root_org_creates_orgs
);

/// Creates org `acme`, which caps token lifetimes at 30 days.
async fn acme(c: &Ctx) -> (StatusCode, Value) {
    c.post(
        "/v1/orgs",
        &c.owner,
        json!({"name": "acme", "max_token_lifetime": "30d"}),
    )
    .await
}

/// Org `acme` and its bot `acme-ci`, created by the root owner.
async fn acme_ci(c: &Ctx) -> StatusCode {
    acme(c).await;
    c.post(
        "/v1/orgs/acme/bots",
        &c.owner,
        json!({"username": "acme-ci", "permissions": ["bots:*:*"]}),
    )
    .await
    .0
}

/// Issues a token of `acme-ci` valid `expiry`, as the root owner.
async fn acme_token(c: &Ctx, expiry: &str) -> (StatusCode, Value) {
    c.post(
        "/v1/orgs/acme/tokens",
        &c.owner,
        json!({"owner": "acme-ci", "expiry": expiry}),
    )
    .await
}

async fn creating_answers_the_org(c: Ctx) {
    let (s, v) = acme(&c).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["max_token_lifetime"], 30 * 86_400);
    snapshot!("created_org", v);
}

async fn a_taken_name_is_409(c: Ctx) {
    acme(&c).await;
    assert_eq!(
        c.post("/v1/orgs", &c.owner, json!({"name": "acme"}))
            .await
            .0,
        StatusCode::CONFLICT
    );
}

async fn a_bad_name_is_400(c: Ctx) {
    assert_eq!(
        c.post("/v1/orgs", &c.owner, json!({"name": "Acme Inc"}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

async fn the_root_owner_lists_every_org(c: Ctx) {
    acme(&c).await;
    let (_, v) = c.get("/v1/orgs", &c.owner).await;
    assert_eq!(count(&v), 2);
}

/// The root owner administers acme: a bot there, a token within the org's cap.
async fn the_root_owner_administers_a_new_org(c: Ctx) {
    assert_eq!(acme_ci(&c).await, StatusCode::CREATED);
}

async fn the_org_caps_token_lifetimes(c: Ctx) {
    acme_ci(&c).await;
    let (s, v) = acme_token(&c, "90d").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "lifetime_exceeded"),
        "the org caps lifetimes"
    );
}

async fn a_token_within_the_cap_works(c: Ctx) {
    acme_ci(&c).await;
    let (s, v) = acme_token(&c, "7d").await;
    assert_eq!(s, StatusCode::CREATED);
    let t = v["token"].as_str().unwrap();
    assert_eq!(c.status("/v1/orgs/acme/bots", t).await, StatusCode::OK);
}

/// Another org's objects do not exist for it: the org is what is out of reach.
async fn another_orgs_objects_do_not_exist(c: Ctx) {
    let acme = c.org_token("acme", &["bots:*:*"]).await;
    c.bot("secret-bot", &[]).await;
    for path in [
        "/v1/orgs/default",
        "/v1/orgs/default/bots",
        "/v1/orgs/default/bots/secret-bot",
    ] {
        let (s, v) = c.get(path, &acme).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::NOT_FOUND, "not_found", "org"),
            "{path}: the org is what is out of reach"
        );
        snapshot!("error_404_org", v);
    }
}

async fn a_token_lists_only_its_own_org(c: Ctx) {
    let acme = c.org_token("acme", &["bots:*:*"]).await;
    let (_, v) = c.get("/v1/orgs", &acme).await;
    assert_eq!(count(&v), 1, "it lists only its own org");
}

async fn only_the_root_org_creates_orgs(c: Ctx) {
    let acme = c.org_token("acme", &["bots:*:*"]).await;
    assert_eq!(
        c.post("/v1/orgs", &acme, json!({"name": "evil"})).await.0,
        StatusCode::FORBIDDEN
    );
}
