//! A bounded in-memory time-series store that answers the Run:ai metrics API.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{MetricType, ObserveError, format_timestamp};

/// The most samples a query may ask for (`numberOfSamples` is 0..1000 in the Run:ai API).
pub const MAX_SAMPLES_PER_QUERY: usize = 1000;

/// How much a [`MetricSeries`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Samples kept per series; the oldest is dropped when a new one arrives. The default,
    /// 720, is one hour at one sample every 5 seconds.
    pub samples_per_series: usize,
    /// Series kept in all; samples of a new series are dropped while the store is full, so
    /// that a flood of replica ids cannot grow memory without bound. The default, 4096, with
    /// 720 samples of 16 bytes each, caps the store near 47 MB.
    pub max_series: usize,
}

impl Default for SeriesLimits {
    fn default() -> Self {
        Self {
            samples_per_series: 720,
            max_series: 4096,
        }
    }
}

/// The newest sample of one series (see [`MetricSeries::latest`]).
///
/// ```
/// use runai_serve::observe::{LatestSample, MetricType};
/// let sample = LatestSample { workload: "w-1".into(), pod: None, metric: MetricType::PodCount, value: 2.0 };
/// assert_eq!(sample.metric.as_str(), "POD_COUNT");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LatestSample {
    /// The workload id.
    pub workload: String,
    /// The replica, for a per-replica series.
    pub pod: Option<String>,
    /// The metric type.
    pub metric: MetricType,
    /// The value.
    pub value: f64,
}

/// The Run:ai `MetricsResponse`: one measurement per requested metric type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsResponse {
    /// The measurements, in the order the types were asked for.
    pub measurements: Vec<Measurement>,
}

impl MetricsResponse {
    /// Whether some requested type has no samples: the metrics API then answers 207
    /// (partial success) with the same body.
    pub fn is_partial(&self) -> bool {
        self.measurements.iter().any(|m| m.values.is_empty())
    }
}

/// The Run:ai `MeasurementResponse`: one metric type's samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The metric type (`type` on the wire).
    #[serde(rename = "type")]
    pub metric: MetricType,
    /// Labels of the measurement, such as `{"gpu": "3"}`; `null` when there are none.
    pub labels: Option<BTreeMap<String, String>>,
    /// The samples, oldest first; empty when there are none in the range.
    pub values: Vec<MeasurementValue>,
}

/// One sample on the wire: the value as a string (`"85"`) and an RFC 3339 time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasurementValue {
    /// The value, as Rust prints an `f64` (`85`, `0.25`).
    pub value: String,
    /// When it was taken, RFC 3339 UTC with milliseconds.
    pub timestamp: Option<String>,
}

/// Samples of workloads and their replicas (pods), kept in memory for the metrics API.
///
/// Each series is one (workload, pod, metric type): pod `None` holds the workload-level
/// value (the recorder sums or averages its replicas), pod `Some(id)` one replica's. Every
/// series is a ring buffer of [`SeriesLimits::samples_per_series`] samples. Clones share
/// the same store.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use runai_serve::observe::{MetricSeries, MetricType};
///
/// let series = MetricSeries::default();
/// let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// for second in 0..10 {
///     let at = start + Duration::from_secs(second);
///     series.record("llama", None, MetricType::CpuUsageCores, at, 0.5);
/// }
/// let end = start + Duration::from_secs(10);
/// let types = [MetricType::CpuUsageCores, MetricType::GpuUtilization];
/// let response = series.query("llama", None, &types, start, end, 5)?;
/// assert_eq!(response.measurements[0].values.len(), 5);
/// assert_eq!(response.measurements[0].values[0].value, "0.5");
/// // No GPU samples: the API answers 207 with an empty list for that type.
/// assert!(response.is_partial());
/// # Ok::<(), runai_serve::observe::ObserveError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MetricSeries {
    inner: Arc<Mutex<Store>>,
}

#[derive(Debug, Default)]
struct Store {
    limits: SeriesLimits,
    series: HashMap<SeriesKey, VecDeque<Sample>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SeriesKey {
    workload: String,
    pod: Option<String>,
    metric: MetricType,
}

/// Milliseconds since the epoch and the value: 16 bytes a sample.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at_ms: u64,
    value: f64,
}

