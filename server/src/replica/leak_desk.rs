//! Leak reports waiting to be processed (in memory, bounded in bytes), and
//! the per-address rate limit of `POST /v1/leaks`. The processing is
//! `ops::leaks`; this is the data the replica holds.

use sigil_proto::SecretString;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The rate limit's window.
const WINDOW: i64 = 3600;
/// The addresses the rate limit remembers before it forgets idle ones.
const MAX_ADDRESSES: usize = 100_000;
/// The most bytes of reports (strings and sources) queued at once, by
/// default; past it a report is answered 503 `unavailable`.
pub const DEFAULT_QUEUE_BYTES: usize = 64 << 20;

/// A report as queued: the strings, where they were found, who sent them.
pub struct Queued {
    pub tokens: Vec<SecretString>,
    pub source: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Queued {
    /// What it holds, in bytes, as the queue's bound counts it: lengths
    /// only, never content.
    pub fn bytes(&self) -> usize {
        self.tokens.iter().map(|t| t.expose().len()).sum::<usize>()
            + self.source.as_ref().map_or(0, String::len)
    }
}

/// The queue of reports waiting to be processed, and the rate limit.
pub struct LeakDesk {
    pub queue: Mutex<VecDeque<Queued>>,
    /// Bytes of the reports queued or being processed.
    queued_bytes: AtomicUsize,
    /// The bound on `queued_bytes`.
    cap: AtomicUsize,
    /// A task is draining the queue.
    pub draining: AtomicBool,
    /// Woken when a draining task ends.
    pub idle: tokio::sync::Notify,
    /// Per rate-limit bucket ([`bucket`]), the times of its reports within
    /// the last hour.
    seen: Mutex<HashMap<Option<IpAddr>, VecDeque<i64>>>,
}

impl Default for LeakDesk {
    fn default() -> Self {
        LeakDesk {
            queue: Mutex::default(),
            queued_bytes: AtomicUsize::new(0),
            cap: AtomicUsize::new(DEFAULT_QUEUE_BYTES),
            draining: AtomicBool::new(false),
            idle: tokio::sync::Notify::new(),
            seen: Mutex::default(),
        }
    }
}

/// The rate limit's bucket of a client address: an IPv4 address (an
/// IPv4-mapped IPv6 one too) is its own; an IPv6 address counts with its
/// /64, which one host or one site typically holds whole.
fn bucket(ip: Option<IpAddr>) -> Option<IpAddr> {
    ip.map(|ip| match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    })
}

impl LeakDesk {
    /// Sets the bound on queued bytes (default [`DEFAULT_QUEUE_BYTES`]).
    pub fn set_queue_cap(&self, bytes: usize) {
        self.cap.store(bytes, Ordering::SeqCst);
    }

    /// Queues `q` unless its bytes would take the queue past its bound.
    pub fn enqueue(&self, q: Queued) -> bool {
        let size = q.bytes();
        let cap = self.cap.load(Ordering::SeqCst);
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        // Under the queue's lock, so two reports never both take the last room.
        let held = self.queued_bytes.load(Ordering::SeqCst);
        if held.saturating_add(size) > cap {
            return false;
        }
        self.queued_bytes.fetch_add(size, Ordering::SeqCst);
        queue.push_back(q);
        true
    }

    /// A processed report's bytes are free again.
    pub fn done(&self, q: &Queued) {
        self.queued_bytes.fetch_sub(q.bytes(), Ordering::SeqCst);
    }

    /// Counts a request from `ip` at `now`; false when it is over `limit`
    /// reports in the last hour (then it is not counted).
    pub fn admit(&self, ip: Option<IpAddr>, now: i64, limit: u32) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, times| times.back().is_some_and(|t| *t > now - WINDOW));
        }
        let times = seen.entry(bucket(ip)).or_default();
        while times.front().is_some_and(|t| *t <= now - WINDOW) {
            times.pop_front();
        }
        if times.len() >= limit as usize {
            return false;
        }
        times.push_back(now);
        true
    }

    /// Whether every report received so far has been processed.
    pub fn settled(&self) -> bool {
        !self.draining.load(Ordering::SeqCst)
            && self
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(len: usize) -> Queued {
        Queued {
            tokens: vec!["x".repeat(len).into()],
            source: None,
            ip: None,
        }
    }

    #[test]
    fn the_queue_refuses_past_its_bound_until_reports_are_done() {
        let desk = LeakDesk::default();
        desk.set_queue_cap(100);
        assert!(desk.enqueue(queued(60)));
        assert!(!desk.enqueue(queued(41)), "full");
        assert!(desk.enqueue(queued(40)), "exactly full");
        let first = desk.queue.lock().unwrap().pop_front().unwrap();
        // Popped but still processing: still counted.
        assert!(!desk.enqueue(queued(1)));
        desk.done(&first);
        assert!(desk.enqueue(queued(60)));
    }

    #[test]
    fn buckets_are_ipv4_addresses_and_ipv6_64s() {
        let b = |s: &str| bucket(Some(s.parse().unwrap())).unwrap().to_string();
        assert_eq!(b("10.1.2.3"), "10.1.2.3");
        assert_eq!(b("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(b("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        assert_eq!(b("2001:db8:1:2::"), "2001:db8:1:2::");
        assert_eq!(bucket(None), None);
    }
}
