//! Webhook delivery: after a commit, each replica's worker takes due
//! deliveries from the outbox ([`crate::ops::events`]) and `POST`s them,
//! signed, to their webhooks.
//!
//! # How exactly one replica delivers, and none loses one
//! Every replica runs the same worker. It is woken by a commit on its own
//! replica ([`Deliveries::wake`]) and polls every `webhook_poll` (1 s) for the
//! rest: retries that came due, other replicas' events, deliveries left by a
//! replica that stopped. A delivery is taken with a conditional UPDATE
//! ([`store::claim_delivery`]): still pending, due, and not under a live
//! claim. Of several replicas that see it at once, one wins the row; the
//! others skip it. The claim lasts 30 s, longer than an attempt can take
//! (10 s timeout), and is released when the attempt is recorded. A replica
//! that dies mid-attempt leaves a claim that lapses; another replica
//! delivers again. So delivery is at least once, and exactly once when no
//! replica dies between sending and recording — receivers deduplicate on
//! `Sigil-Delivery`, which is the same on every attempt.
//!
//! # A slow receiver never slows the API
//! Nothing here runs on a request's path (only `POST …/test`, which asks for
//! an attempt now). At most [`SLOTS`] attempts run at once per replica; the
//! worker claims a delivery only once it has a slot, so a replica never
//! holds claims it cannot serve. No database connection is held while a
//! request is in flight (SQLite has one).
//!
//! # Retries
//! A non-2xx answer, a timeout or a connection failure is recorded as
//! `failed`, and the delivery is due again after `base · 2^(n-1)` seconds
//! (base `webhook_retry_base`, 10 s; capped at 1 h) plus up to 10 % jitter, so
//! receivers coming back are not hit by every sender at once. Past 24 h after
//! the event, a failure is recorded as `gave_up` and the delivery stops.
//! Everything is in the database, so retries survive restarts.
//!
//! # Which receivers
//! A receiver's address is checked before each attempt ([`address_refused`]):
//! the unspecified, link-local (169.254.0.0/16 — cloud metadata —, fe80::/10),
//! multicast and broadcast addresses are always refused; with
//! `--webhook-deny-private` also loopback, RFC 1918, shared (100.64.0.0/10)
//! and unique-local (fc00::/7) ones. A host name is resolved by this
//! worker's resolver ([`Guard`]), which checks every address and hands the
//! connector only checked ones, so a name that resolves elsewhere later is
//! no way around it. A refused receiver is given up at once (no retries).

use crate::state::AppState;
use crate::store::{self, AttemptRow, Uuid};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// Attempts in flight at once, per replica.
pub const SLOTS: usize = 8;
/// An attempt's bound.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry's delay, in seconds.
pub const DEFAULT_RETRY_BASE: i64 = 10;
/// The longest delay between two attempts.
pub const MAX_DELAY: i64 = 3600;
/// How long after its event a delivery is retried.
pub const GIVE_UP_AFTER: i64 = 24 * 3600;

/// The worker's shared parts.
pub struct Deliveries {
    wake: Notify,
    slots: Arc<Semaphore>,
    client: reqwest::Client,
    /// This replica's name in `claimed_by`.
    pub replica: String,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub gave_up: AtomicU64,
    /// Also refuse loopback and private receivers (`--webhook-deny-private`).
    pub deny_private: bool,
}

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

/// The delivery client's resolver: resolves a receiver's host name and
/// answers its addresses only when every one passes [`check_address`], so
/// the connector only ever connects to a checked address.
struct Guard {
    deny_private: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let deny_private = self.deny_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for a in &addrs {
                check_address(a.ip(), deny_private)?;
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The receiver's address when `url` names a literal IP (which the client
/// connects to without asking the resolver), checked.
pub fn check_url_literal(url: &str, deny_private: bool) -> Result<(), Refused> {
    let Ok(u) = reqwest::Url::parse(url) else {
        return Ok(());
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

impl Deliveries {
    pub fn new(deny_private: bool) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(Guard { deny_private }))
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            // A redirect would send the signed body somewhere not configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sigil-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliveries {
            wake: Notify::new(),
            slots: Arc::new(Semaphore::new(SLOTS)),
            client,
            replica: format!("replica-{}", Uuid::new_v4().simple()),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            gave_up: AtomicU64::new(0),
            deny_private,
        })
    }

    /// Wakes this replica's worker (after a commit that wrote deliveries).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn count(&self, result: &str) {
        match result {
            "delivered" => &self.delivered,
            "failed" => &self.failed,
            _ => &self.gave_up,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

/// Starts the worker; it runs until the runtime stops.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = poll(&state).await {
                tracing::warn!("webhook deliveries: {e}");
            }
            tokio::select! {
                () = state.deliveries.wake.notified() => {}
                () = tokio::time::sleep(state.settings.webhook_poll) => {}
            }
        }
    })
}