impl MetricSeries {
    /// An empty store with the given limits (a limit of 0 is read as 1).
    pub fn with_limits(limits: SeriesLimits) -> Self {
        let limits = SeriesLimits {
            samples_per_series: limits.samples_per_series.max(1),
            max_series: limits.max_series.max(1),
        };
        Self {
            inner: Arc::new(Mutex::new(Store {
                limits,
                series: HashMap::new(),
            })),
        }
    }

    /// Records one sample. Returns `false`, recording nothing, for a value that is not
    /// finite (it has no JSON form and would poison averages) and for a new series while the
    /// store holds [`SeriesLimits::max_series`] series.
    pub fn record(
        &self,
        workload: &str,
        pod: Option<&str>,
        metric: MetricType,
        at: SystemTime,
        value: f64,
    ) -> bool {
        if !value.is_finite() {
            return false;
        }
        let sample = Sample {
            at_ms: millis_since_epoch(at),
            value,
        };
        let key = SeriesKey {
            workload: workload.to_owned(),
            pod: pod.map(str::to_owned),
            metric,
        };
        let mut store = self.lock();
        let limits = store.limits;
        let full = store.series.len() >= limits.max_series;
        let ring = match store.series.get_mut(&key) {
            Some(ring) => ring,
            None if full => return false,
            None => store
                .series
                .entry(key)
                .or_insert_with(|| VecDeque::with_capacity(limits.samples_per_series.min(64))),
        };
        if ring.len() >= limits.samples_per_series {
            ring.pop_front();
        }
        ring.push_back(sample);
        true
    }

    /// Drops every series of `workload`, its replicas' included (a deleted workload).
    pub fn forget_workload(&self, workload: &str) {
        self.lock().series.retain(|key, _| key.workload != workload);
    }

    /// Drops every series of one replica (a replica that stopped).
    pub fn forget_pod(&self, workload: &str, pod: &str) {
        self.lock()
            .series
            .retain(|key, _| key.workload != workload || key.pod.as_deref() != Some(pod));
    }

    /// The newest sample of every series, sorted by workload, pod and type: what a
    /// Prometheus scrape of the platform shows.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use runai_serve::observe::{MetricSeries, MetricType};
    /// let series = MetricSeries::default();
    /// series.record("w-1", Some("rev-1-0"), MetricType::CpuUsageCores, SystemTime::now(), 0.5);
    /// series.record("w-1", Some("rev-1-0"), MetricType::CpuUsageCores, SystemTime::now(), 0.75);
    /// let latest = series.latest();
    /// assert_eq!(latest.len(), 1);
    /// assert_eq!(latest[0].value, 0.75);
    /// ```
    #[must_use]
    pub fn latest(&self) -> Vec<LatestSample> {
        let store = self.lock();
        let mut latest: Vec<LatestSample> = store
            .series
            .iter()
            .filter_map(|(key, ring)| {
                ring.back().map(|sample| LatestSample {
                    workload: key.workload.clone(),
                    pod: key.pod.clone(),
                    metric: key.metric,
                    value: sample.value,
                })
            })
            .collect();
        drop(store);
        latest.sort_by(|a, b| (&a.workload, &a.pod, a.metric).cmp(&(&b.workload, &b.pod, b.metric)));
        latest
    }

    /// The newest value of one series, if it has any.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use runai_serve::observe::{MetricSeries, MetricType};
    /// let series = MetricSeries::default();
    /// series.record("w-1", None, MetricType::RunningPodCount, SystemTime::now(), 2.0);
    /// assert_eq!(series.last("w-1", None, MetricType::RunningPodCount), Some(2.0));
    /// assert_eq!(series.last("w-1", None, MetricType::PodCount), None);
    /// ```
    #[must_use]
    pub fn last(&self, workload: &str, pod: Option<&str>, metric: MetricType) -> Option<f64> {
        let key = SeriesKey {
            workload: workload.to_owned(),
            pod: pod.map(str::to_owned),
            metric,
        };
        self.lock().series.get(&key)?.back().map(|sample| sample.value)
    }

    /// How many series the store holds.
    pub fn series_count(&self) -> usize {
        self.lock().series.len()
    }

