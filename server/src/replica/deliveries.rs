//! What one replica holds for webhook deliveries: the worker's wake-up, its
//! slots (attempts in flight), its counters, and the HTTP client whose
//! resolver enforces the address policy ([`crate::domain::webhook`]).
//! The worker itself is [`crate::jobs::delivery`].

use crate::domain::webhook::check_address;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

/// Attempts in flight at once, per replica.
pub const SLOTS: usize = 8;
/// An attempt's bound.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The worker's shared parts.
pub struct Deliveries {
    wake: Notify,
    slots: Arc<Semaphore>,
    pub client: reqwest::Client,
    /// This replica's name in `claimed_by`.
    pub replica: String,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub gave_up: AtomicU64,
    /// Also refuse loopback and private receivers (`--webhook-deny-private`).
    pub deny_private: bool,
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

    /// Waits for a wake-up.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// A slot for one attempt (waits while [`SLOTS`] are in flight).
    pub async fn slot(
        &self,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, tokio::sync::AcquireError> {
        self.slots.clone().acquire_owned().await
    }

    /// Returns once no attempt is in flight (every slot free).
    pub async fn in_flight_done(&self) {
        let all = u32::try_from(SLOTS).unwrap_or(u32::MAX);
        let _all = self.slots.acquire_many(all).await;
    }

    /// Counts a recorded attempt by its result.
    pub fn count(&self, result: &str) {
        match result {
            "delivered" => &self.delivered,
            "failed" => &self.failed,
            _ => &self.gave_up,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}
