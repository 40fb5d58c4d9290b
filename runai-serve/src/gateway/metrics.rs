//! The gateway's Prometheus metrics, per workload: requests by status, end-to-end latency,
//! and for OpenAI-compatible traffic time to first token, inter-token latency and tokens.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
    broken_streams: Family<Labels, Counter>,
    /// The same TTFT and inter-token figures under vLLM's names, labelled by `model_name`
    /// (the workload), so dashboards built for vLLM read the gateway unchanged.
    vllm_ttft: Family<Labels, Histogram, fn() -> Histogram>,
    vllm_tpot: Family<Labels, Histogram, fn() -> Histogram>,
    replicas: Family<Labels, Gauge>,
    in_flight: Family<Labels, Gauge>,
    queued: Family<Labels, Gauge>,
    reported_waiting: Family<Labels, Gauge>,
}

/// What the endpoint table says of one workload at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkloadGauges {
    pub(crate) replicas: usize,
    pub(crate) in_flight: usize,
    pub(crate) queued: usize,
}

/// What one replica's model server last reported (LLM-aware balancing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplicaReport {
    pub(crate) workload: String,
    pub(crate) replica: String,
    pub(crate) waiting: u32,
}

impl GatewayMetrics {
    pub(crate) fn new() -> Self {
        let requests = Family::<Labels, Counter>::default();
        let duration =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let ttft = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let itl = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(token_gap_histogram);
        let tokens = Family::<Labels, Counter>::default();
        let broken_streams = Family::<Labels, Counter>::default();
        let vllm_ttft =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let vllm_tpot =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(token_gap_histogram);
        let (replicas, in_flight, queued) = (Family::default(), Family::default(), Family::default());
        let reported_waiting = Family::<Labels, Gauge>::default();
        let mut root = Registry::default();
        root.register(
            "vllm:time_to_first_token_seconds",
            "Time to first token, measured at the gateway",
            vllm_ttft.clone(),
        );
        root.register(
            "vllm:time_per_output_token_seconds",
            "Time between output tokens, measured at the gateway",
            vllm_tpot.clone(),
        );
        let registry = root.sub_registry_with_prefix("runai_gateway");
        registry.register("replicas", "Replicas the gateway routes to", replicas.clone());
        registry.register(
            "in_flight",
            "Requests on or queued for replicas",
            in_flight.clone(),
        );
        registry.register("queued", "Requests waiting for a replica slot", queued.clone());
        registry.register(
            "replica_reported_waiting",
            "Requests waiting at a replica's model server, as last scraped (LLM-aware balancing)",
            reported_waiting.clone(),
        );
        registry.register(
            "requests",
            "Requests by workload, revision and response status",
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
        registry.register(
            "upstream_body_errors",
            "Responses whose body broke off at the replica (a replica that died mid-stream)",
            broken_streams.clone(),
        );
        Self {
            registry: root,
            vllm_ttft,
            vllm_tpot,
            replicas,
            in_flight,
            queued,
            reported_waiting,
            requests,
            duration,
            ttft,
            itl,
            tokens,
            broken_streams,
        }
    }

    /// Counts a response body that broke off at the replica.
    pub(crate) fn count_broken_stream(&self, workload: &str) {
        self.broken_streams
            .get_or_create(&vec![("workload", workload.to_owned())])
            .inc();
    }

    /// Counts a response of `status` for `workload` and `revision` (empty when none
    /// matched or was chosen).
    pub(crate) fn count(&self, workload: &str, revision: &str, status: u16) {
        let labels = vec![
            ("workload", workload.to_owned()),
            ("revision", revision.to_owned()),
            ("status", status.to_string()),
        ];
        self.requests.get_or_create(&labels).inc();
    }

    /// Records a finished response.
    pub(crate) fn record(&self, workload: &str, duration: f64, stats: Option<&TokenStats>) {
        let labels = vec![("workload", workload.to_owned())];
        self.duration.get_or_create(&labels).observe(duration);
        let Some(stats) = stats else { return };
        let model = vec![("model_name", workload.to_owned())];
        if let Some(ttft) = stats.ttft {
            self.ttft.get_or_create(&labels).observe(ttft.as_secs_f64());
            self.vllm_ttft.get_or_create(&model).observe(ttft.as_secs_f64());
        }
        if !stats.itls.is_empty() {
            let (itl, tpot) = (
                self.itl.get_or_create(&labels),
                self.vllm_tpot.get_or_create(&model),
            );
            for gap in &stats.itls {
                itl.observe(gap.as_secs_f64());
                tpot.observe(gap.as_secs_f64());
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

    /// The OpenMetrics text of every metric, with the gauges set from `workloads` first.
    pub(crate) fn encode_with(
        &self,
        workloads: impl Iterator<Item = (String, WorkloadGauges)>,
        reports: &[ReplicaReport],
    ) -> String {
        // Gauges of workloads removed since the last scrape go away with the clear.
        self.replicas.clear();
        self.in_flight.clear();
        self.queued.clear();
        self.reported_waiting.clear();
        for report in reports {
            let labels = vec![
                ("workload", report.workload.clone()),
                ("replica", report.replica.clone()),
            ];
            self.reported_waiting
                .get_or_create(&labels)
                .set(i64::from(report.waiting));
        }
        for (workload, gauges) in workloads {
            let labels = vec![("workload", workload)];
            self.replicas.get_or_create(&labels).set(gauges.replicas as i64);
            self.in_flight.get_or_create(&labels).set(gauges.in_flight as i64);
            self.queued.get_or_create(&labels).set(gauges.queued as i64);
        }
        self.encode()
    }

    /// The OpenMetrics text of every metric.
    fn encode(&self) -> String {
        let mut text = String::with_capacity(4096);
        encode(&mut text, &self.registry).expect("writing to a String does not fail");
        text
    }
}
