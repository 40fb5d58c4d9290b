//! Rolling per-workload summaries over the last minute: throughput, latency and time to
//! first token percentiles, output tokens per second. The control plane serves them as the
//! workload's metrics; the autoscaler reads them too.
//!
//! Each workload keeps one slot per second for the window; a slot holds counts and two
//! log-scale histograms (about 12 % wide buckets), so memory is fixed (about 40 KB per
//! workload) and a percentile is read from the summed buckets.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::WorkloadKey;

/// The window a summary covers.
pub const SUMMARY_WINDOW: Duration = Duration::from_secs(60);
const SLOTS: usize = SUMMARY_WINDOW.as_secs() as usize;

/// Histogram buckets: bucket `i` holds values up to `FIRST_BOUND_US * RATIO^i` microseconds;
/// 100 µs to about 17 minutes.
const BUCKETS: usize = 72;
const FIRST_BOUND_US: f64 = 100.0;
const RATIO: f64 = 1.25;

/// Three percentiles of a duration.
///
/// ```
/// use runai_serve::gateway::Percentiles;
/// use std::time::Duration;
/// let p = Percentiles { p50: Duration::from_millis(20), p95: Duration::from_millis(80), p99: Duration::from_millis(120) };
/// assert!(p.p50 <= p.p99);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    /// The median.
    #[serde(serialize_with = "seconds")]
    pub p50: Duration,
    /// The 95th percentile.
    #[serde(serialize_with = "seconds")]
    pub p95: Duration,
    /// The 99th percentile.
    #[serde(serialize_with = "seconds")]
    pub p99: Duration,
}

/// What a workload served over the last [`SUMMARY_WINDOW`] (or since the gateway first saw
/// it, when that is shorter). Counts requests that reached a replica; refusals (401, 403,
/// 503 for a full queue) are in the Prometheus counters instead.
///
/// ```
/// use runai_serve::gateway::{Gateway, GatewayConfig, WorkloadKey};
/// let gateway = Gateway::new(GatewayConfig::default());
/// gateway.update_endpoints(&WorkloadKey::new("p", "llama"), &["http://127.0.0.1:8000"])?;
/// let summary = gateway.summary(&WorkloadKey::new("p", "llama")).unwrap();
/// assert_eq!(summary.requests, 0);
/// assert!(summary.latency.is_none());
/// # Ok::<(), runai_serve::gateway::GatewayError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkloadSummary {
    /// The workload.
    #[serde(serialize_with = "display")]
    pub workload: WorkloadKey,
    /// The time covered.
    #[serde(serialize_with = "seconds")]
    pub window: Duration,
    /// Responses finished in the window.
    pub requests: u64,
    /// `requests` per second of the window.
    pub requests_per_second: f64,
    /// End-to-end latency (arrival to the end of the response body), when any finished.
    pub latency: Option<Percentiles>,
    /// Time to first token of OpenAI-compatible responses, when any had one.
    pub time_to_first_token: Option<Percentiles>,
    /// Completion tokens per second of the window.
    pub output_tokens_per_second: f64,
    /// Requests in flight now: at replicas, queued in front of them, and held by the
    /// activator while the workload is at zero (the autoscaler's concurrency).
    pub concurrency: u64,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn display<S: serde::Serializer>(key: &WorkloadKey, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(key)
}

#[derive(Debug, Clone)]
struct Slot {
    /// The second (since the window's epoch) this slot holds; stale slots are skipped.
    second: u64,
    requests: u64,
    output_tokens: u64,
    latency: [u32; BUCKETS],
    ttft: [u32; BUCKETS],
}

impl Slot {
    const EMPTY: Self = Self {
        second: u64::MAX,
        requests: 0,
        output_tokens: 0,
        latency: [0; BUCKETS],
        ttft: [0; BUCKETS],
    };
}

/// One workload's rolling window.
#[derive(Debug)]
pub(crate) struct Rolling {
    epoch: Instant,
    slots: Mutex<Box<[Slot; SLOTS]>>,
}

impl Default for Rolling {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            slots: Mutex::new(Box::new([Slot::EMPTY; SLOTS])),
        }
    }
}

fn bucket(d: Duration) -> usize {
    let us = d.as_secs_f64() * 1e6;
    if us <= FIRST_BOUND_US {
        return 0;
    }
    let index = ((us / FIRST_BOUND_US).ln() / RATIO.ln()).ceil() as usize;
    index.min(BUCKETS - 1)
}

fn upper_bound(index: usize) -> Duration {
    Duration::from_secs_f64(FIRST_BOUND_US * RATIO.powi(index as i32) / 1e6)
}

