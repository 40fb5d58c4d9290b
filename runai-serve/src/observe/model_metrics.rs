//! What a model server's metrics page says about its load and latency, under the names vLLM
//! (`vllm:` prefix) and NVIDIA NIM (no prefix) use.

use std::time::Duration;

use super::exposition;

/// A cumulative histogram as Prometheus exposes it: counts of observations at or below each
/// bucket's upper bound, plus their sum and count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// (upper bound, cumulative count), ascending by bound; the last bound is usually
    /// `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    /// Sum of the observations.
    pub sum: f64,
    /// Number of observations.
    pub count: f64,
}

/// The 50th, 90th and 99th percentiles of a histogram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Histogram {
    /// Estimates the `q`-quantile (0 to 1) the way PromQL's `histogram_quantile` does:
    /// linear interpolation inside the bucket that holds it, the lowest bucket starting at
    /// 0, and the highest finite bound when it falls in the `+Inf` bucket. `None` without
    /// observations or for `q` outside 0..=1.
    ///
    /// ```
    /// use runai_serve::observe::Histogram;
    ///
    /// let latency = Histogram {
    ///     buckets: vec![(1.0, 50.0), (3.0, 90.0), (5.0, 100.0), (f64::INFINITY, 100.0)],
    ///     sum: 200.0,
    ///     count: 100.0,
    /// };
    /// assert_eq!(latency.quantile(0.5), Some(1.0));
    /// assert_eq!(latency.quantile(0.7), Some(2.0));
    /// assert_eq!(latency.mean(), Some(2.0));
    /// ```
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let total = self.buckets.last().map(|&(_, count)| count)?;
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let index = self.buckets.iter().position(|&(_, count)| count >= rank)?;
        let (upper, count) = self.buckets[index];
        if upper.is_infinite() {
            // Nothing is known above the highest finite bound.
            return Some(index.checked_sub(1).map_or(0.0, |i| self.buckets[i].0));
        }
        let (lower, below) = match index.checked_sub(1) {
            Some(i) => self.buckets[i],
            None if upper > 0.0 => (0.0, 0.0),
            None => return Some(upper),
        };
        let in_bucket = count - below;
        if in_bucket <= 0.0 {
            return Some(upper);
        }
        Some(lower + (upper - lower) * (rank - below) / in_bucket)
    }

    /// The 50th, 90th and 99th percentiles; `None` without observations.
    pub fn percentiles(&self) -> Option<Percentiles> {
        Some(Percentiles {
            p50: self.quantile(0.5)?,
            p90: self.quantile(0.9)?,
            p99: self.quantile(0.99)?,
        })
    }

    /// The mean observation (sum over count); `None` without observations.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }

    /// The observations made since `earlier`, a scrape of the same histogram. A server that
    /// restarted in between resets its counters; then everything in `self` is new, as with
    /// PromQL's `increase`.
    pub fn since(&self, earlier: &Self) -> Self {
        let same_bounds = self.buckets.len() == earlier.buckets.len()
            && self.buckets.iter().zip(&earlier.buckets).all(|(a, b)| a.0 == b.0);
        let reset =
            self.count < earlier.count || self.buckets.iter().zip(&earlier.buckets).any(|(a, b)| a.1 < b.1);
        if !same_bounds || reset {
            return self.clone();
        }
        Self {
            buckets: self
                .buckets
                .iter()
                .zip(&earlier.buckets)
                .map(|(now, then)| (now.0, now.1 - then.1))
                .collect(),
            sum: self.sum - earlier.sum,
            count: self.count - earlier.count,
        }
    }
}

