//! The audit hash chain (SPEC §6 "Tamper-evident audit log"): each entry's
//! `hash` is the hex SHA-256 of the previous entry's hash in the same org
//! followed by the entry's canonical JSON. The first entry of an org follows
//! [`GENESIS`].
//!
//! Canonical JSON: objects with their keys sorted (byte order), no
//! whitespace, strings escaped as `serde_json` escapes them, integers as
//! written. It is computed here rather than relying on `serde_json::Map`'s
//! order, which a dependency's `preserve_order` feature would change under us.
//!
//! Trade-off: the chain makes a changed, removed or reordered entry evident to
//! anyone who recomputes it; it does not stop someone holding the database from
//! rewriting the whole chain from the altered entry on. Anchoring the head
//! elsewhere (a webhook receiver, a log shipper) closes that gap: the head's
//! hash is in every verification answer.

use sha2::{Digest, Sha256};

/// What recomputing an org's chain found; `E` is the entry (the store's row).
pub struct Verification<E> {
    /// Entries that matched, in chain order.
    pub entries: u64,
    /// Hash of the last entry that matched.
    pub head: Option<String>,
    /// The first break: the seq expected there, the entry found (if any), why.
    pub broken: Option<(i64, Option<E>, String)>,
}

/// The "previous hash" of an org's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers; ids as text, `details` as stored.
pub struct Entry<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub seq: i64,
    pub actor_id: Option<&'a str>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub details: &'a serde_json::Value,
    pub client_ip: Option<&'a str>,
    pub created_at: i64,
}

/// The hex hash of `entry` following `prev`.
pub fn link(prev: &str, entry: &Entry<'_>) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical_entry(entry).as_bytes());
    hex(&h.finalize())
}

fn canonical_entry(e: &Entry<'_>) -> String {
    let opt = |v: Option<&str>| v.map_or(serde_json::Value::Null, |s| s.into());
    let v = serde_json::json!({
        "id": e.id,
        "org_id": e.org_id,
        "seq": e.seq,
        "actor_id": opt(e.actor_id),
        "actor_name": e.actor_name,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": opt(e.target_id),
        "details": e.details,
        "client_ip": opt(e.client_ip),
        "created_at": e.created_at,
    });
    let mut out = String::new();
    canonical(&v, &mut out);
    out
}

/// `v` as canonical JSON, appended to `out`.
pub fn canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(details: &serde_json::Value) -> Entry<'_> {
        Entry {
            id: "0190",
            org_id: "org",
            seq: 1,
            actor_id: None,
            actor_name: "owner",
            action: "bot.create",
            target_type: "bot",
            target_id: Some("steve"),
            details,
            client_ip: None,
            created_at: 1_700_000_000,
        }
    }

    #[test]
    fn key_order_does_not_matter_and_content_does() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[1,"z"]}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":[1,"z"],"y":2},"b":1}"#).unwrap();
        assert_eq!(link(GENESIS, &entry(&a)), link(GENESIS, &entry(&b)));
        let c = json!({"b": 2, "a": {"x": [1, "z"], "y": 2}});
        assert_ne!(link(GENESIS, &entry(&a)), link(GENESIS, &entry(&c)));
        assert_ne!(link(GENESIS, &entry(&a)), link(&"1".repeat(64), &entry(&a)));
        let mut s = String::new();
        canonical(&b, &mut s);
        assert_eq!(s, r#"{"a":{"x":[1,"z"],"y":2},"b":1}"#);
    }

    #[test]
    fn the_hash_is_hex_sha256() {
        let h = link(GENESIS, &entry(&json!({})));
        assert_eq!(h.len(), 64);
        assert!(h
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
