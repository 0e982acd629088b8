//! Plan-time rules of `sigil_token`: the configuration's own (the same
//! `sigil-proto` rules as the server's) and, when the server is reachable,
//! the claims against the bot's permissions.

use super::*;

/// Whether two claim sets grant the same rights (or are the same value).
pub(super) fn same_claim_set(a: &StringSet, b: &StringSet) -> bool {
    match (known_set(a), known_set(b)) {
        (Some(x), Some(y)) if !a.is_null() && !b.is_null() => same_claims(&x, &y),
        _ => a == b,
    }
}

/// The configuration's rules that do not depend on the clock (see
/// [`Token::check_new`] for the lifetime of `expires_at`).
pub(super) fn validate_token(diags: &mut Diagnostics, c: &TokenState) {
    check_uuid(
        diags,
        &c.bot_id,
        "bot_id",
        "e.g. sigil_bot.ci.id or data.sigil_bot.ci.id",
    );
    check_uuid(
        diags,
        &c.app_id,
        "app_id",
        "e.g. sigil_app.web.id or data.sigil_app.web.id",
    );
    check_text(diags, &c.label, "label", rules::check_label);
    let expiry = check_duration(diags, &c.expiry, "expiry");
    if let Some(secs) = expiry {
        check_lifetime(diags, "expiry", secs);
    }
    // The syntax only: the lifetime depends on when the token is issued.
    check_time(diags, &c.expires_at, "expires_at");
    if !c.expiry.is_null() && !c.expires_at.is_null() {
        diags.error(
            "Conflicting expiry and expires_at",
            "`expiry` and `expires_at` cannot both be set: give a lifetime (`expiry`) or a time \
             (`expires_at`).",
            AttributePath::new("expires_at"),
        );
    }
    if let Some(window) = check_duration(diags, &c.rotate_before, "rotate_before") {
        rotation::check_window(diags, c, window, expiry);
    }
    check_duration(diags, &c.grace_period, "grace_period");
    check_claims(diags, &c.claims, "claims", "Invalid claim");
    check_cidrs(diags, &c.allowed_cidrs, "allowed_cidrs");
    check_max_uses(diags, &c.max_uses, "max_uses");
}

impl Token {
    /// Plan-time check that the claims are within the bot's permissions, when
    /// both are known: the same check (and code) as the server's.
    pub(super) async fn check_claims_of_bot(
        shared: &Shared,
        diags: &mut Diagnostics,
        s: &TokenState,
    ) {
        let (Some(api), Value::Value(bot), Some(claims)) =
            (shared.plan_api(), &s.bot_id, known_set(&s.claims))
        else {
            return;
        };
        if s.claims.is_null() || Uuid::parse_str(bot).is_err() {
            return;
        }
        let Ok(wanted) = ClaimSet::parse(&claims) else {
            return;
        };
        let org = match &s.org {
            Value::Value(o) => o.clone(),
            Value::Unknown => return,
            Value::Null => api.org.clone(),
        };
        match api.client.get_bot(&org, bot).await {
            Ok(b) => {
                let Ok(have) = ClaimSet::parse(&b.permissions) else {
                    return;
                };
                let missing: Vec<String> = wanted
                    .not_covered_by(&have)
                    .iter()
                    .map(|c| c.to_string())
                    .collect();
                if !missing.is_empty() {
                    diags.error(
                        "Claims beyond the bot's permissions",
                        format!(
                            "claims {} are not covered by the permissions of bot {:?} ({}); a \
                             token can never hold more than its bot (error code `{}`). Widen the \
                             bot's `permissions` first, in an earlier apply.",
                            missing.join(", "),
                            b.username,
                            if b.permissions.is_empty() {
                                "none".into()
                            } else {
                                b.permissions.join(", ")
                            },
                            ErrorCode::ClaimsExceedOwner,
                        ),
                        AttributePath::new("claims"),
                    );
                }
            }
            Err(e) if e.is_not_found() => diags.error(
                "Unknown bot",
                format!("bot_id {bot:?}: there is no such bot in org {org:?}"),
                AttributePath::new("bot_id"),
            ),
            // A token that may issue but not read bots: leave the check to the server.
            Err(e) if e.status() == Some(403) => {}
            Err(e) => api_error(
                diags,
                "Cannot check the token's claims",
                &e,
                &Self::field_attr,
            ),
        }
    }
}