/// A model server's load and latency from one scrape of its metrics page. Gauges and
/// counters are summed over label sets (one server may serve several models or LoRA
/// adapters), histograms merged bucket by bucket; a metric the page does not have is
/// `None`.
///
/// ```
/// use runai_serve::observe::ModelMetrics;
///
/// let page = "vllm:num_requests_running{model_name=\"llama\"} 3\n\
///             vllm:num_requests_waiting{model_name=\"llama\"} 1\n\
///             vllm:kv_cache_usage_perc{model_name=\"llama\"} 0.42\n";
/// let metrics = ModelMetrics::parse(page);
/// assert_eq!(metrics.num_requests_running, Some(3.0));
/// assert_eq!(metrics.kv_cache_usage_perc, Some(0.42));
/// assert_eq!(metrics.time_to_first_token, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelMetrics {
    /// Requests being processed (`num_requests_running`).
    pub num_requests_running: Option<f64>,
    /// Requests queued (`num_requests_waiting`).
    pub num_requests_waiting: Option<f64>,
    /// The server's concurrency limit (NIM's `num_request_max`).
    pub num_request_max: Option<f64>,
    /// KV-cache use, 0 to 1 (`gpu_cache_usage_perc`, renamed `kv_cache_usage_perc` in newer
    /// vLLM). The largest over label sets: one full cache is what limits the server.
    pub kv_cache_usage_perc: Option<f64>,
    /// Requests finished successfully (`request_success_total`, a counter).
    pub request_success_total: Option<f64>,
    /// Requests failed (NIM's `request_failure_total`, a counter).
    pub request_failure_total: Option<f64>,
    /// Prompt tokens processed (`prompt_tokens_total`, a counter).
    pub prompt_tokens_total: Option<f64>,
    /// Tokens generated (`generation_tokens_total`, a counter).
    pub generation_tokens_total: Option<f64>,
    /// Time to first token, seconds (`time_to_first_token_seconds`).
    pub time_to_first_token: Option<Histogram>,
    /// End-to-end request latency, seconds (`e2e_request_latency_seconds`).
    pub e2e_request_latency: Option<Histogram>,
}

/// What changed between two scrapes of the same server: rates of the counters and the
/// latency of the requests in between.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelMetricsDelta {
    /// Finished requests per second (`THROUGHPUT`): successes and failures when the server
    /// counts them, otherwise the end-to-end latency histogram's count.
    pub requests_per_second: Option<f64>,
    /// Failed requests per second.
    pub failures_per_second: Option<f64>,
    /// Generated tokens per second.
    pub generation_tokens_per_second: Option<f64>,
    /// Time to first token of the requests in between.
    pub time_to_first_token: Option<Histogram>,
    /// End-to-end latency of the requests in between (`LATENCY` is its mean).
    pub e2e_request_latency: Option<Histogram>,
}

impl ModelMetrics {
    /// Reads a metrics page in the Prometheus text or OpenMetrics format. Unknown metrics
    /// and malformed lines are ignored.
    pub fn parse(page: &str) -> Self {
        let mut metrics = Self::default();
        let mut ttft = HistogramBuilder::default();
        let mut e2e = HistogramBuilder::default();
        for sample in exposition::samples(page) {
            if !sample.value.is_finite() && !sample.name.ends_with("_bucket") {
                continue;
            }
            let name = sample.name.strip_prefix("vllm:").unwrap_or(sample.name);
            let add = |field: &mut Option<f64>| *field = Some(field.unwrap_or(0.0) + sample.value);
            match name {
                "num_requests_running" => add(&mut metrics.num_requests_running),
                "num_requests_waiting" => add(&mut metrics.num_requests_waiting),
                "num_request_max" => add(&mut metrics.num_request_max),
                "gpu_cache_usage_perc" | "kv_cache_usage_perc" => {
                    let largest = metrics.kv_cache_usage_perc.unwrap_or(0.0).max(sample.value);
                    metrics.kv_cache_usage_perc = Some(largest);
                }
                // OpenMetrics drops `_total` from a counter's family name but keeps it on
                // the sample; both spellings are seen in the wild.
                "request_success_total" | "request_success" => {
                    add(&mut metrics.request_success_total);
                }
                "request_failure_total" | "request_failure" => {
                    add(&mut metrics.request_failure_total);
                }
                "prompt_tokens_total" | "prompt_tokens" => add(&mut metrics.prompt_tokens_total),
                "generation_tokens_total" | "generation_tokens" => {
                    add(&mut metrics.generation_tokens_total);
                }
                _ => {
                    if let Some(part) = name.strip_prefix("time_to_first_token_seconds") {
                        ttft.add(part, &sample);
                    } else if let Some(part) = name.strip_prefix("e2e_request_latency_seconds") {
                        e2e.add(part, &sample);
                    }
                }
            }
        }
        metrics.time_to_first_token = ttft.build();
        metrics.e2e_request_latency = e2e.build();
        metrics
    }

