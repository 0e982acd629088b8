//! The one clock of the provider, and RFC 3339 both ways. A module of its
//! own so that everything (the token's grace log included) can use it
//! without depending on [`crate::common`].

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The one clock of the provider.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
