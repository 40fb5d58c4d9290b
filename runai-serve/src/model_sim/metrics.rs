//! The simulator's Prometheus metrics, under the names vLLM exports, so gateways and
//! autoscalers that scrape vLLM read the simulator unchanged.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The metrics and their registry.
#[derive(Debug)]
pub(super) struct SimMetrics {
    registry: Registry,
    pub(super) running: Gauge,
    pub(super) waiting: Gauge,
    /// KV-cache use, simulated as running requests over the concurrency limit.
    cache_use: Gauge<f64, std::sync::atomic::AtomicU64>,
    prompt_tokens: Counter,
    generation_tokens: Counter,
    max_concurrency: usize,
}

impl SimMetrics {
    pub(super) fn new(model: &str, max_concurrency: usize) -> Self {
        let (running, waiting, cache_use) = (Gauge::default(), Gauge::default(), Gauge::default());
        let (prompt_tokens, generation_tokens) = (Counter::default(), Counter::default());
        let mut registry = Registry::default();
        let labelled = registry.sub_registry_with_label(("model_name".into(), model.to_owned().into()));
        labelled.register("vllm:num_requests_running", "Requests running", running.clone());
        labelled.register(
            "vllm:num_requests_waiting",
            "Requests waiting to run",
            waiting.clone(),
        );
        labelled.register(
            "vllm:gpu_cache_usage_perc",
            "KV-cache use, 0 to 1 (simulated: running requests over the concurrency limit)",
            cache_use.clone(),
        );
        labelled.register(
            "vllm:prompt_tokens",
            "Prompt tokens processed",
            prompt_tokens.clone(),
        );
        labelled.register(
            "vllm:generation_tokens",
            "Tokens generated",
            generation_tokens.clone(),
        );
        Self {
            registry,
            running,
            waiting,
            cache_use,
            prompt_tokens,
            generation_tokens,
            max_concurrency,
        }
    }

    /// The OpenMetrics text of every metric.
    pub(super) fn encode(&self) -> String {
        let mut text = String::with_capacity(1024);
        encode(&mut text, &self.registry).expect("writing to a String does not fail");
        text
    }

    fn update_cache_use(&self) {
        if self.max_concurrency > 0 {
            self.cache_use
                .set(self.running.get() as f64 / self.max_concurrency as f64);
        }
    }
}

/// A running request: counted in `vllm:num_requests_running` until dropped, which also
/// happens when a streaming client goes away.
#[derive(Debug)]
pub(super) struct InFlight {
    metrics: SimMetricsHandle,
}

/// The handles an in-flight request updates (metric handles share their values).
#[derive(Debug, Clone)]
struct SimMetricsHandle {
    running: Gauge,
    cache_use: Gauge<f64, std::sync::atomic::AtomicU64>,
    generation_tokens: Counter,
    max_concurrency: usize,
}

impl InFlight {
    pub(super) fn start(metrics: &SimMetrics, prompt_tokens: u64) -> Self {
        metrics.running.inc();
        metrics.prompt_tokens.inc_by(prompt_tokens);
        metrics.update_cache_use();
        Self {
            metrics: SimMetricsHandle {
                running: metrics.running.clone(),
                cache_use: metrics.cache_use.clone(),
                generation_tokens: metrics.generation_tokens.clone(),
                max_concurrency: metrics.max_concurrency,
            },
        }
    }

    pub(super) fn generated(&self, tokens: u64) {
        self.metrics.generation_tokens.inc_by(tokens);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let running = self.metrics.running.dec() - 1;
        if self.metrics.max_concurrency > 0 {
            self.metrics
                .cache_use
                .set(running as f64 / self.metrics.max_concurrency as f64);
        }
    }
}
