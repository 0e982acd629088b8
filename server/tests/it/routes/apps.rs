//! `POST,GET /v1/orgs/{org}/apps`, `GET,DELETE /v1/orgs/{org}/apps/{app}`, and
//! what an app-scoped token (issued with `app`) may reach.

use crate::{both, count, field, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    creating_answers_the_app,
    a_taken_name_is_409,
    a_bad_name_is_400,
    an_app_token_names_its_app,
    whoami_shows_the_app,
    an_app_token_sees_its_own_app_only,
    an_app_token_reaches_nothing_org_wide,
    an_app_token_cannot_mint_for_another_app,
    an_app_token_lists_only_its_apps_tokens,
    deleting_the_app_revokes_its_tokens
);

/// Apps `web` and `api`, a bot `deployer` holding everything, and the issue
/// answer of a token of deployer's scoped to `web`.
async fn web_token(c: &Ctx) -> Value {
    c.app("web").await;
    c.app("api").await;
    c.bot("deployer", &["*:*:*"]).await;
    let (s, t) = c
        .create(
            "tokens",
            json!({"owner": "deployer", "app": "web", "claims": ["tokens:*:*", "apps:*:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

/// The JWT of [`web_token`].
async fn web_jwt(c: &Ctx) -> String {
    web_token(c).await["token"].as_str().unwrap().to_string()
}

async fn creating_answers_the_app(c: Ctx) {
    let (s, v) = c.create("apps", json!({"name": "web"})).await;
    assert_eq!(s, StatusCode::CREATED);
    snapshot!("created_app", v);
}

async fn a_taken_name_is_409(c: Ctx) {
    c.app("web").await;
    let (s, v) = c.create("apps", json!({"name": "web"})).await;
    assert_eq!((s, field(&v)), (StatusCode::CONFLICT, "name"));
}

async fn a_bad_name_is_400(c: Ctx) {
    let (s, v) = c.create("apps", json!({"name": "Web App"})).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "name"));
}

async fn an_app_token_names_its_app(c: Ctx) {
    let t = web_token(&c).await;
    assert_eq!(
        (t["scope"].as_str(), t["app"].as_str()),
        (Some("app"), Some("web"))
    );
    let (_, web) = c.get("/v1/orgs/default/apps/web", &c.owner).await;
    assert_eq!(t["app_id"], web["id"]);
}

async fn whoami_shows_the_app(c: Ctx) {
    let t = web_jwt(&c).await;
    let (_, me) = c.get("/v1/whoami", &t).await;
    assert_eq!(me["app"], "web");
}

async fn an_app_token_sees_its_own_app_only(c: Ctx) {
    let t = web_jwt(&c).await;
    assert_eq!(
        c.status("/v1/orgs/default/apps/web", &t).await,
        StatusCode::OK
    );
    assert_eq!(
        c.status("/v1/orgs/default/apps/api", &t).await,
        StatusCode::NOT_FOUND
    );
    let (_, v) = c.get("/v1/orgs/default/apps", &t).await;
    assert_eq!(count(&v), 1);
}

async fn an_app_token_reaches_nothing_org_wide(c: Ctx) {
    let t = web_jwt(&c).await;
    assert_eq!(
        c.status("/v1/orgs/default/bots", &t).await,
        StatusCode::FORBIDDEN
    );
}

async fn an_app_token_cannot_mint_for_another_app(c: Ctx) {
    let t = web_jwt(&c).await;
    let (s, _) = c
        .post(
            "/v1/orgs/default/tokens",
            &t,
            json!({"owner": "deployer", "app": "api", "claims": ["tokens:get:*"]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "an app token cannot mint for another app, nor learn that it exists"
    );
}

async fn an_app_token_lists_only_its_apps_tokens(c: Ctx) {
    let t = web_jwt(&c).await;
    c.issue("deployer").await;
    c.issue_with(json!({"owner": "deployer", "app": "api"}))
        .await;
    let (_, v) = c.get("/v1/orgs/default/tokens", &t).await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["app"] == "web"),
        "{v}"
    );
}

async fn deleting_the_app_revokes_its_tokens(c: Ctx) {
    let app_tok = web_jwt(&c).await;
    let (_, org_tok) = c.issue("deployer").await;
    assert_eq!(
        c.delete("/v1/orgs/default/apps/web").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.status("/v1/whoami", &app_tok).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(c.status("/v1/whoami", &org_tok).await, StatusCode::OK);
}
