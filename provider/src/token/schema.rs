//! The schema of `sigil_token`: its field table (names, constraints, types,
//! documentation, what forces a new token).

use tf_provider::schema::AttributeConstraint::*;
use tf_provider::schema::AttributeType;

use crate::resource::*;

/// The attributes, in the order the docs list them.
pub(super) fn fields() -> Vec<Field> {
    vec![
        field("id", Computed, string(), "The token's id (its JWT `jti`)."),
        org_field("token"),
        field(
            "bot_id",
            Required,
            string(),
            "Id of the bot the token is for (a UUID), e.g. `sigil_bot.ci.id`.",
        )
        .forces_new(),
        field(
            "label",
            Optional,
            string(),
            "A label, shown in `sigil tokens list`: at most 200 characters, no control \
             characters. Updated in place; the JWT stays valid.",
        ),
        field(
            "expiry",
            Optional,
            string(),
            "Lifetime from issue: `30s`, `15m`, `36h`, `100d`, `2w`, `6mo` (30 days), `1y` \
             (365 days), combinations such as `1h30m`, or Go-style `175200h0m0s`; at most \
             100 years. Conflicts with `expires_at`. Neither set: the server's default \
             lifetime.",
        )
        .forces_new(),
        field(
            "expires_at",
            OptionalComputed,
            string(),
            "Absolute expiry, RFC 3339 (`2030-01-31T12:00:00Z`), in the future and at most \
             100 years away when the token is issued. Conflicts with `expiry`; when not set, \
             the expiry the server computed.",
        )
        .forces_new(),
        field(
            "app_id",
            Optional,
            string(),
            "Scope the token to this app (its id, e.g. `sigil_app.web.id`).",
        )
        .forces_new(),
        field(
            "claims",
            OptionalComputed,
            set_of_strings(),
            "Claims `scope:action:specific`, a subset of the bot's permissions (checked at \
             plan when the bot exists); at most 100. Defaults to all of the bot's \
             permissions at issue time. Equivalent spellings never make a diff.",
        )
        .forces_new(),
        field(
            "rotate_before",
            Optional,
            string(),
            "A duration, shorter than `expiry`: once the token is inside this window before \
             its expiry, a plan replaces it and says why (see Rotation). Needs `expiry`, not \
             `expires_at`. State only.",
        ),
        field(
            "grace_period",
            Optional,
            string(),
            "A duration: on destroy (and so on replacement), the token stays valid this long \
             (its expiry is shortened, never extended) instead of being revoked at once. \
             State only.",
        ),
        field(
            "keepers",
            Optional,
            map_of_strings(),
            "Arbitrary values, e.g. a generation number to bump after a suspected leak.",
        )
        .forces_new(),
        field(
            "allowed_cidrs",
            Optional,
            set_of_strings(),
            "Networks the token may be used from: IPv4 or IPv6 CIDRs (`10.0.0.0/8`, \
             `2001:db8::/32`) or single addresses (`192.0.2.7`), at most 32. A request \
             from elsewhere is refused (`address_not_allowed`), and gRPC `Verify` needs \
             the caller's `client_address`. A network with host bits set (`10.0.0.1/8`) \
             fails the plan, naming the network meant. Not set: any address.",
        )
        .forces_new(),
        field(
            "max_uses",
            Optional,
            AttributeType::Number,
            "How many successful authentications the token allows, from 1 to 1,000,000 \
             (e.g. 1 for a one-time bootstrap token). Once they are used the token is \
             refused, its `status` is `exhausted`, and the next plan replaces it. Not set: \
             unlimited.",
        )
        .forces_new(),
        field(
            "token",
            Computed,
            string(),
            "The JWT. Known only from create: the server never stores it, so an imported \
             token has none (null).",
        )
        .sensitive(),
        field(
            "created_at",
            Computed,
            string(),
            "When the token was issued (RFC 3339).",
        ),
        field(
            "created_by",
            Computed,
            string(),
            "Id of the principal that issued the token (the owner of the provider's token).",
        ),
        field(
            "scope",
            Computed,
            string(),
            "`org`, or `app` for a token scoped to an app.",
        ),
        field(
            "status",
            Computed,
            string(),
            "`active`, `expired`, `revoked` or `exhausted` (all of `max_uses` used), as of \
             the last refresh. A plan replaces a token that is no longer `active`, with a \
             warning that says which and why.",
        ),
        field(
            "uses",
            Computed,
            AttributeType::Number,
            "Successful authentications with the token so far (counted exactly when \
             `max_uses` is set).",
        ),
        field(
            "revoked_reason",
            Computed,
            string(),
            "Why a revoked token was revoked (`leaked`, `parent revoked`, `owner deleted`, \
             or the revoker's words); null while it is not revoked.",
        ),
        field(
            "parent_id",
            Computed,
            string(),
            "The token this one was derived from (`POST /v1/tokens/attenuate`); null for \
             a token issued directly, as every token this resource creates is.",
        ),
    ]
}
