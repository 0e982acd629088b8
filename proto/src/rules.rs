//! The syntax and size rules of every free-text field, and the lifetime
//! bounds: one place, so the server refuses, the CLI warns and the Terraform
//! provider fails a `plan` on exactly the same inputs, with the same words.
//!
//! Names (orgs, apps, bots, services, emails) live in [`crate::names`],
//! claims in [`crate::claims`], duration syntax in [`crate::duration`]; this
//! module holds the rest. Each check returns a [`RuleError`] naming the field
//! and the accepted form; the server turns it into a 400 `invalid_input`.

use crate::duration::format_duration;
use crate::names::ServiceName;
use std::collections::BTreeMap;

/// A token's label: free text, shown in lists.
pub const MAX_LABEL_CHARS: usize = 200;
/// A bot's description.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// One identity value of a bot (its id in another service).
pub const MAX_IDENTITY_CHARS: usize = 512;
/// The reason given when revoking a token.
pub const MAX_REASON_CHARS: usize = 200;
/// Identities of one bot (services it is known in).
pub const MAX_IDENTITIES: usize = 64;
/// An `expiry` (a duration) or `expires_at` (an RFC 3339 time) as text.
pub const MAX_EXPIRY_CHARS: usize = 64;
/// No token lives longer than this, whatever was asked (the SPEC's longest
/// example is 20 years).
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 100 * 365 * 86_400;
/// A token's lifetime when none is asked for (the server's default setting).
pub const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 90 * 86_400;
/// How long a human user's token may live (the server's default setting).
pub const DEFAULT_MAX_USER_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

/// `allowed_cidrs` of one token.
pub const MAX_CIDRS: usize = 32;
/// The largest `max_uses`.
pub const MAX_USES: i64 = 1_000_000;
/// How many derivations deep a token may be (a token issued directly is 0).
pub const MAX_DERIVATION_DEPTH: i64 = 8;
/// Strings in one leak report.
pub const MAX_LEAK_TOKENS: usize = 1000;
/// A leak report's `source`.
pub const MAX_LEAK_SOURCE_CHARS: usize = 2048;

/// `expiry_warning` of an org when none was set.
pub const DEFAULT_EXPIRY_WARNING_SECS: i64 = 14 * 86_400;
/// A webhook's URL.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2048;
/// What webhooks can subscribe to (SPEC §6), besides `*`.
pub const EVENT_TYPES: [&str; 8] = [
    "token.issued",
    "token.revoked",
    "token.expiring",
    "token.expired",
    "token.leaked",
    "bot.created",
    "bot.deleted",
    "key.rotated",
];

/// A field that breaks its rule, and what the rule accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

