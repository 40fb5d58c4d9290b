//! Queue-proxy semantics per replica, as Knative's queue-proxy applies them in front of each
//! pod: at most `concurrency_hard_limit` requests in flight, a bounded queue behind them, and
//! a deadline for getting a slot. A full queue is refused at once (503 with `Retry-After`):
//! memory stays bounded whatever the load.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits of a workload's replicas.
///
/// ```
/// use runai_serve::gateway::WorkloadLimits;
/// let limits = WorkloadLimits::with_hard_limit(4);
/// assert_eq!(limits.queue_depth, 40); // ten times the limit, as Knative
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkloadLimits {
    /// Requests in flight per replica (`concurrencyHardLimit`); `None` is unlimited.
    pub concurrency_hard_limit: Option<u32>,
    /// Requests that may wait per replica when all its slots are taken.
    pub queue_depth: usize,
    /// Deadline for a request to get a slot and its response headers
    /// (`requestTimeoutSeconds`); `None` is no deadline.
    pub request_timeout: Option<Duration>,
}

impl WorkloadLimits {
    /// A hard limit of `limit` in flight with Knative's queue of ten times the limit.
    #[must_use]
    pub fn with_hard_limit(limit: u32) -> Self {
        Self {
            concurrency_hard_limit: Some(limit),
            queue_depth: limit as usize * 10,
            request_timeout: None,
        }
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    QueueFull,
    TimedOut,
}

/// One replica's slots and queue.
#[derive(Debug)]
pub(crate) struct Admission {
    slots: Option<Arc<Semaphore>>,
    queue_depth: usize,
    queued: AtomicUsize,
}

impl Admission {
    pub(crate) fn new(limits: &WorkloadLimits) -> Self {
        Self {
            slots: limits
                .concurrency_hard_limit
                .map(|limit| Arc::new(Semaphore::new(limit.max(1) as usize))),
            queue_depth: limits.queue_depth,
            queued: AtomicUsize::new(0),
        }
    }

    /// Requests waiting for a slot.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// A slot for one request (`None` when unlimited), waiting in the queue if need be.
    pub(crate) async fn admit(
        &self,
        deadline: Option<Duration>,
    ) -> Result<Option<OwnedSemaphorePermit>, Refused> {
        let Some(slots) = &self.slots else {
            return Ok(None);
        };
        if let Ok(permit) = Arc::clone(slots).try_acquire_owned() {
            return Ok(Some(permit));
        }
        // Reserve a queue place first, so the bound holds under any interleaving.
        if self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q < self.queue_depth).then_some(q + 1)
            })
            .is_err()
        {
            return Err(Refused::QueueFull);
        }
        let _place = QueuePlace(&self.queued);
        let wait = Arc::clone(slots).acquire_owned();
        let permit = match deadline {
            Some(deadline) => tokio::time::timeout(deadline, wait)
                .await
                .map_err(|_| Refused::TimedOut)?,
            None => wait.await,
        };
        Ok(Some(permit.expect("the semaphore is never closed")))
    }
}

/// A held queue place, given back on drop (also when the waiting client goes away).
struct QueuePlace<'a>(&'a AtomicUsize);

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_slots_requests_queue_and_beyond_the_queue_they_are_refused() {
        let admission = Admission::new(&WorkloadLimits {
            concurrency_hard_limit: Some(1),
            queue_depth: 1,
            request_timeout: None,
        });
        let first = admission.admit(None).await.unwrap();
        assert!(first.is_some());
        let waiting = admission.admit(None);
        tokio::pin!(waiting);
        // Let the second run until it waits in the queue.
        assert!(
            tokio::time::timeout(Duration::from_millis(20), waiting.as_mut())
                .await
                .is_err()
        );
        assert_eq!(admission.admit(None).await.unwrap_err(), Refused::QueueFull);
        drop(first);
        assert!(waiting.await.unwrap().is_some());
        assert_eq!(admission.queued.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn the_deadline_bounds_the_wait() {
        let admission = Admission::new(&WorkloadLimits::with_hard_limit(1));
        let _held = admission.admit(None).await.unwrap();
        let refused = admission
            .admit(Some(Duration::from_millis(20)))
            .await
            .unwrap_err();
        assert_eq!(refused, Refused::TimedOut);
        assert_eq!(admission.queued.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn no_limit_admits_everything() {
        let admission = Admission::new(&WorkloadLimits::default());
        for _ in 0..1_000 {
            assert!(admission.admit(None).await.unwrap().is_none());
        }
    }
}
