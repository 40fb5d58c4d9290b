//! Choosing a replica: least outstanding requests among two picked at random ("power of two
//! choices"), which balances nearly as well as scanning every replica at constant cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::http::Uri;

use super::queue::{Admission, WorkloadLimits};

/// One replica of a workload, the requests it has outstanding through this gateway (queued
/// ones included), and its slots and queue.
#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) base: Uri,
    outstanding: AtomicUsize,
    pub(crate) admission: Admission,
}

impl Replica {
    /// Requests on or queued for this replica through this gateway.
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Relaxed)
    }

    pub(crate) fn new(base: Uri, limits: &WorkloadLimits) -> Self {
        Self {
            base,
            outstanding: AtomicUsize::new(0),
            admission: Admission::new(limits),
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
pub(crate) fn pick(replicas: &[Arc<Replica>], seed: &AtomicU64) -> Option<Outstanding> {
    let chosen = match replicas.len() {
        0 => return None,
        1 => &replicas[0],
        n => {
            let r = next_random(seed);
            let a = (r % n as u64) as usize;
            // A second index distinct from the first.
            let b = (a + 1 + ((r >> 32) % (n as u64 - 1)) as usize) % n;
            let (a, b) = (&replicas[a], &replicas[b]);
            if b.outstanding.load(Ordering::Relaxed) < a.outstanding.load(Ordering::Relaxed) {
                b
            } else {
                a
            }
        }
    };
    chosen.outstanding.fetch_add(1, Ordering::Relaxed);
    Some(Outstanding(Arc::clone(chosen)))
}

/// SplitMix64 over a shared counter: lock-free and good enough to spread picks.
pub(crate) fn next_random(seed: &AtomicU64) -> u64 {
    let mut z = seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
        let held: Vec<_> = (0..10).map(|_| pick(&set, &seed).unwrap()).collect();
        // With two replicas both are always compared, so load alternates evenly.
        assert_eq!(set[0].outstanding.load(Ordering::Relaxed), 5);
        assert_eq!(set[1].outstanding.load(Ordering::Relaxed), 5);
        drop(held);
        assert_eq!(set[0].outstanding.load(Ordering::Relaxed), 0);
        assert!(pick(&[], &seed).is_none());
    }

    #[test]
    fn many_replicas_share_held_requests_evenly() {
        let set = replicas(8);
        let seed = AtomicU64::new(7);
        let held: Vec<_> = (0..800).map(|_| pick(&set, &seed).unwrap()).collect();
        for r in &set {
            let n = r.outstanding.load(Ordering::Relaxed);
            assert!((90..=110).contains(&n), "{n}");
        }
        drop(held);
    }
}