impl RuleError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A label: at most [`MAX_LABEL_CHARS`] characters, no control characters.
/// Empty is allowed (it clears the label).
pub fn check_label(label: &str) -> Result<(), RuleError> {
    check_no_token("label", label)?;
    if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(RuleError::new(
            "label",
            format!(
                "label must be at most {MAX_LABEL_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// Any stored text field: no token in it (a whole JWT shape, however
/// encoded, [`crate::redact::contains_token`]). Labels, descriptions,
/// reasons, identities and URLs are shown in lists, audit entries and webhook
/// deliveries; a credential pasted there would rest in clear.
pub fn check_no_token(field: &str, value: &str) -> Result<(), RuleError> {
    if crate::redact::contains_token(value) {
        return Err(RuleError::new(
            field,
            format!(
                "{field} must not contain a token (text shaped like a JWT, eyJ….….…): \
                 it would be stored and shown in clear; refer to the secret instead"
            ),
        ));
    }
    Ok(())
}

/// Any text field: no NUL character, which no database stores faithfully
/// (PostgreSQL refuses it outright).
pub fn check_no_nul(field: &str, value: &str) -> Result<(), RuleError> {
    if value.contains('\0') {
        return Err(RuleError::new(
            field,
            format!("{field} must not contain a NUL character"),
        ));
    }
    Ok(())
}

/// The text of an `expiry` or `expires_at` before it is parsed: at most
/// [`MAX_EXPIRY_CHARS`] characters.
pub fn check_expiry_text(field: &str, value: &str) -> Result<(), RuleError> {
    if value.chars().count() > MAX_EXPIRY_CHARS {
        return Err(RuleError::new(
            field,
            format!("{field} must be at most {MAX_EXPIRY_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A bot's description: at most [`MAX_DESCRIPTION_CHARS`] characters, no NUL.
pub fn check_description(description: &str) -> Result<(), RuleError> {
    check_no_nul("description", description)?;
    check_no_token("description", description)?;
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(RuleError::new(
            "description",
            format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(())
}

/// One identity value: 1 to [`MAX_IDENTITY_CHARS`] characters, no control characters.
pub fn check_identity(identity: &str) -> Result<(), RuleError> {
    check_no_token("identity", identity)?;
    if identity.is_empty()
        || identity.chars().count() > MAX_IDENTITY_CHARS
        || identity.chars().any(char::is_control)
    {
        return Err(RuleError::new(
            "identity",
            format!(
                "identity must be 1 to {MAX_IDENTITY_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// A whole identity map (service name → identity), as a bot's `identities` field.
pub fn check_identities(identities: &BTreeMap<String, String>) -> Result<(), RuleError> {
    if identities.len() > MAX_IDENTITIES {
        return Err(RuleError::new(
            "identities",
            format!("a bot has at most {MAX_IDENTITIES} identities"),
        ));
    }
    for (service, identity) in identities {
        ServiceName::parse(service).map_err(|e| RuleError::new("identities", e.to_string()))?;
        check_identity(identity).map_err(|e| RuleError::new("identities", e.message))?;
    }
    Ok(())
}

/// A revocation reason: at most [`MAX_REASON_CHARS`] characters, no control characters.
pub fn check_reason(reason: &str) -> Result<(), RuleError> {
    check_no_token("reason", reason)?;
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(RuleError::new(
            "reason",
            format!(
                "reason must be at most {MAX_REASON_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// Whether `value` has the form of a claim, as the OpenAPI pattern says:
/// three parts, each `*` or 1 to 32 items of 1 to 256 characters of letters,
/// digits and `- _ . / @`. A claim of that form may still be refused for its
/// size (more than 1024 combinations; a list, more than 10000): the server
/// answers that 422, not 400.
pub fn is_claim_form(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            if *part == "*" {
                return true;
            }
            let items: Vec<&str> = part.split(',').collect();
            items.len() <= crate::claims::MAX_PART_ITEMS
                && items.iter().all(|i| {
                    !i.is_empty()
                        && i.len() <= crate::claims::MAX_ITEM_LEN
                        && i.bytes().all(|b| {
                            b.is_ascii_alphanumeric()
                                || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@')
                        })
                })
        })
}

/// A lifetime in seconds against the absolute bounds: positive, and at most
/// [`MAX_TOKEN_LIFETIME_SECS`]. (Org caps and the human-user cap are server
/// settings, checked by the server.)
pub fn check_lifetime(field: &str, secs: i64) -> Result<(), RuleError> {
    if secs <= 0 {
        return Err(RuleError::new(field, "the expiry must be in the future"));
    }
    if secs > MAX_TOKEN_LIFETIME_SECS {
        return Err(RuleError::new(
            field,
            format!(
                "tokens live at most {}",
                format_duration(MAX_TOKEN_LIFETIME_SECS)
            ),
        ));
    }
    Ok(())
}

/// One entry of `allowed_cidrs`: an IPv4 or IPv6 network in CIDR form, or a
/// bare address (then a single host, `/32` or `/128`). Host bits must be zero
/// (`10.0.0.1/8` is refused with the network it probably meant), so the
/// canonical form the server answers is the one written.
pub fn parse_cidr(value: &str) -> Result<ipnet::IpNet, RuleError> {
    let bad = || {
        RuleError::new(
            "allowed_cidrs",
            format!(
                "allowed_cidrs: `{}` is not an IPv4 or IPv6 network such as 10.0.0.0/8, 2001:db8::/32 or 192.0.2.7",
                value.chars().take(64).collect::<String>()
            ),
        )
    };
    let value = value.trim();
    if let Ok(addr) = value.parse::<std::net::IpAddr>() {
        return Ok(ipnet::IpNet::from(addr.to_canonical()));
    }
    let net: ipnet::IpNet = value.parse().map_err(|_| bad())?;
    if net.trunc() != net {
        return Err(RuleError::new(
            "allowed_cidrs",
            format!(
                "allowed_cidrs: `{value}` has host bits set; the network is {}",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

/// What the OpenAPI document allows in `allowed_cidrs`: the characters of
/// an address, and an optional prefix length. [`is_cidr_form`] checks the
/// same; a value of this form that is no network (`999.0.0.0/8`, host bits
/// set) is refused for what it means (422), any other for its form (400).
pub const CIDR_PATTERN: &str = "^[0-9A-Fa-f:.]{1,45}(/[0-9]{1,3})?$";

/// Whether `value` has the form [`CIDR_PATTERN`] describes.
pub fn is_cidr_form(value: &str) -> bool {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, None),
    };
    (1..=45).contains(&addr.len())
        && addr
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        && prefix
            .is_none_or(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `allowed_cidrs`: at most [`MAX_CIDRS`] networks, each as [`parse_cidr`]
/// accepts. Duplicates are dropped; order is kept.
pub fn parse_cidrs(values: &[String]) -> Result<Vec<ipnet::IpNet>, RuleError> {
    if values.len() > MAX_CIDRS {
        return Err(RuleError::new(
            "allowed_cidrs",
            format!("allowed_cidrs takes at most {MAX_CIDRS} networks"),
        ));
    }
    let mut out: Vec<ipnet::IpNet> = Vec::with_capacity(values.len());
    for v in values {
        let net = parse_cidr(v)?;
        if !out.contains(&net) {
            out.push(net);
        }
    }
    Ok(out)
}

/// Whether a client at `addr` may use a token bound to `nets` (empty: any
/// address). An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is its IPv4 address.
pub fn address_allowed(nets: &[ipnet::IpNet], addr: std::net::IpAddr) -> bool {
    let addr = addr.to_canonical();
    nets.is_empty() || nets.iter().any(|n| n.contains(&addr))
}

/// Whether a derived token's binding `child` is at least as narrow as its
/// parent's: every child network lies inside one of the parent's. A parent
/// bound nowhere (empty) allows anything; an unbound child under a bound
/// parent is not narrower (the server gives it the parent's networks instead).
pub fn cidrs_within(child: &[ipnet::IpNet], parent: &[ipnet::IpNet]) -> bool {
    parent.is_empty()
        || (!child.is_empty() && child.iter().all(|c| parent.iter().any(|p| p.contains(c))))
}

/// `max_uses`: from 1 to [`MAX_USES`].
pub fn check_max_uses(n: i64) -> Result<(), RuleError> {
    if !(1..=MAX_USES).contains(&n) {
        return Err(RuleError::new(
            "max_uses",
            format!("max_uses must be from 1 to {MAX_USES}"),
        ));
    }
    Ok(())
}

/// A leak report's `source`: at most [`MAX_LEAK_SOURCE_CHARS`] characters, no NUL.
pub fn check_leak_source(source: &str) -> Result<(), RuleError> {
    check_no_nul("source", source)?;
    if source.chars().count() > MAX_LEAK_SOURCE_CHARS {
        return Err(RuleError::new(
            "source",
            format!("source must be at most {MAX_LEAK_SOURCE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A webhook's `url`: absolute `http://` or `https://` with a host, at most
/// [`MAX_WEBHOOK_URL_CHARS`] characters, no credentials in it.
pub fn check_webhook_url(url: &str) -> Result<(), RuleError> {
    let bad = |why: &str| {
        RuleError::new(
            "url",
            format!("url {why}: expected an absolute http:// or https:// URL such as https://hooks.example.com/sigil"),
        )
    };
    if url.chars().count() > MAX_WEBHOOK_URL_CHARS {
        return Err(RuleError::new(
            "url",
            format!("url must be at most {MAX_WEBHOOK_URL_CHARS} characters"),
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("has no http:// or https:// scheme"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority.contains('@') {
        return Err(bad("must not carry credentials (user:password@)"));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("contains spaces or control characters"));
    }
    check_no_token("url", url)
}

/// A webhook's `events`: each one of [`EVENT_TYPES`] or `*`, at least one;
/// duplicates dropped, order kept. `["*"]` stands for every type.
pub fn check_events(events: &[String]) -> Result<Vec<String>, RuleError> {
    if events.is_empty() {
        return Err(RuleError::new(
            "events",
            "events must name at least one event type, or `*` for all",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
            return Err(RuleError::new(
                "events",
                format!(
                    "events: `{}` is not an event type; expected `*` or one of {}",
                    e.chars().take(64).collect::<String>(),
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// A webhook secret given by the caller: 16–256 characters, no control characters.
pub fn check_webhook_secret(secret: &str) -> Result<(), RuleError> {
    let n = secret.chars().count();
    if !(16..=256).contains(&n) || secret.chars().any(char::is_control) {
        return Err(RuleError::new(
            "secret",
            "secret must be 16 to 256 characters without control characters (omit it to have one generated)",
        ));
    }
    Ok(())
}

/// A token's status, computed the same way everywhere (views, lists,
/// filters, `whoami`, introspection, the provider): revoked wins over
/// exhausted, which wins over expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
    Exhausted,
}

impl TokenStatus {
    pub const ALL: [TokenStatus; 4] = [
        TokenStatus::Active,
        TokenStatus::Expired,
        TokenStatus::Revoked,
        TokenStatus::Exhausted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
            TokenStatus::Exhausted => "exhausted",
        }
    }

    /// `status` in a filter; the error names the accepted values.
    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                RuleError::new(
                    "status",
                    format!(
                        "status must be one of active, expired, revoked, exhausted (not `{}`)",
                        value.chars().take(32).collect::<String>()
                    ),
                )
            })
    }

    /// The status of a token revoked or not, with its expiry and uses, at `now`.
    pub fn of(revoked: bool, expired: bool, uses: i64, max_uses: Option<i64>) -> Self {
        if revoked {
            TokenStatus::Revoked
        } else if max_uses.is_some_and(|m| uses >= m) {
            TokenStatus::Exhausted
        } else if expired {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }
}

impl std::fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive_and_name_the_field() {
        assert!(check_label(&"x".repeat(MAX_LABEL_CHARS)).is_ok());
        assert!(check_label("").is_ok());
        let e = check_label(&"x".repeat(MAX_LABEL_CHARS + 1)).unwrap_err();
        assert_eq!(e.field, "label");
        assert!(e.message.contains("200"), "{e}");
        assert!(check_label("a\nb").is_err());
        // Characters, not bytes.
        assert!(check_description(&"é".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
        assert!(check_description(&"é".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
        assert!(check_identity("").is_err());
        assert!(check_identity(&"é".repeat(MAX_IDENTITY_CHARS)).is_ok());
        assert!(check_identity(&"x".repeat(MAX_IDENTITY_CHARS + 1)).is_err());
        assert!(check_reason("rotated").is_ok());
        assert_eq!(check_reason(&"x".repeat(201)).unwrap_err().field, "reason");
    }

    #[test]
    fn stored_texts_refuse_a_pasted_token_however_encoded() {
        let jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln";
        type Check = fn(&str) -> Result<(), RuleError>;
        let checks: [(&str, Check); 5] = [
            ("label", check_label),
            ("description", check_description),
            ("identity", check_identity),
            ("reason", check_reason),
            ("url", check_webhook_url),
        ];
        for (field, check) in checks {
            for v in [
                format!("https://h.example/?t={jwt}"),
                format!("https://h.example/?t%3D{}", jwt.replace('.', "%2E")),
            ] {
                let e = check(&v).unwrap_err();
                assert_eq!(e.field, field);
                assert!(e.message.contains("must not contain a token"), "{e}");
                assert!(
                    !e.message.contains(jwt) && !e.message.contains("c2ln"),
                    "{e}"
                );
            }
            // Words that merely contain `eyJ` are not tokens.
            assert!(check("https://h.example/keyJson").is_ok(), "{field}");
        }
    }

    #[test]
    fn identity_maps_check_service_names_and_values() {
        let ok: BTreeMap<String, String> = [("slack".into(), "U024BE7LH".into())].into();
        assert!(check_identities(&ok).is_ok());
        let bad_service: BTreeMap<String, String> = [("Slack!".into(), "x".into())].into();
        assert_eq!(
            check_identities(&bad_service).unwrap_err().field,
            "identities"
        );
        let bad_value: BTreeMap<String, String> = [("slack".into(), String::new())].into();
        assert_eq!(
            check_identities(&bad_value).unwrap_err().field,
            "identities"
        );
    }

    #[test]
    fn nul_and_sizes_are_refused_with_the_field() {
        assert_eq!(check_no_nul("owner", "a\0b").unwrap_err().field, "owner");
        assert!(check_no_nul("owner", "ab").is_ok());
        assert!(check_description("a\0b").is_err());
        assert!(check_description("two\nlines").is_ok());
        assert!(check_expiry_text("expiry", &"1s".repeat(32)).is_ok());
        assert_eq!(
            check_expiry_text("expiry", &"1s".repeat(33))
                .unwrap_err()
                .field,
            "expiry"
        );
        let many: BTreeMap<String, String> = (0..=MAX_IDENTITIES)
            .map(|i| (format!("s{i}"), "x".to_string()))
            .collect();
        assert_eq!(check_identities(&many).unwrap_err().field, "identities");
    }

    #[test]
    fn lifetimes_are_positive_and_capped() {
        assert!(check_lifetime("expiry", 1).is_ok());
        assert!(check_lifetime("expiry", MAX_TOKEN_LIFETIME_SECS).is_ok());
        assert!(check_lifetime("expiry", 0).is_err());
        let e = check_lifetime("expires_at", MAX_TOKEN_LIFETIME_SECS + 1).unwrap_err();
        assert_eq!(e.field, "expires_at");
        assert!(e.message.contains("at most"), "{e}");
    }
    #[test]
    fn cidrs_parse_canonically_and_bind() {
        let nets = parse_cidrs(&[
            "10.0.0.0/8".into(),
            "192.0.2.7".into(),
            "2001:db8::/32".into(),
        ])
        .unwrap();
        let shown: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        assert!(address_allowed(&nets, "10.9.8.7".parse().unwrap()));
        assert!(address_allowed(&nets, "::ffff:10.9.8.7".parse().unwrap()));
        assert!(!address_allowed(&nets, "11.0.0.1".parse().unwrap()));
        assert!(address_allowed(&[], "11.0.0.1".parse().unwrap()));
        let e = parse_cidr("10.0.0.1/8").unwrap_err();
        assert_eq!(e.field, "allowed_cidrs");
        assert!(e.message.contains("10.0.0.0/8"), "{e}");
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("example.com").is_err());
        let many: Vec<String> = (0..=MAX_CIDRS).map(|i| format!("10.0.{i}.0/24")).collect();
        assert!(parse_cidrs(&many).is_err());
    }

    #[test]
    fn cidr_form_is_what_the_document_allows() {
        for ok in [
            "10.0.0.0/8",
            "192.0.2.7",
            "2001:db8::/32",
            "::ffff:10.1.2.3",
            "999.0.0.0/99",
        ] {
            assert!(is_cidr_form(ok), "{ok}");
        }
        for bad in [
            "",
            " 10.0.0.0/8",
            "example.com",
            "10.0.0.0/",
            "10.0.0.0/1234",
            "fe80::1%eth0",
        ] {
            assert!(!is_cidr_form(bad), "{bad}");
        }
    }

    #[test]
    fn derived_bindings_only_narrow() {
        let p = parse_cidrs(&["10.0.0.0/8".into()]).unwrap();
        let inside = parse_cidrs(&["10.1.0.0/16".into()]).unwrap();
        let outside = parse_cidrs(&["10.0.0.0/7".into()]).unwrap();
        assert!(cidrs_within(&inside, &p));
        assert!(!cidrs_within(&outside, &p));
        assert!(!cidrs_within(&[], &p));
        assert!(cidrs_within(&[], &[]));
        assert!(cidrs_within(&outside, &[]));
    }

    #[test]
    fn status_precedence_and_parse() {
        assert_eq!(
            TokenStatus::of(true, true, 5, Some(5)),
            TokenStatus::Revoked
        );
        assert_eq!(
            TokenStatus::of(false, true, 5, Some(5)),
            TokenStatus::Exhausted
        );
        assert_eq!(
            TokenStatus::of(false, true, 4, Some(5)),
            TokenStatus::Expired
        );
        assert_eq!(TokenStatus::of(false, false, 0, None), TokenStatus::Active);
        for s in TokenStatus::ALL {
            assert_eq!(TokenStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(TokenStatus::parse("dead")
            .unwrap_err()
            .message
            .contains("exhausted"));
        assert!(check_max_uses(0).is_err());
        assert!(check_max_uses(MAX_USES + 1).is_err());
        assert!(check_max_uses(1).is_ok());
    }

    #[test]
    fn webhook_urls_and_events() {
        assert!(check_webhook_url("https://hooks.example.com/sigil?x=1").is_ok());
        assert!(check_webhook_url("http://127.0.0.1:9000/").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https://u:p@host/",
            "hooks.example.com",
            "https://a b",
        ] {
            let e = check_webhook_url(bad).unwrap_err();
            assert_eq!(e.field, "url", "{bad}");
        }
        assert_eq!(
            check_events(&["token.issued".into(), "token.issued".into(), "*".into()]).unwrap(),
            ["token.issued", "*"]
        );
        let e = check_events(&["token.issue".into()]).unwrap_err();
        assert!(e.message.contains("token.issued"), "{e}");
        assert!(check_events(&[]).is_err());
        assert!(check_webhook_secret("short").is_err());
        assert!(check_webhook_secret(&"s".repeat(16)).is_ok());
    }
}