    /// Rates and windowed latencies between `earlier` and this scrape, `elapsed` apart.
    ///
    /// ```
    /// use std::time::Duration;
    /// use runai_serve::observe::ModelMetrics;
    ///
    /// let before = ModelMetrics::parse("vllm:request_success_total 100\n");
    /// let after = ModelMetrics::parse("vllm:request_success_total 130\n");
    /// let delta = after.since(&before, Duration::from_secs(10));
    /// assert_eq!(delta.requests_per_second, Some(3.0));
    /// ```
    pub fn since(&self, earlier: &Self, elapsed: Duration) -> ModelMetricsDelta {
        let seconds = elapsed.as_secs_f64();
        let rate = |now: Option<f64>, then: Option<f64>| -> Option<f64> {
            let now = now?;
            if seconds <= 0.0 {
                return None;
            }
            // A counter below its earlier value means the server restarted from 0.
            let increase = match then {
                Some(then) if now >= then => now - then,
                _ => now,
            };
            Some(increase / seconds)
        };
        let window = |now: &Option<Histogram>, then: &Option<Histogram>| -> Option<Histogram> {
            let now = now.as_ref()?;
            Some(then.as_ref().map_or_else(|| now.clone(), |then| now.since(then)))
        };
        let e2e_request_latency = window(&self.e2e_request_latency, &earlier.e2e_request_latency);
        let successes = rate(self.request_success_total, earlier.request_success_total);
        let failures_per_second = rate(self.request_failure_total, earlier.request_failure_total);
        let requests_per_second = match (successes, failures_per_second) {
            (None, None) => e2e_request_latency
                .as_ref()
                .and_then(|h| (seconds > 0.0).then(|| h.count / seconds)),
            (s, f) => Some(s.unwrap_or(0.0) + f.unwrap_or(0.0)),
        };
        ModelMetricsDelta {
            requests_per_second,
            failures_per_second,
            generation_tokens_per_second: rate(self.generation_tokens_total, earlier.generation_tokens_total),
            time_to_first_token: window(&self.time_to_first_token, &earlier.time_to_first_token),
            e2e_request_latency,
        }
    }
}

/// Collects one histogram's `_bucket`, `_sum` and `_count` samples over all label sets.
#[derive(Debug, Default)]
struct HistogramBuilder {
    buckets: Vec<(f64, f64)>,
    sum: Option<f64>,
    count: Option<f64>,
}

impl HistogramBuilder {
    fn add(&mut self, suffix: &str, sample: &exposition::Sample<'_>) {
        match suffix {
            "_bucket" => {
                let Some(bound) = sample.label("le").and_then(parse_bound) else {
                    return;
                };
                if !sample.value.is_finite() {
                    return;
                }
                match self.buckets.iter_mut().find(|(b, _)| *b == bound) {
                    Some(bucket) => bucket.1 += sample.value,
                    None => self.buckets.push((bound, sample.value)),
                }
            }
            "_sum" => self.sum = Some(self.sum.unwrap_or(0.0) + sample.value),
            "_count" => self.count = Some(self.count.unwrap_or(0.0) + sample.value),
            _ => {}
        }
    }

    fn build(mut self) -> Option<Histogram> {
        if self.buckets.is_empty() && self.count.is_none() {
            return None;
        }
        self.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let count = self
            .count
            .or_else(|| self.buckets.last().map(|&(_, count)| count))
            .unwrap_or(0.0);
        Some(Histogram {
            buckets: self.buckets,
            sum: self.sum.unwrap_or(0.0),
            count,
        })
    }
}

fn parse_bound(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        _ => text.parse().ok().filter(|b: &f64| !b.is_nan()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(buckets: &[(f64, f64)]) -> Histogram {
        Histogram {
            buckets: buckets.to_vec(),
            sum: 0.0,
            count: buckets.last().map_or(0.0, |b| b.1),
        }
    }

    #[test]
    fn quantiles_follow_histogram_quantile() {
        let h = histogram(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 30.0)]);
        assert_eq!(h.quantile(0.0), Some(0.0));
        assert_eq!(h.quantile(0.25), Some(0.75));
        assert_eq!(h.quantile(0.5), Some(1.5));
        // In the +Inf bucket: the highest finite bound.
        assert_eq!(h.quantile(0.99), Some(2.0));
        assert_eq!(h.quantile(1.5), None);
        assert_eq!(histogram(&[(1.0, 0.0)]).quantile(0.5), None);
        assert_eq!(Histogram::default().percentiles(), None);
    }

    #[test]
    fn a_counter_reset_counts_everything_as_new() {
        let before = histogram(&[(1.0, 10.0), (f64::INFINITY, 10.0)]);
        let after = histogram(&[(1.0, 2.0), (f64::INFINITY, 3.0)]);
        assert_eq!(after.since(&before), after);
        let later = histogram(&[(1.0, 12.0), (f64::INFINITY, 15.0)]);
        assert_eq!(later.since(&before).buckets, [(1.0, 2.0), (f64::INFINITY, 5.0)]);
    }
}
