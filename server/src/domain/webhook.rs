//! Webhooks, the pure half: which receivers may be sent to (the address
//! policy), how a body is signed, the AAD a secret is sealed under, and the
//! retry schedule. No I/O: the worker ([`crate::jobs::delivery`]) and the
//! operations (`ops::webhooks`) use it.
//!
//! # Which receivers
//! A receiver's address is checked before each attempt ([`address_refused`]):
//! the unspecified, link-local (169.254.0.0/16 — cloud metadata —, fe80::/10),
//! multicast and broadcast addresses are always refused; with
//! `--webhook-deny-private` also loopback, RFC 1918, shared (100.64.0.0/10)
//! and unique-local (fc00::/7) ones. The delivery client's resolver
//! ([`crate::replica::deliveries`]) checks every address a host name resolves
//! to and hands the connector only checked ones; a literal IP is checked by
//! [`check_url_literal`]. A refused receiver is given up at once.
//!
//! # Signatures and retries
//! Two schemes on every delivery, over the same body and time:
//! - `Sigil-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//!   ([`signature`]), keyed by the secret's text — Stripe's form, which
//!   existing receivers check;
//! - Standard Webhooks (standardwebhooks.com): `webhook-id` (the delivery's
//!   id, the same on every retry), `webhook-timestamp` and `webhook-signature:
//!   v1,<base64 HMAC-SHA256 of "<id>.<t>.<body>">` ([`standard_signature`]),
//!   keyed as its libraries key it: the bytes the secret's base64 after
//!   `whsec_` stands for ([`standard_key`]). Generated secrets are of that
//!   form; a secret of one's own that is not base64 is used as its bytes (pass
//!   it to those libraries as bytes).
//!
//!  A failed attempt is due again after `base · 2^(n-1)`
//! seconds, capped at [`MAX_DELAY`], plus up to 10 % jitter ([`backoff`]).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use uuid::Uuid;

/// The first retry's delay, in seconds.
pub const DEFAULT_RETRY_BASE: i64 = crate::config::DEFAULT_WEBHOOK_RETRY_BASE;
/// The longest delay between two attempts.
pub const MAX_DELAY: i64 = 3600;
/// How long after its event a delivery is retried.
pub const GIVE_UP_AFTER: i64 = 24 * 3600;

/// Why a receiver's address is refused, or `None` when it may be sent to.
/// `deny_private` adds loopback and private networks to the always-refused
/// unspecified, link-local (cloud metadata), multicast and broadcast ones.
pub fn address_refused(ip: IpAddr, deny_private: bool) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let (always, private) = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let always = if v4.is_unspecified() || o[0] == 0 {
                Some("unspecified")
            } else if v4.is_link_local() {
                Some("link-local (cloud metadata)")
            } else if v4.is_multicast() || v4.is_broadcast() {
                Some("multicast or broadcast")
            } else {
                None
            };
            let private = if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                Some("private")
            } else {
                None
            };
            (always, private)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let always = if v6.is_unspecified() {
                Some("unspecified")
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Some("link-local (cloud metadata)")
            } else if v6.is_multicast() {
                Some("multicast or broadcast")
            } else {
                None
            };
            let private = if v6.is_loopback() {
                Some("loopback")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Some("private")
            } else {
                None
            };
            (always, private)
        }
    };
    always.or(if deny_private { private } else { None })
}

/// The refusal of an address, as an attempt's error and in answers.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "address not allowed: {}", self.0)
    }
}

impl std::error::Error for Refused {}

/// Checks `ip` against the policy; the error names the address and why.
pub fn check_address(ip: IpAddr, deny_private: bool) -> Result<(), Refused> {
    match address_refused(ip, deny_private) {
        Some(why) => Err(Refused(format!("{ip} is {why}"))),
        None => Ok(()),
    }
}

