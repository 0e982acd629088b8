//! `POST /v1/tokens/attenuate`: a holder derives a narrower token from its
//! own; every way of widening is refused (`escalation`), and descendants die
//! with their ancestors (revoke by id, by value) and never outlive them.

use crate::{both, code, field, msg, snapshot, Ctx};
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;

both!(
    a_holder_derives_a_narrower_token,
    absent_fields_are_inherited,
    claims_beyond_the_parent_are_escalation,
    claims_the_owner_lost_are_escalation,
    expiry_beyond_the_parent_is_escalation,
    another_app_is_escalation,
    an_org_token_may_narrow_to_an_app,
    wider_networks_are_escalation,
    more_uses_are_escalation,
    depth_nine_is_refused,
    a_revoked_or_expired_parent_derives_nothing,
    malformed_input_is_400,
    revoking_the_root_refuses_grandchildren_at_once,
    revoking_by_value_cascades,
    shortening_a_parent_caps_its_descendants,
    deleting_the_owner_revokes_the_family,
    a_derivation_racing_a_revocation_never_survives_it,
    revoking_a_revoked_parent_revokes_a_surviving_child,
    a_derivation_racing_the_owners_deletion_never_survives_it
);

const ATTENUATE: &str = "/v1/tokens/attenuate";

fn token_path(id: &str) -> String {
    format!("/v1/orgs/default/tokens/{id}")
}

/// The address every request of these tests comes from (bound tokens are
/// checked against it).
fn from_inside() -> SocketAddr {
    "10.1.2.3:40000".parse().unwrap()
}

/// A request with `token` from [`from_inside`].
async fn call(
    c: &Ctx,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = c.request(method, path, Some(token), body);
    req.extensions_mut().insert(ConnectInfo(from_inside()));
    c.send(req).await
}

/// Derives from `parent` with `body`.
async fn derive(c: &Ctx, parent: &str, body: Value) -> (StatusCode, Value) {
    call(c, "POST", ATTENUATE, parent, Some(body)).await
}

