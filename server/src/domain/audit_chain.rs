//! The audit hash chain (SPEC §6 "Tamper-evident audit log"): each entry's
//! `hash` is the hex SHA-256 of the previous entry's hash in the same org
//! followed by the entry's canonical JSON. The first entry of an org follows
//! [`GENESIS`].
//!
//! # Canonical JSON, by chain version
//! - **Version 2** (every entry written since migration 0007): RFC 8785, the
//!   JSON Canonicalization Scheme — object keys sorted by their UTF-16 code
//!   units, no whitespace, strings escaped as ECMAScript's `JSON.stringify`
//!   escapes them (only `"`, `\\` and control characters; `\b \t \n \f \r`,
//!   the rest `\u00xx`), numbers as ECMAScript writes a double (`1e+21`,
//!   `0.000001`, `4.5`). Any JCS implementation recomputes it, so anyone can
//!   check a chain without Sigil (`docs/audit.md` gives it byte for byte; a
//!   test checks an exported chain with the `rfc8785` package from PyPI).
//! - **Version 1** (entries written before): keys sorted by UTF-8 bytes,
//!   numbers as `serde_json` writes them. The two agree on every entry Sigil
//!   writes (ASCII keys, integer numbers), but are kept apart so an old entry
//!   keeps verifying whatever it holds. Each entry's `chain_version` is
//!   stored beside it: which form its hash covers. It is not itself a secret
//!   nor a lever — changing it only changes how the same content is written
//!   out, which no longer matches the hash unless both forms are equal.
//!
//! It is computed here rather than relying on `serde_json::Map`'s order,
//! which a dependency's `preserve_order` feature would change under us.
//!
//! Trade-off: the chain makes a changed, removed or reordered entry evident to
//! anyone who recomputes it; it does not stop someone holding the database from
//! rewriting the whole chain from the altered entry on, nor from cutting its
//! tail and setting the head back. Anchoring the head elsewhere (a webhook
//! receiver, a log shipper) closes that gap: the head's hash is in every
//! verification answer, and a verification given a kept head reports what is
//! gone.

use sha2::{Digest, Sha256};

/// The chain version of entries written now.
pub const CURRENT_VERSION: i64 = 2;

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

/// The hex hash of `entry` following `prev`, canonicalized as chain
/// `version` says (1, or 2 for RFC 8785; anything else is taken as 2).
pub fn link(version: i64, prev: &str, entry: &Entry<'_>) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical_entry(version, entry).as_bytes());
    hex(&h.finalize())
}

fn canonical_entry(version: i64, e: &Entry<'_>) -> String {
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
    canonical(&v, &mut out, version);
    out
}

/// `v` as RFC 8785 canonical JSON, appended to `out`.
pub fn jcs(v: &serde_json::Value, out: &mut String) {
    canonical(v, out, 2)
}

/// `v` as the canonical JSON of chain `version`, appended to `out`. The two
/// versions differ only in the order of keys and the spelling of numbers.
fn canonical(v: &serde_json::Value, out: &mut String, version: i64) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if version == 1 {
                keys.sort();
            } else {
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            }
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // serde_json escapes exactly as JCS does: `"`, `\\`, and
                // control characters (`\b \t \n \f \r`, else `\u00xx`).
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out, version);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out, version);
            }
            out.push(']');
        }
        // Integers up to 2^53 print as themselves; beyond, JCS rounds to the
        // nearest double as every JavaScript verifier would.
        Value::Number(n) if version != 1 => match n.as_f64() {
            Some(f) => out.push_str(&es_number(f)),
            None => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

/// A double as ECMAScript's `Number.prototype.toString` writes it (ECMA-262
/// Number::toString, radix 10): the shortest digits that round-trip, plain
/// between 1e-6 and 1e21, exponential (`1e+21`, `1.5e-7`) outside.
fn es_number(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return "0".into();
    }
    // Rust's `{:e}` is the shortest round-trip form: `d[.ddd]e<exp>`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    let sign = if f < 0.0 { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        match digits.split_at(1) {
            (d, "") => format!("{d}e{e}"),
            (d, rest) => format!("{d}.{rest}e{e}"),
        }
    };
    format!("{sign}{body}")
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
        for v in [1, 2] {
            assert_eq!(link(v, GENESIS, &entry(&a)), link(v, GENESIS, &entry(&b)));
            let c = json!({"b": 2, "a": {"x": [1, "z"], "y": 2}});
            assert_ne!(link(v, GENESIS, &entry(&a)), link(v, GENESIS, &entry(&c)));
            let other = "1".repeat(64);
            assert_ne!(link(v, GENESIS, &entry(&a)), link(v, &other, &entry(&a)));
        }
        let mut s = String::new();
        jcs(&b, &mut s);
        assert_eq!(s, r#"{"a":{"x":[1,"z"],"y":2},"b":1}"#);
        // Sigil's own entries canonicalize alike under both versions; a
        // float does not (`1.0` against JCS's `1`), so the version matters.
        assert_eq!(link(1, GENESIS, &entry(&a)), link(2, GENESIS, &entry(&a)));
        let f = json!({"ratio": 1.0});
        assert_ne!(link(1, GENESIS, &entry(&f)), link(2, GENESIS, &entry(&f)));
    }

    #[test]
    fn the_hash_is_hex_sha256() {
        let h = link(CURRENT_VERSION, GENESIS, &entry(&json!({})));
        assert_eq!(h.len(), 64);
        assert!(h
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    /// RFC 8785's own examples (§3.2.2.3 numbers, §3.2.3 key order) and
    /// ECMAScript's number forms.
    #[test]
    fn jcs_matches_rfc_8785() {
        let numbers: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (4.5, "4.5"),
            (0.002, "0.002"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1e21, "1e+21"),
            (1e30, "1e+30"),
            (123456789012345680000.0, "123456789012345680000"),
            (333333333.3333333, "333333333.3333333"),
            (-1.5e-7, "-1.5e-7"),
            (9007199254740992.0, "9007199254740992"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-5e-324, "-5e-324"),
        ];
        for (f, want) in numbers {
            assert_eq!(es_number(*f), *want, "{f:e}");
        }
        let v: serde_json::Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let mut s = String::new();
        jcs(&v, &mut s);
        let order: Vec<&str> = s
            .split("\":\"")
            .skip(1)
            .map(|p| p.split('"').next().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "Carriage Return",
                "One",
                "Control",
                "Latin Small Letter O With Diaeresis",
                "Euro Sign",
                "Emoji: Grinning Face",
                "Hebrew Letter Dalet With Dagesh"
            ]
        );
        let mut s = String::new();
        jcs(
            &json!({"s": "\u{7f}\u{1f}\n/é", "n": [1e21, 10, -3]}),
            &mut s,
        );
        assert_eq!(s, "{\"n\":[1e+21,10,-3],\"s\":\"\u{7f}\\u001f\\n/é\"}");
    }
}
