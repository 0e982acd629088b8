//! The JSON schemas of the wire types' fields, for the OpenAPI document:
//! each says exactly what the server's checks accept.

/// An RFC 3339 time, in the OpenAPI document.
pub(super) fn rfc3339(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "format": "date-time"})
}

pub(super) fn rfc3339_or_null(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"], "format": "date-time"})
}

/// `schema` or `null` (an optional field; serde takes `null` as absent), in
/// OpenAPI 3.1 (JSON Schema 2020-12) terms.
pub(super) fn or_null(mut schema: schemars::Schema) -> schemars::Schema {
    if let Some(any) = schema.get_mut("anyOf").and_then(|v| v.as_array_mut()) {
        any.push(serde_json::json!({"type": "null"}));
    } else if let Some(t) = schema
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_string)
    {
        schema.insert("type".into(), serde_json::json!([t, "null"]));
    }
    schema
}

// ---------- the bounds of request fields, in the OpenAPI document ----------
// Each schema says exactly what the server's checks (`names`, `rules`,
// `claims`, `duration`) accept, so a schema-driven client sends nothing the
// server refuses for its form.

/// No NUL; no control characters either where `controls` is false.
pub(super) fn text(min: usize, max: usize, controls: bool, nullable: bool) -> schemars::Schema {
    let pattern = if controls {
        "^[^\\x00]*$"
    } else {
        "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    };
    let mut s = schemars::json_schema!({"type": "string", "minLength": min, "maxLength": max, "pattern": pattern});
    if nullable {
        s = or_null(s);
    }
    s
}

pub(super) fn name_schema(pattern: &str, nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({"type": "string", "minLength": 1, "maxLength": 63, "pattern": pattern});
    if nullable {
        s = or_null(s);
    }
    s
}

pub(super) fn org_name(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    name_schema(crate::names::ORG_PATTERN, false)
}

pub(super) fn username(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    name_schema(crate::names::BOT_PATTERN, false)
}

pub(super) fn username_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    name_schema(crate::names::BOT_PATTERN, true)
}

pub(super) fn email_schema(nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({"type": "string", "minLength": 3,
        "maxLength": crate::names::MAX_EMAIL_CHARS, "pattern": crate::names::EMAIL_PATTERN});
    if nullable {
        s = or_null(s);
    }
    s
}

pub(super) fn email(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    email_schema(false)
}

pub(super) fn email_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    email_schema(true)
}

/// One claim: `scope:action:specific`, each part `*` or a comma list of items.
/// Items of at most 256 characters, at most 32 a part.
pub const CLAIM_PATTERN: &str = "^(?:\\*|[A-Za-z0-9._/@-]{1,256}(?:,[A-Za-z0-9._/@-]{1,256}){0,31}):(?:\\*|[A-Za-z0-9._/@-]{1,256}(?:,[A-Za-z0-9._/@-]{1,256}){0,31}):(?:\\*|[A-Za-z0-9._/@-]{1,256}(?:,[A-Za-z0-9._/@-]{1,256}){0,31})$";

pub(super) fn claims_schema(nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({
        "type": "array",
        "maxItems": crate::claims::MAX_CLAIMS,
        "items": {"type": "string", "minLength": 5, "pattern": CLAIM_PATTERN},
        "description": "Claims `scope:action:specific`; at most 32 items a part, 1024 combinations a claim and 10000 a list."
    });
    if nullable {
        s = or_null(s);
    }
    s
}

pub(super) fn claims(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    claims_schema(false)
}

pub(super) fn claims_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    claims_schema(true)
}

pub(super) fn description_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(0, crate::rules::MAX_DESCRIPTION_CHARS, true, true)
}

pub(super) fn label_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(0, crate::rules::MAX_LABEL_CHARS, false, true)
}

pub(super) fn reason_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(0, crate::rules::MAX_REASON_CHARS, false, true)
}

pub(super) fn identity(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(1, crate::rules::MAX_IDENTITY_CHARS, false, false)
}

pub(super) fn identities_schema(nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({
        "type": "object",
        "maxProperties": crate::rules::MAX_IDENTITIES,
        "propertyNames": {"minLength": 1, "maxLength": 63, "pattern": crate::names::BOT_PATTERN},
        "additionalProperties": text(1, crate::rules::MAX_IDENTITY_CHARS, false, false),
    });
    if nullable {
        s = or_null(s);
    }
    s
}