/// Derives from `parent` with `body`, which must succeed; answers (id, jwt).
async fn child(c: &Ctx, parent: &str, body: Value) -> (String, String) {
    let (s, v) = derive(c, parent, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

/// The token `id` as the owner sees it.
async fn view(c: &Ctx, id: &str) -> Value {
    let (s, v) = c.get(&token_path(id), &c.owner).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn escalation(s: StatusCode, v: &Value, f: &str) {
    assert_eq!(
        (s, code(v), field(v)),
        (StatusCode::FORBIDDEN, "escalation", f),
        "{v}"
    );
}

async fn a_holder_derives_a_narrower_token(c: Ctx) {
    c.bot("steve", &["bots:get,list:*", "apps:list:*"]).await;
    let (pid, parent) = c.issue("steve").await;
    let (s, v) = derive(
        &c,
        &parent,
        json!({"claims": ["bots:list:*"], "expiry": "1h", "label": "for the linter"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["parent_id"].as_str(), Some(pid.as_str()));
    assert_eq!(v["owner"], "steve");
    assert_eq!(v["created_by_name"], "steve");
    snapshot!("attenuated_token", v);
    let jwt = v["token"].as_str().unwrap();
    // It does what it was narrowed to, and nothing more.
    assert_eq!(
        call(&c, "GET", "/v1/orgs/default/bots", jwt, None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&c, "GET", "/v1/orgs/default/apps", jwt, None).await.0,
        StatusCode::FORBIDDEN
    );
    // The view shows the chain; the audit names the parent.
    let id = v["id"].as_str().unwrap();
    assert_eq!(view(&c, id).await["parent_id"].as_str(), Some(pid.as_str()));
    let (_, audit) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "token.attenuate")
        .expect("a token.attenuate entry");
    assert_eq!(entry["target_id"].as_str(), Some(id));
    assert_eq!(entry["details"]["parent_id"].as_str(), Some(pid.as_str()));
    assert_eq!(entry["actor"], "steve");
}

async fn absent_fields_are_inherited(c: Ctx) {
    c.bot("steve", &["bots:get,list:*"]).await;
    c.app("web").await;
    let (pid, parent) = c
        .issue_with(
            json!({"owner": "steve", "app": "web", "claims": ["bots:list:*"],
            "allowed_cidrs": ["10.0.0.0/8"], "max_uses": 50}),
        )
        .await;
    let (id, _) = child(&c, &parent, json!({})).await;
    let (p, v) = (view(&c, &pid).await, view(&c, &id).await);
    assert_eq!(v["claims"], json!(["bots:list:*"]));
    assert_eq!(v["expires_at"], p["expires_at"]);
    assert_eq!(v["app"], "web");
    assert_eq!(v["allowed_cidrs"], json!(["10.0.0.0/8"]));
    // At most the parent's remaining uses (this very call may have used one).
    let remaining = 50 - p["uses"].as_i64().unwrap();
    assert_eq!(v["max_uses"].as_i64(), Some(remaining), "{v}");
}

async fn claims_beyond_the_parent_are_escalation(c: Ctx) {
    c.bot("steve", &["bots:get,list:*"]).await;
    let (_, parent) = c
        .issue_with(json!({"owner": "steve", "claims": ["bots:list:*"]}))
        .await;
    for claims in [
        json!(["bots:get:*"]),
        json!(["*:*:*"]),
        json!(["bots:list:*", "tokens:issue:*"]),
    ] {
        let (s, v) = derive(&c, &parent, json!({"claims": claims})).await;
        escalation(s, &v, "claims");
    }
    let (s, v) = derive(&c, &parent, json!({"claims": ["not a claim"]})).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "claims"), "{v}");
}

async fn claims_the_owner_lost_are_escalation(c: Ctx) {
    c.bot("steve", &["bots:get,list:*"]).await;
    let (_, parent) = c.issue("steve").await;
    let (s, v) = c
        .patch(
            "/v1/orgs/default/bots/steve",
            json!({"permissions": ["bots:list:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = derive(&c, &parent, json!({"claims": ["bots:get:*"]})).await;
    escalation(s, &v, "claims");
    // Absent: the effective claims, not the token's.
    let (id, _) = child(&c, &parent, json!({})).await;
    assert_eq!(view(&c, &id).await["claims"], json!(["bots:list:*"]));
}

async fn expiry_beyond_the_parent_is_escalation(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, parent) = c
        .issue_with(json!({"owner": "steve", "expiry": "2d"}))
        .await;
    let (s, v) = derive(&c, &parent, json!({"expiry": "3d"})).await;
    escalation(s, &v, "expiry");
    let (s, v) = derive(&c, &parent, json!({"expires_at": "2099-01-01T00:00:00Z"})).await;
    escalation(s, &v, "expires_at");
    assert!(msg(&v).contains("parent"), "{v}");
    child(&c, &parent, json!({"expiry": "1d"})).await;
}

async fn another_app_is_escalation(c: Ctx) {
    c.app("web").await;
    c.app("api").await;
    let parent = c.app_token("steve", "web").await;
    let (s, v) = derive(&c, &parent, json!({"app": "api"})).await;
    escalation(s, &v, "app");
    // Even an app that does not exist answers the same.
    let (s, v) = derive(&c, &parent, json!({"app": "nowhere"})).await;
    escalation(s, &v, "app");
    let (id, _) = child(&c, &parent, json!({"app": "web"})).await;
    assert_eq!(view(&c, &id).await["scope"], "app");
}

async fn an_org_token_may_narrow_to_an_app(c: Ctx) {
    c.app("web").await;
    c.bot("steve", &["*:*:*"]).await;
    let (_, parent) = c.issue("steve").await;
    let (id, _) = child(&c, &parent, json!({"app": "web"})).await;
    let v = view(&c, &id).await;
    assert_eq!(
        (v["scope"].as_str(), v["app"].as_str()),
        (Some("app"), Some("web"))
    );
    let (s, v) = derive(&c, &parent, json!({"app": "nowhere"})).await;
    assert_eq!((s, field(&v)), (StatusCode::NOT_FOUND, "app"), "{v}");
}

async fn wider_networks_are_escalation(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, parent) = c
        .issue_with(json!({"owner": "steve", "allowed_cidrs": ["10.0.0.0/8"]}))
        .await;
    for nets in [
        json!(["10.0.0.0/7"]),
        json!(["10.0.0.0/8", "192.0.2.0/24"]),
        json!([]),
        json!(["::/0"]),
    ] {
        let (s, v) = derive(&c, &parent, json!({"allowed_cidrs": nets})).await;
        escalation(s, &v, "allowed_cidrs");
    }
    let (s, v) = derive(&c, &parent, json!({"allowed_cidrs": ["10.0.0.1/8"]})).await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "allowed_cidrs"),
        "{v}"
    );
    let (id, _) = child(&c, &parent, json!({"allowed_cidrs": ["10.1.0.0/16"]})).await;
    assert_eq!(view(&c, &id).await["allowed_cidrs"], json!(["10.1.0.0/16"]));
    // An unbound parent may bind its child anywhere.
    let (_, free) = c.issue("steve").await;
    child(&c, &free, json!({"allowed_cidrs": ["0.0.0.0/0"]})).await;
}

async fn more_uses_are_escalation(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, parent) = c.issue_with(json!({"owner": "steve", "max_uses": 5})).await;
    let (s, v) = derive(&c, &parent, json!({"max_uses": 6})).await;
    escalation(s, &v, "max_uses");
    let (s, v) = derive(&c, &parent, json!({"max_uses": 0})).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "max_uses"), "{v}");
    let (id, _) = child(&c, &parent, json!({"max_uses": 1})).await;
    assert_eq!(view(&c, &id).await["max_uses"], 1);
    // An unlimited parent gives any allowance.
    let (_, free) = c.issue("steve").await;
    child(&c, &free, json!({"max_uses": 1_000_000})).await;
}

