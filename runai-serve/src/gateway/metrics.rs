//! The gateway's Prometheus metrics, per workload: requests by status, end-to-end latency,
//! and for OpenAI-compatible traffic time to first token, inter-token latency and tokens.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use std::sync::{Arc, RwLock};

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

/// One workload's metric handles (they share their values with the registry).
#[derive(Debug)]
pub(crate) struct WorkloadMeters {
    workload: String,
    duration: Histogram,
    ttft: Histogram,
    itl: Histogram,
    vllm_ttft: Histogram,
    vllm_tpot: Histogram,
    prompt_tokens: Counter,
    completion_tokens: Counter,
    broken_streams: Counter,
    /// Request counters by revision and status, found by a short scan.
    requests: RwLock<Vec<(Arc<str>, u16, Counter)>>,
}

impl WorkloadMeters {
    /// Counts a response of `status` from `revision` (empty when none was chosen).
    pub(crate) fn count(&self, metrics: &GatewayMetrics, revision: &Arc<str>, status: u16) {
        let found = |list: &[(Arc<str>, u16, Counter)]| {
            list.iter()
                .find(|(r, s, _)| *s == status && **r == **revision)
                .map(|(_, _, counter)| counter.clone())
        };
        let cached = self.requests.read().ok().and_then(|list| found(&list));
        let counter = cached.unwrap_or_else(|| {
            let counter = metrics.requests_counter(&self.workload, revision, status);
            if let Ok(mut list) = self.requests.write()
                && found(&list).is_none()
            {
                list.push((Arc::clone(revision), status, counter.clone()));
            }
            counter
        });
        counter.inc();
    }

    /// Records a finished response.
    pub(crate) fn record(&self, duration: f64, stats: Option<&TokenStats>) {
        self.duration.observe(duration);
        let Some(stats) = stats else { return };
        if let Some(ttft) = stats.ttft {
            self.ttft.observe(ttft.as_secs_f64());
            self.vllm_ttft.observe(ttft.as_secs_f64());
        }
        for gap in &stats.itls {
            self.itl.observe(gap.as_secs_f64());
            self.vllm_tpot.observe(gap.as_secs_f64());
        }
        if let Some(count) = stats.prompt_tokens {
            self.prompt_tokens.inc_by(count);
        }
        if let Some(count) = stats.completion_tokens {
            self.completion_tokens.inc_by(count);
        }
    }

    /// Counts a response body that broke off at the replica.
    pub(crate) fn count_broken_stream(&self) {
        self.broken_streams.inc();
    }
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

    /// The request counter of `workload`, `revision` and `status` (empty strings when no
    /// workload matched or no revision was chosen).
    pub(crate) fn requests_counter(&self, workload: &str, revision: &str, status: u16) -> Counter {
        let labels = vec![
            ("workload", workload.to_owned()),
            ("revision", revision.to_owned()),
            ("status", status.to_string()),
        ];
        self.requests.get_or_create(&labels).clone()
    }

    /// The handles of one workload's metrics, looked up once so that recording a request
    /// allocates nothing and takes no registry lock.
    pub(crate) fn meters_for(&self, workload: &str) -> WorkloadMeters {
        let labels = vec![("workload", workload.to_owned())];
        let model = vec![("model_name", workload.to_owned())];
        let tokens = |kind: &str| {
            let labels = vec![("workload", workload.to_owned()), ("kind", kind.to_owned())];
            self.tokens.get_or_create(&labels).clone()
        };
        WorkloadMeters {
            workload: workload.to_owned(),
            duration: self.duration.get_or_create(&labels).clone(),
            ttft: self.ttft.get_or_create(&labels).clone(),
            itl: self.itl.get_or_create(&labels).clone(),
            vllm_ttft: self.vllm_ttft.get_or_create(&model).clone(),
            vllm_tpot: self.vllm_tpot.get_or_create(&model).clone(),
            prompt_tokens: tokens("prompt"),
            completion_tokens: tokens("completion"),
            broken_streams: self.broken_streams.get_or_create(&labels).clone(),
            requests: RwLock::new(Vec::new()),
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
