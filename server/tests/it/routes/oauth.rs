//! `POST /v1/introspect` (RFC 7662) and `POST /v1/revoke` (RFC 7009): by the
//! token's value, form-encoded or JSON.

use crate::{both, field, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::json;

both!(
    introspecting_a_live_token_shows_its_claims,
    an_invalid_token_answers_only_inactive,
    introspection_needs_a_bearer,
    introspection_without_a_token_is_400,
    revoking_garbage_answers_200,
    revoking_by_value_needs_only_the_token,
    a_revoked_token_introspects_inactive,
    revoke_accepts_json,
    a_misplaced_token_in_a_revoke_body_is_never_echoed
);

/// A token of bot `steve`'s (`bots:list:*`).
async fn steve_token(c: &Ctx) -> String {
    c.bot_token("steve", &["bots:list:*"]).await
}

async fn introspecting_a_live_token_shows_its_claims(c: Ctx) {
    let jwt = steve_token(&c).await;
    let (s, v) = c
        .form("/v1/introspect", Some(&c.owner), &format!("token={jwt}"))
        .await;
    assert_eq!((s, v["active"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(
        (
            v["username"].as_str(),
            v["kind"].as_str(),
            v["scope"].as_str()
        ),
        (Some("steve"), Some("bot"), Some("bots:list:*"))
    );
    snapshot!("introspection_active", v);
}

async fn an_invalid_token_answers_only_inactive(c: Ctx) {
    let (_, v) = c
        .form("/v1/introspect", Some(&c.owner), "token=garbage")
        .await;
    assert_eq!(
        v,
        json!({"active": false}),
        "an invalid token answers only active=false"
    );
}

async fn introspection_needs_a_bearer(c: Ctx) {
    let jwt = steve_token(&c).await;
    assert_eq!(
        c.form("/v1/introspect", None, &format!("token={jwt}"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

async fn introspection_without_a_token_is_400(c: Ctx) {
    let (s, v) = c
        .form("/v1/introspect", Some(&c.owner), "nothing=here")
        .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "token"));
}

/// RFC 7009: holding the token is enough; garbage answers 200 too.
async fn revoking_garbage_answers_200(c: Ctx) {
    assert_eq!(
        c.form("/v1/revoke", None, "token=garbage").await.0,
        StatusCode::OK
    );
}

async fn revoking_by_value_needs_only_the_token(c: Ctx) {
    let jwt = steve_token(&c).await;
    assert_eq!(
        c.form("/v1/revoke", None, &format!("token={jwt}")).await.0,
        StatusCode::OK
    );
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::UNAUTHORIZED);
}

async fn a_revoked_token_introspects_inactive(c: Ctx) {
    let jwt = steve_token(&c).await;
    c.form("/v1/revoke", None, &format!("token={jwt}")).await;
    let (_, v) = c
        .form("/v1/introspect", Some(&c.owner), &format!("token={jwt}"))
        .await;
    assert_eq!(v, json!({"active": false}));
}

async fn revoke_accepts_json(c: Ctx) {
    let jwt = steve_token(&c).await;
    let (s, _) = c
        .call("POST", "/v1/revoke", None, Some(json!({"token": jwt})))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::UNAUTHORIZED);
}

async fn a_misplaced_token_in_a_revoke_body_is_never_echoed(c: Ctx) {
    let jwt = steve_token(&c).await;
    for body in [
        json!({"token": [jwt]}),
        json!({"token": "x", "token_type_hint": [jwt]}),
        json!({"token": "x", "token_type_hint": 5, "extra": format!("x.{jwt}")}),
        json!({"token": jwt.clone(), jwt.clone(): 1}),
        json!({"token": jwt.clone(), format!("x.{jwt}"): "y"}),
        json!({"token": 5, "token_type_hint": format!("x.{jwt}")}),
    ] {
        for path in ["/v1/revoke", "/v1/introspect"] {
            let (s, v) = c
                .call("POST", path, Some(&c.owner), Some(body.clone()))
                .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{path} {body}: {v}");
            crate::routes::tokens::leaks::assert_no_secret(&jwt, &v, &body.to_string());
        }
    }
    // Nothing was revoked by a refused body.
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
}
