//! What the tests of this module and its parts share.

use super::*;
use tf_provider::value::ValueEmpty;
use tf_provider::Resource;

pub fn token_state() -> TokenState {
    TokenState {
        id: Value::Value("0190f0f0-0000-7000-8000-000000000001".into()),
        org: Value::Value("default".into()),
        bot_id: Value::Value("0190f0f0-0000-7000-8000-000000000002".into()),
        expires_at: Value::Value("2099-01-01T00:00:00Z".into()),
        claims: to_set(&["machines:get:*".to_string()]),
        created_at: Value::Value("2024-01-01T00:00:00Z".into()),
        created_by: Value::Value("0190f0f0-0000-7000-8000-000000000003".into()),
        scope: Value::Value("org".into()),
        ..TokenState::default()
    }
}

/// A token as the server shows it (JSON), with `extra` fields added or replaced.
pub fn remote_token(extra: serde_json::Value) -> serde_json::Value {
    let mut t = serde_json::json!({
        "id": "0190f0f0-0000-7000-8000-000000000001",
        "org": "default",
        "owner_id": "0190f0f0-0000-7000-8000-000000000002",
        "owner": "ci",
        "owner_kind": "bot",
        "claims": [],
        "scope": "org",
        "created_at": "2024-01-01T00:00:00Z",
        "created_by": "0190f0f0-0000-7000-8000-000000000003",
        "created_by_name": "owner",
        "expires_at": "2099-01-01T00:00:00Z",
        "status": "active"
    });
    if let (Some(t), serde_json::Value::Object(extra)) = (t.as_object_mut(), extra) {
        t.extend(extra);
    }
    t
}

/// Plans `config` (also the proposed state) against `prior` with an
/// unconfigured provider: the attributes that force a replacement, and
/// the diagnostics.
pub fn plan_update(
    prior: TokenState,
    proposed: TokenState,
    config: TokenState,
    private: Option<TokenPrivate>,
) -> (Vec<AttributePath>, Diagnostics) {
    let r = Managed::<Token>::new(Shared::default());
    let mut diags = Diagnostics::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_, _, replace) = rt
        .block_on(r.plan_update(
            &mut diags,
            prior,
            proposed,
            config,
            private,
            ValueEmpty::Null,
        ))
        .unwrap();
    (replace, diags)
}
