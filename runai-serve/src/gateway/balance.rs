//! Choosing a replica: least outstanding requests among two picked at random ("power of two
//! choices"), which balances nearly as well as scanning every replica at constant cost. In
//! LLM-aware mode the two are compared first by what their model servers last reported
//! (requests waiting, then KV-cache use), as long as both reports are fresh.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use axum::http::Uri;

use super::queue::{Admission, WorkloadLimits};

/// One replica of a workload, the requests it has outstanding through this gateway (queued
/// ones included), and its slots and queue.
#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) base: Uri,
    /// The `Host` header for requests to it, made once (the client would format one per
    /// request).
    pub(crate) host: Option<axum::http::HeaderValue>,
    outstanding: AtomicUsize,
    pub(crate) admission: Admission,
    /// What the replica's model server last reported (LLM-aware mode).
    pub(crate) reported: Reported,
}

/// A model server's last report: requests waiting, KV-cache use in thousandths, and when
/// (milliseconds since the gateway started; 0 for never).
#[derive(Debug, Default)]
pub(crate) struct Reported {
    waiting: AtomicU32,
    kv_cache_milli: AtomicU32,
    at_ms: AtomicU64,
}

impl Reported {
    pub(crate) fn store(&self, waiting: u32, kv_cache_use: f64, at_ms: u64) {
        self.waiting.store(waiting, Ordering::Relaxed);
        self.kv_cache_milli
            .store((kv_cache_use.clamp(0.0, 1.0) * 1000.0) as u32, Ordering::Relaxed);
        self.at_ms.store(at_ms.max(1), Ordering::Relaxed);
    }

    /// Requests waiting at the last report, if any came.
    pub(crate) fn waiting(&self) -> Option<u32> {
        (self.at_ms.load(Ordering::Relaxed) != 0).then(|| self.waiting.load(Ordering::Relaxed))
    }

    /// (waiting, KV-cache use) when reported at or after `fresh_since_ms`.
    fn fresh(&self, fresh_since_ms: u64) -> Option<(u32, u32)> {
        let at = self.at_ms.load(Ordering::Relaxed);
        (at != 0 && at >= fresh_since_ms).then(|| {
            (
                self.waiting.load(Ordering::Relaxed),
                self.kv_cache_milli.load(Ordering::Relaxed),
            )
        })
    }
}

impl Replica {
    /// Requests on or queued for this replica through this gateway.
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Relaxed)
    }

    pub(crate) fn new(base: Uri, limits: &WorkloadLimits) -> Self {
        let host = base
            .authority()
            .and_then(|a| axum::http::HeaderValue::from_str(a.as_str()).ok());
        Self {
            base,
            host,
            outstanding: AtomicUsize::new(0),
            admission: Admission::new(limits),
            reported: Reported::default(),
        }
    }
}

/// A request counted against a replica until dropped (when the response body ends or the
/// client goes away).
#[derive(Debug)]
pub(crate) struct Outstanding(Arc<Replica>);

impl Outstanding {
    pub(crate) fn replica(&self) -> &Replica {
        &self.0
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Picks a replica and counts the request against it; `None` when there is none.
/// Whether `b` is the better choice than `a`: by fresh reports when both have one (fewer
/// waiting, then less KV cache in use), else by outstanding requests.
fn better(a: &Replica, b: &Replica, fresh_since_ms: Option<u64>) -> bool {
    let by_outstanding = || b.outstanding.load(Ordering::Relaxed) < a.outstanding.load(Ordering::Relaxed);
    let Some(since) = fresh_since_ms else {
        return by_outstanding();
    };
    match (a.reported.fresh(since), b.reported.fresh(since)) {
        (Some(ra), Some(rb)) if ra != rb => rb < ra,
        _ => by_outstanding(),
    }
}

/// Picks a replica and counts the request against it; `None` when there is none. With
/// `fresh_since_ms`, model-server reports from that time on decide first.
pub(crate) fn pick_with(
    replicas: &[Arc<Replica>],
    seed: &AtomicU64,
    fresh_since_ms: Option<u64>,
) -> Option<Outstanding> {
    let chosen = match replicas.len() {
        0 => return None,
        1 => &replicas[0],
        n => {
            let r = next_random(seed);
            let a = (r % n as u64) as usize;
            // A second index distinct from the first.
            let b = (a + 1 + ((r >> 32) % (n as u64 - 1)) as usize) % n;
            let (a, b) = (&replicas[a], &replicas[b]);
            if better(a, b, fresh_since_ms) { b } else { a }
        }
    };
    chosen.outstanding.fetch_add(1, Ordering::Relaxed);
    Some(Outstanding(Arc::clone(chosen)))
}

/// SplitMix64 over a shared counter: lock-free and good enough to spread picks.
pub(crate) fn next_random(seed: &AtomicU64) -> u64 {
    crate::shared::splitmix64(seed.fetch_add(crate::shared::SPLITMIX64_STEP, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replicas(n: usize) -> Vec<Arc<Replica>> {
        (0..n)
            .map(|i| {
                Arc::new(Replica::new(
                    format!("http://10.0.0.{i}:8000").parse().unwrap(),
                    &WorkloadLimits::default(),
                ))
            })
            .collect()
    }

    #[test]
    fn the_less_loaded_of_two_wins_and_counts_are_released() {
        let set = replicas(2);
        let seed = AtomicU64::new(1);
        let held: Vec<_> = (0..10).map(|_| pick_with(&set, &seed, None).unwrap()).collect();
        // With two replicas both are always compared, so load alternates evenly.
        assert_eq!(set[0].outstanding.load(Ordering::Relaxed), 5);
        assert_eq!(set[1].outstanding.load(Ordering::Relaxed), 5);
        drop(held);
        assert_eq!(set[0].outstanding.load(Ordering::Relaxed), 0);
        assert!(pick_with(&[], &seed, None).is_none());
    }

    #[test]
    fn many_replicas_share_held_requests_evenly() {
        let set = replicas(8);
        let seed = AtomicU64::new(7);
        let held: Vec<_> = (0..800).map(|_| pick_with(&set, &seed, None).unwrap()).collect();
        for r in &set {
            let n = r.outstanding.load(Ordering::Relaxed);
            assert!((90..=110).contains(&n), "{n}");
        }
        drop(held);
    }

    #[test]
    fn fresh_reports_decide_before_outstanding_counts() {
        let set = replicas(2);
        let seed = AtomicU64::new(3);
        // Replica 0 has a queue at its server; replica 1 is idle. The gateway's own counts
        // are equal (zero), so only the reports can tell them apart.
        set[0].reported.store(4, 0.9, 1_000);
        set[1].reported.store(0, 0.1, 1_000);
        for _ in 0..10 {
            let picked = pick_with(&set, &seed, Some(500)).unwrap();
            assert_eq!(picked.replica().base, set[1].base);
        }
        // Stale reports are ignored: back to outstanding counts (replica 1 now holds none,
        // the ten above were dropped), so both get picked.
        let held: Vec<_> = (0..10)
            .map(|_| pick_with(&set, &seed, Some(5_000)).unwrap())
            .collect();
        assert_eq!(set[0].outstanding(), 5);
        drop(held);
    }
}