pub(super) fn identities(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    identities_schema(false)
}

pub(super) fn identities_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    identities_schema(true)
}

/// A duration (`100d`, `1h30m`) or an RFC 3339 time.
pub const DURATION_PATTERN: &str = "^(?:[0-9]{1,12}(?:mo|[smhdwy]))+$";

pub(super) fn expiry_schema(durations: bool) -> schemars::Schema {
    let time = schemars::json_schema!({"type": "string", "format": "date-time",
        "maxLength": crate::rules::MAX_EXPIRY_CHARS});
    let s = if durations {
        schemars::json_schema!({"anyOf": [
            {"type": "string", "maxLength": crate::rules::MAX_EXPIRY_CHARS, "pattern": DURATION_PATTERN},
            time,
        ]})
    } else {
        time
    };
    or_null(s)
}

pub(super) fn expiry_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    expiry_schema(true)
}

pub(super) fn time_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    expiry_schema(false)
}

pub(super) fn duration_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    or_null(schemars::json_schema!({"type": "string",
        "maxLength": crate::rules::MAX_EXPIRY_CHARS, "pattern": DURATION_PATTERN}))
}

pub(super) fn ref_schema(kind: crate::names::RefKind, nullable: bool) -> schemars::Schema {
    let mut s = schemars::json_schema!({"type": "string", "minLength": 1,
        "maxLength": kind.max_chars(), "pattern": kind.pattern()});
    if nullable {
        s = or_null(s);
    }
    s
}

pub(super) fn cidrs_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["array", "null"], "maxItems": crate::rules::MAX_CIDRS,
        "items": {"type": "string", "pattern": crate::rules::CIDR_PATTERN}})
}

pub(super) fn max_uses_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["integer", "null"], "minimum": 1,
        "maximum": crate::rules::MAX_USES})
}

pub(super) fn leak_tokens(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "array", "minItems": 1, "maxItems": crate::rules::MAX_LEAK_TOKENS,
        "items": {"type": "string", "pattern": "^[^\\x00]*$",
            "description": "A string found somewhere: maybe a Sigil token, maybe not."}})
}

pub(super) fn leak_source(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"],
        "maxLength": crate::rules::MAX_LEAK_SOURCE_CHARS, "pattern": "^[^\\x00]*$"})
}

/// What `rules::check_webhook_url` accepts, as far as a pattern can say it.
pub(super) const WEBHOOK_URL_PATTERN: &str =
    "^https?://[^\\s\\x00-\\x1f\\x7f-\\x9f@/?#]+(?:[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*)?$";

pub(super) fn webhook_url(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "maxLength": crate::rules::MAX_WEBHOOK_URL_CHARS,
        "pattern": WEBHOOK_URL_PATTERN})
}

pub(super) fn webhook_url_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"], "maxLength": crate::rules::MAX_WEBHOOK_URL_CHARS,
        "pattern": WEBHOOK_URL_PATTERN})
}

/// What `rules::check_webhook_secret` accepts.
pub(super) fn webhook_secret_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"], "minLength": 16, "maxLength": 256,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"})
}

pub(super) fn events_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut types: Vec<&str> = crate::rules::EVENT_TYPES.to_vec();
    types.push("*");
    schemars::json_schema!({"type": ["array", "null"], "minItems": 1,
        "items": {"type": "string", "enum": types}})
}

pub(super) fn owner_ref(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    ref_schema(crate::names::RefKind::Principal, false)
}

pub(super) fn app_ref_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    ref_schema(crate::names::RefKind::App, true)
}

/// A free hint the server ignores; no NUL.
pub(super) fn hint_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["string", "null"], "pattern": "^[^\\x00]*$"})
}

/// A token string: something besides white space, no NUL (the server trims it).
pub(super) fn token_value(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$",
        "description": "A secret (a JWT): shown once, never stored by the server."})
}

/// The schema of a reference (route segment or filter) of `kind`, for the OpenAPI document.
pub fn ref_parameter_schema(kind: crate::names::RefKind) -> schemars::Schema {
    ref_schema(kind, false)
}