    /// The samples of `workload` (and `pod`, when given) for each of `types` between `start`
    /// and `end` inclusive, in the Run:ai `MetricsResponse` shape.
    ///
    /// With more samples in the range than `number_of_samples`, the range is cut into that
    /// many equal buckets and each non-empty bucket answers the mean of its samples, stamped
    /// with the bucket's end; with fewer, the samples come as recorded. `0` asks for every
    /// sample. A type with no samples gets an empty `values` list (see
    /// [`MetricsResponse::is_partial`]).
    ///
    /// # Errors
    ///
    /// [`ObserveError::InvalidQuery`] when `start` is after `end` or `number_of_samples` is
    /// above [`MAX_SAMPLES_PER_QUERY`].
    pub fn query(
        &self,
        workload: &str,
        pod: Option<&str>,
        types: &[MetricType],
        start: SystemTime,
        end: SystemTime,
        number_of_samples: usize,
    ) -> Result<MetricsResponse, ObserveError> {
        if start > end {
            return Err(ObserveError::InvalidQuery {
                reason: format!(
                    "start ({}) is after end ({})",
                    format_timestamp(start),
                    format_timestamp(end)
                ),
            });
        }
        if number_of_samples > MAX_SAMPLES_PER_QUERY {
            return Err(ObserveError::InvalidQuery {
                reason: format!(
                    "numberOfSamples is {number_of_samples}; at most {MAX_SAMPLES_PER_QUERY} are served"
                ),
            });
        }
        let (start_ms, end_ms) = (millis_since_epoch(start), millis_since_epoch(end));
        let mut key = SeriesKey {
            workload: workload.to_owned(),
            pod: pod.map(str::to_owned),
            metric: MetricType::Throughput,
        };
        let store = self.lock();
        let measurements = types
            .iter()
            .map(|&metric| {
                key.metric = metric;
                let in_range: Vec<Sample> = store
                    .series
                    .get(&key)
                    .map(|ring| {
                        ring.iter()
                            .filter(|s| (start_ms..=end_ms).contains(&s.at_ms))
                            .copied()
                            .collect()
                    })
                    .unwrap_or_default();
                Measurement {
                    metric,
                    labels: None,
                    values: downsample(in_range, start_ms, end_ms, number_of_samples)
                        .into_iter()
                        .map(|s| MeasurementValue {
                            value: s.value.to_string(),
                            timestamp: Some(format_timestamp(UNIX_EPOCH + Duration::from_millis(s.at_ms))),
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(MetricsResponse { measurements })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        // Every update leaves the map consistent, so a panic elsewhere while holding the
        // lock does not make the data unusable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn millis_since_epoch(at: SystemTime) -> u64 {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// At most `buckets` samples: the mean of each of `buckets` equal slices of the range.
fn downsample(mut samples: Vec<Sample>, start_ms: u64, end_ms: u64, buckets: usize) -> Vec<Sample> {
    // Samples may have been recorded out of order; answers are oldest first.
    samples.sort_by_key(|s| s.at_ms);
    if buckets == 0 || samples.len() <= buckets {
        return samples;
    }
    let span = u128::from(end_ms - start_ms) + 1;
    let buckets_u128 = buckets as u128;
    let mut sums = vec![(0.0_f64, 0_usize); buckets];
    for sample in &samples {
        let index = (u128::from(sample.at_ms - start_ms) * buckets_u128 / span) as usize;
        let bucket = &mut sums[index.min(buckets - 1)];
        bucket.0 += sample.value;
        bucket.1 += 1;
    }
    sums.iter()
        .enumerate()
        .filter(|(_, (_, count))| *count > 0)
        .map(|(index, (sum, count))| {
            // The last millisecond of the bucket, so the final bucket ends at `end`.
            // (At least one millisecond in, for ranges shorter than their bucket count.)
            let bucket_end = ((index as u128 + 1) * span / buckets_u128).max(1);
            Sample {
                at_ms: start_ms + bucket_end as u64 - 1,
                value: sum / *count as f64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Sample {
        Sample {
            at_ms: ms,
            value: ms as f64,
        }
    }

    #[test]
    fn downsampling_averages_equal_buckets_and_ends_at_the_range_end() {
        let samples: Vec<Sample> = (0..10).map(|i| at(i * 100)).collect();
        let out = downsample(samples, 0, 999, 2);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].value, 200.0);
        assert_eq!(out[1].value, 700.0);
        assert_eq!(out[1].at_ms, 999);
        assert!(out[0].at_ms < out[1].at_ms);
    }

    #[test]
    fn few_samples_come_back_as_recorded_and_sorted() {
        let out = downsample(vec![at(30), at(10)], 0, 100, 20);
        assert_eq!(out.iter().map(|s| s.at_ms).collect::<Vec<_>>(), [10, 30]);
        assert_eq!(downsample(vec![at(1), at(2), at(3)], 0, 3, 0).len(), 3);
    }
}