async fn depth_nine_is_refused(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, mut jwt) = c.issue("steve").await;
    for _ in 0..8 {
        jwt = child(&c, &jwt, json!({})).await.1;
    }
    let (s, v) = derive(&c, &jwt, json!({})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
        "{v}"
    );
    assert!(msg(&v).contains("at most 8 levels"), "{v}");
}

async fn a_revoked_or_expired_parent_derives_nothing(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, parent) = c.issue("steve").await;
    c.revoke(&id).await;
    let (s, v) = derive(&c, &parent, json!({})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "unauthenticated"),
        "{v}"
    );
    let (_, short) = c
        .issue_with(json!({"owner": "steve", "expiry": "1h"}))
        .await;
    c.advance(7200);
    let (s, v) = derive(&c, &short, json!({})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "unauthenticated"),
        "{v}"
    );
    let (s, _) = c.call("POST", ATTENUATE, None, Some(json!({}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn malformed_input_is_400(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, parent) = c.issue("steve").await;
    for (body, f) in [
        (
            json!({"expiry": "1h", "expires_at": "2030-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"expiry": "soon"}), "expiry"),
        (json!({"owner": "someone"}), "owner"),
        (json!({"allowed_cidrs": ["example.com"]}), "allowed_cidrs"),
        (json!({"max_uses": 1_000_001}), "max_uses"),
        (json!({"label": "a\u{7}b"}), "label"),
    ] {
        let (s, v) = derive(&c, &parent, body.clone()).await;
        assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, f), "{body}: {v}");
    }
}

/// A root, its child and its grandchild; answers their (id, jwt).
async fn family(c: &Ctx) -> [(String, String); 3] {
    c.bot("steve", &["bots:list:*", "tokens:get:*"]).await;
    let root = c.issue("steve").await;
    let kid = child(c, &root.1, json!({})).await;
    let grandkid = child(c, &kid.1, json!({})).await;
    [root, kid, grandkid]
}

async fn revoking_the_root_refuses_grandchildren_at_once(c: Ctx) {
    let [root, kid, grandkid] = family(&c).await;
    assert_eq!(
        call(&c, "GET", "/v1/whoami", &grandkid.1, None).await.0,
        StatusCode::OK
    );
    let (s, v) = c.revoke(&root.0).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for (id, jwt) in [&kid, &grandkid] {
        assert_eq!(
            call(&c, "GET", "/v1/whoami", jwt, None).await.0,
            StatusCode::UNAUTHORIZED
        );
        let v = view(&c, id).await;
        assert_eq!(
            (v["status"].as_str(), v["revoked_reason"].as_str()),
            (Some("revoked"), Some("parent revoked")),
            "{v}"
        );
    }
    // Each in the revocation feed, and listed by the root's audit entry.
    let (_, feed) = c.get("/v1/revocations?since=0", &c.owner).await;
    let ids: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["token_id"].as_str().unwrap())
        .collect();
    for (id, _) in [&root, &kid, &grandkid] {
        assert!(ids.contains(&id.as_str()), "{feed}");
    }
    let (_, audit) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "token.revoke")
        .expect("a token.revoke entry");
    let mut listed: Vec<&str> = entry["details"]["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    listed.sort();
    let mut want = vec![kid.0.as_str(), grandkid.0.as_str()];
    want.sort();
    assert_eq!(listed, want);
    // Revoking a middle token leaves its ancestors alone.
    let [root2, kid2, grandkid2] = {
        let root = c.issue("steve").await;
        let kid = child(&c, &root.1, json!({})).await;
        let grandkid = child(&c, &kid.1, json!({})).await;
        [root, kid, grandkid]
    };
    c.revoke(&kid2.0).await;
    assert_eq!(
        call(&c, "GET", "/v1/whoami", &root2.1, None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&c, "GET", "/v1/whoami", &grandkid2.1, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn revoking_by_value_cascades(c: Ctx) {
    let [root, _, grandkid] = family(&c).await;
    let (s, _) = c
        .form("/v1/revoke", None, &format!("token={}", root.1))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        call(&c, "GET", "/v1/whoami", &grandkid.1, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        view(&c, &grandkid.0).await["revoked_reason"],
        "parent revoked"
    );
}

async fn shortening_a_parent_caps_its_descendants(c: Ctx) {
    let [root, kid, grandkid] = family(&c).await;
    let (s, v) = c.patch(&token_path(&root.0), json!({"expiry": "1h"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let exp = v["expires_at"].clone();
    for (id, _) in [&kid, &grandkid] {
        assert_eq!(view(&c, id).await["expires_at"], exp);
    }
    c.advance(3601);
    assert_eq!(
        call(&c, "GET", "/v1/whoami", &grandkid.1, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn deleting_the_owner_revokes_the_family(c: Ctx) {
    let [_, _, grandkid] = family(&c).await;
    let (s, v) = c.delete("/v1/orgs/default/bots/steve").await;
    assert!(s.is_success(), "{v}");
    assert_eq!(
        call(&c, "GET", "/v1/whoami", &grandkid.1, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_derivation_racing_a_revocation_never_survives_it(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    for _ in 0..10 {
        let (root_id, root) = c.issue("steve").await;
        let (_, kid) = child(&c, &root, json!({})).await;
        // Derivations from the child race the root's revocation.
        let derive_many = async {
            let mut made = Vec::new();
            for _ in 0..4 {
                let (s, v) = derive(&c, &kid, json!({})).await;
                if s == StatusCode::CREATED {
                    made.push(v["token"].as_str().unwrap().to_string());
                } else {
                    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
                }
            }
            made
        };
        let (made, (s, _)) = tokio::join!(derive_many, c.revoke(&root_id));
        assert_eq!(s, StatusCode::OK);
        for jwt in made {
            assert_eq!(
                call(&c, "GET", "/v1/whoami", &jwt, None).await.0,
                StatusCode::UNAUTHORIZED,
                "a child derived during its ancestor's revocation survived it"
            );
        }
    }
}

async fn revoking_a_revoked_parent_revokes_a_surviving_child(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (root_id, root) = c.issue("steve").await;
    let (kid_id, kid) = child(&c, &root, json!({})).await;
    let (gkid_id, _) = child(&c, &kid, json!({})).await;
    // A child that survived its parent's revocation (as one derived while an
    // earlier, unwalked, revocation ran would).
    sqlx::query(
        "UPDATE tokens SET revoked_at = created_at, revoke_reason = 'rotated' WHERE id = $1",
    )
    .bind(&root_id)
    .execute(&c.state.store.pool)
    .await
    .unwrap();
    let (_, before) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    let (s, v) = c.revoke(&root_id).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The root is as it was.
    assert_eq!(v["revoke_reason"].as_str(), Some("rotated"));
    for id in [&kid_id, &gkid_id] {
        let v = view(&c, id).await;
        assert_eq!(
            (v["status"].as_str(), v["revoke_reason"].as_str()),
            (Some("revoked"), Some("parent revoked")),
            "{v}"
        );
    }
    assert_eq!(
        call(&c, "GET", "/v1/whoami", &kid, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // No entry for the root; one for each descendant revoked now.
    let (_, after) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    let revokes = |audit: &Value, id: &str| {
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "token.revoke" && e["target_id"] == id)
            .count()
    };
    assert_eq!(revokes(&after, &root_id), revokes(&before, &root_id));
    assert_eq!(revokes(&after, &kid_id), 1);
    assert_eq!(revokes(&after, &gkid_id), 1);
    // Again: nothing more changes.
    let (s, _) = c.revoke(&root_id).await;
    assert_eq!(s, StatusCode::OK);
    let (_, again) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    assert_eq!(count_items(&again), count_items(&after));
}

fn count_items(page: &Value) -> usize {
    page["items"].as_array().map_or(0, Vec::len)
}

async fn a_derivation_racing_the_owners_deletion_never_survives_it(c: Ctx) {
    for i in 0..6 {
        let bot = format!("steve{i}");
        c.bot(&bot, &["bots:list:*"]).await;
        let (_, root) = c.issue(&bot).await;
        // Derivations from the bot's token race the bot's deletion (which
        // revokes every token of it, and their descendants).
        let derive_many = async {
            let mut made = Vec::new();
            for _ in 0..4 {
                let (s, v) = derive(&c, &root, json!({})).await;
                if s == StatusCode::CREATED {
                    made.push(v["id"].as_str().unwrap().to_string());
                }
            }
            made
        };
        let bot_path = format!("/v1/orgs/default/bots/{bot}");
        let (made, (s, v)) = tokio::join!(derive_many, c.delete(&bot_path));
        assert!(s.is_success(), "{v}");
        for id in made {
            let v = view(&c, &id).await;
            assert_eq!(
                v["status"].as_str(),
                Some("revoked"),
                "a child derived during its owner's deletion survived it: {v}"
            );
        }
    }
}