/// The receiver's address when `url` names a literal IP (which the client
/// connects to without asking the resolver), checked.
pub fn check_url_literal(url: &str, deny_private: bool) -> Result<(), Refused> {
    let u = match url::Url::parse(url) {
        Ok(u) => u,
        // An IPv6 literal with a zone id (`[fe80::1%25eth0]`) names one of
        // the server's own interfaces; no client here would connect to it.
        Err(_) if url.contains('[') && url.contains('%') => {
            return Err(Refused(
                "an IPv6 address with a zone id (%25…) names an interface of the server".into(),
            ))
        }
        Err(e) => return Err(Refused(format!("the URL cannot be used: {e}"))),
    };
    // The parsed URL spells an IP host canonically ("[::1]", and
    // "http://2852039166/" as "169.254.169.254").
    let host = u.host_str().unwrap_or_default();
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => check_address(ip, deny_private),
        Err(_) => Ok(()),
    }
}

/// The delay before attempt `n + 1` after `n` failed attempts.
pub fn backoff(base: i64, failed: i64) -> i64 {
    let exp = u32::try_from(failed.clamp(1, 20) - 1).unwrap_or(0);
    let d = base.saturating_mul(1i64 << exp).min(MAX_DELAY);
    let jitter = if d >= 10 {
        rand::Rng::gen_range(&mut rand::thread_rng(), 0..=d / 10)
    } else {
        0
    };
    d + jitter
}

/// The Standard Webhooks key of `secret`: the base64 after `whsec_` (or the
/// whole secret) decoded, as the specification's libraries read a secret
/// string; the secret's own bytes when that is no base64.
pub fn standard_key(secret: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = secret.strip_prefix(b"whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|_| secret.to_vec())
}

/// `v1,<base64 HMAC-SHA256 of "<id>.<t>.<body>">` under `key`
/// ([`standard_key`]): the Standard Webhooks `webhook-signature`.
pub fn standard_signature(key: &[u8], id: &str, t: i64, body: &[u8]) -> String {
    use base64::Engine;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{id}.{t}.").as_bytes());
    mac.update(body);
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("v1,{sig}")
}

/// `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// The AAD a webhook's secret is sealed under.
pub fn secret_aad(id: Uuid) -> String {
    format!("webhook:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0, 5), 0);
        let d1 = backoff(10, 1);
        assert!((10..=11).contains(&d1), "{d1}");
        let d3 = backoff(10, 3);
        assert!((40..=44).contains(&d3), "{d3}");
        let big = backoff(10, 30);
        assert!(
            (MAX_DELAY..=MAX_DELAY + MAX_DELAY / 10).contains(&big),
            "{big}"
        );
    }

    #[test]
    fn addresses_refused_always_or_when_private_is_denied() {
        let refused = |a: &str, deny: bool| address_refused(a.parse().unwrap(), deny).is_some();
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "febf::1",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "ff02::1",
        ] {
            assert!(refused(a, false), "{a} always refused");
        }
        for a in [
            "127.0.0.1",
            "::1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!refused(a, false), "{a} allowed by default");
            assert!(refused(a, true), "{a} refused with deny_private");
        }
        for a in [
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1",
            "fec0::1",
        ] {
            assert!(!refused(a, true), "{a} public");
        }
    }

    #[test]
    fn signature_is_hmac_sha256_of_t_dot_body() {
        // Computed independently:
        // (python3 -c 'import hmac,hashlib;print(hmac.new(b"k",b"1.{}",hashlib.sha256).hexdigest())').
        assert_eq!(
            signature(b"k", 1, b"{}"),
            "t=1,v1=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"
        );
    }

    #[test]
    fn standard_webhooks_signature_is_keyed_by_the_decoded_secret() {
        // The specification's own example (standard-webhooks, spec and
        // libraries' tests): this secret, id, time and body give this signature.
        let key = standard_key(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(
            standard_signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // Not base64: the secret's own bytes.
        assert_eq!(
            standard_key(b"a-test-secret-of-some-length"),
            b"a-test-secret-of-some-length"
        );
    }
}
