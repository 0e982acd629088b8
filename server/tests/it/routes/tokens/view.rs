//! `GET /v1/orgs/{org}/tokens/{id}`: metadata, never the JWT.

use crate::{both, code, field, Ctx};
use axum::http::StatusCode;

both!(
    view_answers_the_metadata_never_the_jwt,
    use_is_recorded,
    an_unknown_id_is_404,
    a_bad_id_is_400
);

/// A token of `steve`'s; answers (id, jwt, the token's path).
async fn steve_token(c: &Ctx) -> (String, String, String) {
    c.bot("steve", &["machines:get,list:*", "bots:list:*"])
        .await;
    let (id, jwt) = c.issue("steve").await;
    let path = format!("/v1/orgs/default/tokens/{id}");
    (id, jwt, path)
}

async fn view_answers_the_metadata_never_the_jwt(c: Ctx) {
    let (_, jwt, path) = steve_token(&c).await;
    let (s, v) = c.get(&path, &c.owner).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v.get("token").is_none() && !v.to_string().contains(&jwt),
        "view never shows the JWT"
    );
}

async fn use_is_recorded(c: Ctx) {
    let (_, jwt, path) = steve_token(&c).await;
    let (_, v) = c.get(&path, &c.owner).await;
    assert!(v["last_used_at"].is_null());
    c.get("/v1/whoami", &jwt).await;
    let (_, v) = c.get(&path, &c.owner).await;
    assert!(!v["last_used_at"].is_null(), "use is recorded");
}

async fn an_unknown_id_is_404(c: Ctx) {
    let (s, v) = c
        .get(
            "/v1/orgs/default/tokens/00000000-0000-4000-8000-000000000000",
            &c.owner,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

async fn a_bad_id_is_400(c: Ctx) {
    let (s, v) = c.get("/v1/orgs/default/tokens/not-a-uuid", &c.owner).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "id"));
}
