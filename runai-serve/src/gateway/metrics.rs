//! The gateway's Prometheus metrics, per workload: requests by status, end-to-end latency,
//! and for OpenAI-compatible traffic time to first token, inter-token latency and tokens.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::tokens::TokenStats;

type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

fn token_gap_histogram() -> Histogram {
    // 0.5 ms to about 2 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 13))
}

/// All gateway metrics and their registry.
#[derive(Debug)]
pub(crate) struct GatewayMetrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    duration: Family<Labels, Histogram, fn() -> Histogram>,
    ttft: Family<Labels, Histogram, fn() -> Histogram>,
    itl: Family<Labels, Histogram, fn() -> Histogram>,
    tokens: Family<Labels, Counter>,
}

impl GatewayMetrics {
    pub(crate) fn new() -> Self {
        let requests = Family::<Labels, Counter>::default();
        let duration =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let ttft = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let itl = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(token_gap_histogram);
        let tokens = Family::<Labels, Counter>::default();
        let mut registry = Registry::with_prefix("runai_gateway");
        registry.register(
            "requests",
            "Requests by workload and response status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to the end of its response body",
            duration.clone(),
        );
        registry.register(
            "time_to_first_token_seconds",
            "Time from a request's arrival to its first generated token",
            ttft.clone(),
        );
        registry.register(
            "inter_token_latency_seconds",
            "Time between successive generated tokens",
            itl.clone(),
        );
        registry.register("tokens", "Prompt and completion tokens", tokens.clone());
        Self {
            registry,
            requests,
            duration,
            ttft,
            itl,
            tokens,
        }
    }

    /// Counts a response of `status` for `workload` (empty when no workload matched).
    pub(crate) fn count(&self, workload: &str, status: u16) {
        self.requests
            .get_or_create(&vec![
                ("workload", workload.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// Records a finished response.
    pub(crate) fn record(&self, workload: &str, duration: f64, stats: Option<&TokenStats>) {
        let labels = vec![("workload", workload.to_owned())];
        self.duration.get_or_create(&labels).observe(duration);
        let Some(stats) = stats else { return };
        if let Some(ttft) = stats.ttft {
            self.ttft.get_or_create(&labels).observe(ttft.as_secs_f64());
        }
        if !stats.itls.is_empty() {
            let itl = self.itl.get_or_create(&labels);
            for gap in &stats.itls {
                itl.observe(gap.as_secs_f64());
            }
        }
        for (kind, count) in [
            ("prompt", stats.prompt_tokens),
            ("completion", stats.completion_tokens),
        ] {
            if let Some(count) = count {
                self.tokens
                    .get_or_create(&vec![
                        ("workload", workload.to_owned()),
                        ("kind", kind.to_owned()),
                    ])
                    .inc_by(count);
            }
        }
    }

    /// The OpenMetrics text of every metric.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::with_capacity(4096);
        encode(&mut text, &self.registry).expect("writing to a String does not fail");
        text
    }
}