/// Claims and starts every due delivery this replica has a slot for;
/// answers how many it claimed (their attempts run on).
pub async fn poll(state: &AppState) -> anyhow::Result<usize> {
    let mut claimed = 0;
    let due = {
        let mut c = state.store.pool.acquire().await?;
        store::due_deliveries(&mut c, state.now(), 64).await?
    };
    for id in due {
        let slot = state.deliveries.slots.clone().acquire_owned().await?;
        let won = {
            let mut c = state.store.pool.acquire().await?;
            store::claim_delivery(&mut c, id, &state.deliveries.replica, state.now()).await?
        };
        if !won {
            continue;
        }
        claimed += 1;
        let state = state.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = attempt(&state, id).await {
                tracing::warn!(delivery = %id, "webhook delivery: {e}");
            }
        });
    }
    Ok(claimed)
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

/// One attempt of a delivery this replica holds the claim of: sends it and
/// records the outcome. Answers the recorded attempt (none when the delivery
/// is gone, no longer pending, or its claim was lost). A delivery whose
/// webhook or event is gone (the webhook deleted while the event's
/// transaction was open) is dropped: it can never be delivered.
pub async fn attempt(state: &AppState, id: Uuid) -> anyhow::Result<Option<AttemptRow>> {
    let me = state.deliveries.replica.as_str();
    let found = {
        let mut c = state.store.pool.acquire().await?;
        let Some(d) = store::get_delivery(&mut c, id).await? else {
            return Ok(None);
        };
        if d.state != "pending" {
            return Ok(None);
        }
        let event = store::get_event(&mut c, d.event_id).await?;
        let hook = store::webhook_by_id(&mut c, d.webhook_id).await?;
        match (event, hook) {
            (Some(event), Some(hook)) => {
                let org = store::find_org(&mut c, &event.org_id.to_string())
                    .await?
                    .map(|o| o.name)
                    .unwrap_or_default();
                let made = store::attempts_made(&mut c, &d).await?;
                Some((d, event, hook, org, made))
            }
            _ => None,
        }
    };
    let Some((d, event, hook, org, made)) = found else {
        if store::drop_orphan_delivery(&state.store.pool, id, me).await? {
            tracing::info!(delivery = %id, "dropped a delivery whose webhook or event is gone");
        }
        return Ok(None);
    };
    let body = serde_json::to_vec(&sigil_proto::api::Event {
        id: event.id,
        event_type: event.event_type.clone(),
        created_at: crate::clock::to_time(event.created_at),
        org,
        data: event.data.clone(),
    })?;
    let t = state.now();
    let started = std::time::Instant::now();
    // A literal IP never reaches the resolver: checked here (a webhook
    // stored before the policy, or under a looser one, is caught too).
    let deny_private = state.deliveries.deny_private;
    let literal = check_url_literal(&hook.url, deny_private);
    let mut refused = literal.is_err();
    // A secret that does not open (the master key changed) is a failed
    // attempt like any other: logged, retried, given up after 24 h.
    let (status_code, error) = match state.master.open(&secret_aad(hook.id), &hook.secret_enc) {
        None => (
            None,
            Some("the webhook's secret cannot be opened with this server's master key".into()),
        ),
        Some(_) if refused => (None, literal.err().map(|e| e.to_string())),
        Some(secret) => {
            let sent = state
                .deliveries
                .client
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("sigil-event", &event.event_type)
                .header("sigil-delivery", d.id.to_string())
                .header("sigil-signature", signature(&secret, t, &body))
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => (Some(i64::from(r.status().as_u16())), None),
                Ok(r) => (
                    Some(i64::from(r.status().as_u16())),
                    Some(format!("the receiver answered {}", r.status())),
                ),
                Err(e) => match refusal(&e) {
                    Some(r) => {
                        refused = true;
                        (None, Some(r))
                    }
                    None => (None, Some(describe(&e))),
                },
            }
        }
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let now = state.now();
    let n = made + 1;
    let (result, next) = if error.is_none() {
        ("delivered", None)
    } else if refused {
        // Retrying would not change the address: no retry storm.
        ("gave_up", None)
    } else {
        let next = now + backoff(state.settings.webhook_retry_base, n);
        if next > event.created_at + GIVE_UP_AFTER {
            ("gave_up", None)
        } else {
            ("failed", Some(next))
        }
    };
    let row = AttemptRow {
        id: crate::ops::new_id(),
        delivery_id: d.id,
        webhook_id: hook.id,
        event_id: event.id,
        event_type: event.event_type,
        attempt: n,
        result: result.to_string(),
        status_code,
        error,
        duration_ms,
        attempted_at: t,
        next_attempt_at: next,
    };
    let state_after = match result {
        "failed" => "pending",
        other => other,
    };
    if !store::finish_attempt(&state.store.pool, &row, state_after, me).await? {
        // The claim lapsed and another replica took the delivery over; it
        // records its own attempt.
        return Ok(None);
    }
    state.deliveries.count(result);
    Ok(Some(row))
}

/// The resolver's refusal inside a request error, if that is why it failed.
fn refusal(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r.to_string());
        }
        cur = err.source();
    }
    None
}

/// Why a request failed, without the URL (it may hold a receiver's secret).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("timed out after {}s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect to the receiver".into()
    } else if e.is_redirect() {
        "the receiver answered a redirect (not followed)".into()
    } else {
        "the request failed before an answer".into()
    }
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
}