impl Rolling {
    /// Records one finished response.
    pub(crate) fn record(&self, at: Instant, latency: Duration, ttft: Option<Duration>, output_tokens: u64) {
        let second = at.saturating_duration_since(self.epoch).as_secs();
        let Ok(mut slots) = self.slots.lock() else { return };
        let slot = &mut slots[(second % SLOTS as u64) as usize];
        if slot.second != second {
            *slot = Slot::EMPTY;
            slot.second = second;
        }
        slot.requests += 1;
        slot.output_tokens += output_tokens;
        slot.latency[bucket(latency)] += 1;
        if let Some(ttft) = ttft {
            slot.ttft[bucket(ttft)] += 1;
        }
    }

    /// The summary as of `now`.
    pub(crate) fn summarize(&self, workload: &WorkloadKey, now: Instant) -> WorkloadSummary {
        let elapsed = now.saturating_duration_since(self.epoch);
        let current = elapsed.as_secs();
        let (mut requests, mut tokens) = (0u64, 0u64);
        let (mut latency, mut ttft) = ([0u64; BUCKETS], [0u64; BUCKETS]);
        if let Ok(slots) = self.slots.lock() {
            for slot in slots.iter() {
                // The current second and the SLOTS - 1 before it.
                if slot.second > current || current - slot.second >= SLOTS as u64 {
                    continue;
                }
                requests += slot.requests;
                tokens += slot.output_tokens;
                for i in 0..BUCKETS {
                    latency[i] += u64::from(slot.latency[i]);
                    ttft[i] += u64::from(slot.ttft[i]);
                }
            }
        }
        // Early on, the window is as long as the gateway has known the workload (at least a
        // second, so one request does not read as a burst).
        let window = elapsed.clamp(Duration::from_secs(1), SUMMARY_WINDOW);
        let per_second = |n: u64| n as f64 / window.as_secs_f64();
        WorkloadSummary {
            workload: workload.clone(),
            window,
            requests,
            requests_per_second: per_second(requests),
            latency: percentiles(&latency),
            time_to_first_token: percentiles(&ttft),
            output_tokens_per_second: per_second(tokens),
            concurrency: 0,
        }
    }
}

/// p50, p95 and p99 of a histogram, each the upper bound of its bucket.
fn percentiles(histogram: &[u64; BUCKETS]) -> Option<Percentiles> {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return None;
    }
    let at = |q: f64| {
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, count) in histogram.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_bound(i);
            }
        }
        upper_bound(BUCKETS - 1)
    };
    Some(Percentiles {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_land_within_a_bucket_of_the_truth() {
        let rolling = Rolling::default();
        let start = rolling.epoch;
        for ms in 1..=100u64 {
            rolling.record(
                start,
                Duration::from_millis(ms),
                Some(Duration::from_millis(ms / 2)),
                10,
            );
        }
        let summary = rolling.summarize(&WorkloadKey::new("p", "w"), start + Duration::from_secs(10));
        assert_eq!(summary.requests, 100);
        assert!((summary.requests_per_second - 10.0).abs() < 1e-9);
        assert!((summary.output_tokens_per_second - 100.0).abs() < 1e-9);
        let latency = summary.latency.unwrap();
        for (got, truth) in [(latency.p50, 50.0), (latency.p95, 95.0), (latency.p99, 99.0)] {
            let ms = got.as_secs_f64() * 1e3;
            assert!(ms >= truth && ms <= truth * RATIO, "{ms} ms for {truth} ms");
        }
        let ttft = summary.time_to_first_token.unwrap();
        assert!(ttft.p50 < latency.p50);
    }

    #[test]
    fn the_window_forgets_what_is_older_than_a_minute() {
        let rolling = Rolling::default();
        let start = rolling.epoch;
        rolling.record(start, Duration::from_millis(5), None, 0);
        rolling.record(start + Duration::from_secs(30), Duration::from_millis(5), None, 0);
        let key = WorkloadKey::new("p", "w");
        assert_eq!(
            rolling.summarize(&key, start + Duration::from_secs(59)).requests,
            2
        );
        assert_eq!(
            rolling.summarize(&key, start + Duration::from_secs(61)).requests,
            1
        );
        // A slot reused a minute later starts afresh.
        rolling.record(start + Duration::from_secs(90), Duration::from_millis(5), None, 0);
        assert_eq!(
            rolling.summarize(&key, start + Duration::from_secs(91)).requests,
            1
        );
        assert!(
            rolling
                .summarize(&key, start + Duration::from_secs(200))
                .latency
                .is_none()
        );
    }
}
