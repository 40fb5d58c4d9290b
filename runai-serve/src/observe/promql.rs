//! Which PromQL answers each metric type in the Kubernetes mode (see [`promql_for`]).

use std::collections::BTreeMap;
use std::time::Duration;

use super::MetricType;

/// Which pods and workload a query is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSelector {
    /// The Kubernetes namespace of the workload (its project's namespace).
    pub namespace: String,
    /// A regular expression (RE2, anchored by Prometheus) matching the names of the
    /// workload's pods, or of one pod.
    pub pod_pattern: String,
    /// The workload's name, as the gateway labels its metrics.
    pub workload: String,
    /// The window of `rate()`.
    pub rate_window: Duration,
}

impl PodSelector {
    /// All pods whose names start with `workload` (Knative and LeaderWorkerSet name pods
    /// after the workload), in `namespace`, with a 2-minute rate window.
    pub fn workload(namespace: &str, workload: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            pod_pattern: format!("{}-.*", regex_escape(workload)),
            workload: workload.to_owned(),
            rate_window: Duration::from_secs(120),
        }
    }

    /// Exactly the pod `pod` of `workload`.
    pub fn pod(namespace: &str, workload: &str, pod: &str) -> Self {
        Self {
            pod_pattern: regex_escape(pod),
            ..Self::workload(namespace, workload)
        }
    }

    /// The label matchers, without braces: `namespace="ns",pod=~"re"`.
    fn matchers(&self) -> String {
        format!(
            "namespace=\"{}\",pod=~\"{}\"",
            string_escape(&self.namespace),
            string_escape(&self.pod_pattern)
        )
    }

    fn window(&self) -> String {
        format!("{}s", self.rate_window.as_secs().max(1))
    }
}

/// One PromQL expression and the labels its series get in the measurement (`percentile`
/// for the percentile types).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledQuery {
    /// The PromQL expression.
    pub promql: String,
    /// Labels to add to the measurement.
    pub labels: BTreeMap<String, String>,
}

/// The PromQL that answers `metric` for `selector`: usually one query, three for the
/// percentile types, none for types no standard exporter provides.
///
/// The sources are the ones a GPU cluster runs anyway: NVIDIA's DCGM exporter for GPUs,
/// the kubelet's cAdvisor for CPU and memory, kube-state-metrics for requests, limits and
/// pods, the model servers' own `/metrics` (vLLM, NIM) and this crate's gateway
/// (`runai_gateway_*`). Every query is restricted to the workload's pods by namespace and a
/// pod-name pattern; the gateway's metrics are selected by its `workload` label. DCGM
/// exporter must run with its Kubernetes pod mapping so that its series carry `namespace`
/// and `pod` (with `honorLabels`, or the labels arrive as `exported_namespace` and
/// `exported_pod`).
///
/// | metric type | PromQL (selector `S` = `{namespace="ns",pod=~"re"}`) | unit |
/// | --- | --- | --- |
/// | `THROUGHPUT` | `sum(rate(runai_gateway_requests_total{workload="w"}[R]))` | requests/s |
/// | `LATENCY` | `1000 * sum(rate(runai_gateway_request_duration_seconds_sum{workload="w"}[R])) / sum(rate(..._count[R]))` | ms |
/// | `GPU_UTILIZATION` | `avg(DCGM_FI_DEV_GPU_UTIL S)` | % |
/// | `GPU_UTILIZATION_PER_GPU` | `avg by (gpu) (DCGM_FI_DEV_GPU_UTIL S)` | % |
/// | `GPU_MEMORY_USAGE_BYTES` | `sum(DCGM_FI_DEV_FB_USED S) * 1048576` | bytes |
/// | `GPU_MEMORY_USAGE_BYTES_PER_GPU` | `sum by (gpu) (DCGM_FI_DEV_FB_USED S) * 1048576` | bytes |
/// | `GPU_ALLOCATION` | `sum(kube_pod_container_resource_requests{resource="nvidia_com_gpu",...S})` | GPUs |
/// | `CPU_USAGE_CORES` | `sum(rate(container_cpu_usage_seconds_total{container!="",...S}[R]))` | cores |
/// | `CPU_REQUEST_CORES` / `CPU_LIMIT_CORES` | `sum(kube_pod_container_resource_{requests,limits}{resource="cpu",...S})` | cores |
/// | `CPU_MEMORY_USAGE_BYTES` | `sum(container_memory_working_set_bytes{container!="",...S})` | bytes |
/// | `CPU_MEMORY_REQUEST_BYTES` / `CPU_MEMORY_LIMIT_BYTES` | `sum(kube_pod_container_resource_{requests,limits}{resource="memory",...S})` | bytes |
/// | `POD_COUNT` | `count(kube_pod_info S)` | pods |
/// | `RUNNING_POD_COUNT` | `sum(kube_pod_status_phase{phase="Running",...S})` | pods |
/// | `NIM_NUM_REQUESTS_RUNNING` / `_WAITING` | `sum(num_requests_running S) or sum(vllm:num_requests_running S)` | requests |
/// | `NIM_NUM_REQUEST_MAX` | `sum(num_request_max S)` | requests |
/// | `NIM_REQUEST_SUCCESS_TOTAL` / `_FAILURE_TOTAL` | `sum(request_success_total S)` (vLLM name too) | requests |
/// | `NIM_GPU_CACHE_USAGE_PERC` | `max(gpu_cache_usage_perc S)` or vLLM's `gpu_cache_usage_perc` / `kv_cache_usage_perc` | 0 to 1 |
/// | `NIM_TIME_TO_FIRST_TOKEN_SECONDS` | `sum(rate(time_to_first_token_seconds_sum S [R])) / sum(rate(..._count S [R]))` | s |
/// | `NIM_E2E_REQUEST_LATENCY_SECONDS` | the same over `e2e_request_latency_seconds` | s |
/// | `..._PERCENTILES` | `histogram_quantile(q, sum by (le) (rate(..._bucket S [R])))`, q = 0.5, 0.9, 0.99, labelled `percentile` | s |
/// | `NVLINK_BANDWIDTH_TOTAL` | `sum(DCGM_FI_PROF_NVLINK_TX_BYTES S) + sum(DCGM_FI_PROF_NVLINK_RX_BYTES S)` | bytes/s |
/// | `GPU_*_ACTIVITY_PER_GPU`, `GPU_SM_OCCUPANCY_PER_GPU`, `GPU_MEMORY_BANDWIDTH_UTILIZATION_PER_GPU` | `avg by (gpu) (DCGM_FI_PROF_* S)` | 0 to 1 |
/// | `GPU_{NVLINK,PCIE}_{TRANSMITTED,RECEIVED}_BANDWIDTH_PER_GPU` | `avg by (gpu) (DCGM_FI_PROF_{NVLINK,PCIE}_{TX,RX}_BYTES S)` | bytes/s |
/// | `GPU_MEMORY_REQUEST_BYTES`, `GPU_SWAP_MEMORY_BYTES_PER_GPU` | no standard exporter: no query | |
///
/// `R` is the rate window, 2 minutes by default: at least four scrapes at the usual 30 s.
/// Model-server metrics are asked for under the NIM name and vLLM's (`vllm:` prefix), joined
/// with `or`, so one table serves both servers.
///
/// ```
/// use runai_serve::observe::{MetricType, PodSelector, promql_for};
///
/// let selector = PodSelector::workload("runai-team-a", "llama");
/// let queries = promql_for(MetricType::GpuUtilization, &selector);
/// assert_eq!(
///     queries[0].promql,
///     r#"avg(DCGM_FI_DEV_GPU_UTIL{namespace="runai-team-a",pod=~"llama-.*"})"#
/// );
/// assert!(promql_for(MetricType::GpuMemoryRequestBytes, &selector).is_empty());
/// ```
pub fn promql_for(metric: MetricType, selector: &PodSelector) -> Vec<LabelledQuery> {
    let s = selector.matchers();
    let r = selector.window();
    let w = string_escape(&selector.workload);
    let one = |promql: String| {
        vec![LabelledQuery {
            promql,
            labels: BTreeMap::new(),
        }]
    };
    // A model-server metric under NIM's name, or vLLM's.
    let model = |name: &str, agg: &str| format!("{agg}({name}{{{s}}}) or {agg}(vllm:{name}{{{s}}})");
    let mean_of = |histogram: &str| {
        format!(
            "(sum(rate({histogram}_sum{{{s}}}[{r}])) or sum(rate(vllm:{histogram}_sum{{{s}}}[{r}]))) \
             / (sum(rate({histogram}_count{{{s}}}[{r}])) or sum(rate(vllm:{histogram}_count{{{s}}}[{r}])))"
        )
    };
    let percentiles = |histogram: &str| {
        [("p50", "0.5"), ("p90", "0.9"), ("p99", "0.99")]
            .into_iter()
            .map(|(label, q)| LabelledQuery {
                promql: format!(
                    "histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{{{s}}}[{r}])) \
                     or sum by (le) (rate(vllm:{histogram}_bucket{{{s}}}[{r}])))"
                ),
                labels: BTreeMap::from([("percentile".to_owned(), label.to_owned())]),
            })
            .collect()
    };
    let per_gpu = |field: &str| one(format!("avg by (gpu) ({field}{{{s}}})"));
    let kube_resource = |kind: &str, resource: &str| {
        one(format!(
            "sum(kube_pod_container_resource_{kind}{{resource=\"{resource}\",{s}}})"
        ))
    };
    match metric {
        MetricType::Throughput => one(format!(
            "sum(rate(runai_gateway_requests_total{{workload=\"{w}\"}}[{r}]))"
        )),
        MetricType::Latency => one(format!(
            "1000 * sum(rate(runai_gateway_request_duration_seconds_sum{{workload=\"{w}\"}}[{r}])) \
             / sum(rate(runai_gateway_request_duration_seconds_count{{workload=\"{w}\"}}[{r}]))"
        )),
        MetricType::GpuUtilization => one(format!("avg(DCGM_FI_DEV_GPU_UTIL{{{s}}})")),
        MetricType::GpuUtilizationPerGpu => per_gpu("DCGM_FI_DEV_GPU_UTIL"),
        // DCGM reports framebuffer memory in MiB.
        MetricType::GpuMemoryUsageBytes => one(format!("sum(DCGM_FI_DEV_FB_USED{{{s}}}) * 1048576")),
        MetricType::GpuMemoryUsageBytesPerGpu => {
            one(format!("sum by (gpu) (DCGM_FI_DEV_FB_USED{{{s}}}) * 1048576"))
        }
        // kube-state-metrics writes the resource `nvidia.com/gpu` as `nvidia_com_gpu`.
        MetricType::GpuAllocation => kube_resource("requests", "nvidia_com_gpu"),
        // `container!=""` leaves out the pod-level cgroup, which would count everything twice.
        MetricType::CpuUsageCores => one(format!(
            "sum(rate(container_cpu_usage_seconds_total{{container!=\"\",{s}}}[{r}]))"
        )),
        MetricType::CpuRequestCores => kube_resource("requests", "cpu"),
        MetricType::CpuLimitCores => kube_resource("limits", "cpu"),
        MetricType::CpuMemoryUsageBytes => one(format!(
            "sum(container_memory_working_set_bytes{{container!=\"\",{s}}})"
        )),
        MetricType::CpuMemoryRequestBytes => kube_resource("requests", "memory"),
        MetricType::CpuMemoryLimitBytes => kube_resource("limits", "memory"),
        MetricType::PodCount => one(format!("count(kube_pod_info{{{s}}})")),
        MetricType::RunningPodCount => one(format!("sum(kube_pod_status_phase{{phase=\"Running\",{s}}})")),
        MetricType::NimNumRequestsRunning => one(model("num_requests_running", "sum")),
        MetricType::NimNumRequestsWaiting => one(model("num_requests_waiting", "sum")),
        MetricType::NimNumRequestMax => one(format!("sum(num_request_max{{{s}}})")),
        MetricType::NimRequestSuccessTotal => one(model("request_success_total", "sum")),
        MetricType::NimRequestFailureTotal => one(format!("sum(request_failure_total{{{s}}})")),
        MetricType::NimGpuCacheUsagePerc => one(format!(
            "{} or max(vllm:kv_cache_usage_perc{{{s}}})",
            model("gpu_cache_usage_perc", "max")
        )),
        MetricType::NimTimeToFirstTokenSeconds => one(mean_of("time_to_first_token_seconds")),
        MetricType::NimE2eRequestLatencySeconds => one(mean_of("e2e_request_latency_seconds")),
        MetricType::NimTimeToFirstTokenSecondsPercentiles => percentiles("time_to_first_token_seconds"),
        MetricType::NimE2eRequestLatencySecondsPercentiles => percentiles("e2e_request_latency_seconds"),
        MetricType::NvlinkBandwidthTotal => one(format!(
            "sum(DCGM_FI_PROF_NVLINK_TX_BYTES{{{s}}}) + sum(DCGM_FI_PROF_NVLINK_RX_BYTES{{{s}}})"
        )),
        MetricType::NvlinkBandwidthTotalPerGpu => one(format!(
            "sum by (gpu) (DCGM_FI_PROF_NVLINK_TX_BYTES{{{s}}}) + sum by (gpu) (DCGM_FI_PROF_NVLINK_RX_BYTES{{{s}}})"
        )),
        MetricType::GpuGraphicsEngineActivityPerGpu => per_gpu("DCGM_FI_PROF_GR_ENGINE_ACTIVE"),
        MetricType::GpuSmActivityPerGpu => per_gpu("DCGM_FI_PROF_SM_ACTIVE"),
        MetricType::GpuSmOccupancyPerGpu => per_gpu("DCGM_FI_PROF_SM_OCCUPANCY"),
        MetricType::GpuTensorActivityPerGpu => per_gpu("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"),
        MetricType::GpuFp64EngineActivityPerGpu => per_gpu("DCGM_FI_PROF_PIPE_FP64_ACTIVE"),
        MetricType::GpuFp32EngineActivityPerGpu => per_gpu("DCGM_FI_PROF_PIPE_FP32_ACTIVE"),
        MetricType::GpuFp16EngineActivityPerGpu => per_gpu("DCGM_FI_PROF_PIPE_FP16_ACTIVE"),
        MetricType::GpuMemoryBandwidthUtilizationPerGpu => per_gpu("DCGM_FI_PROF_DRAM_ACTIVE"),
        MetricType::GpuNvlinkTransmittedBandwidthPerGpu => per_gpu("DCGM_FI_PROF_NVLINK_TX_BYTES"),
        MetricType::GpuNvlinkReceivedBandwidthPerGpu => per_gpu("DCGM_FI_PROF_NVLINK_RX_BYTES"),
        MetricType::GpuPcieTransmittedBandwidthPerGpu => per_gpu("DCGM_FI_PROF_PCIE_TX_BYTES"),
        MetricType::GpuPcieReceivedBandwidthPerGpu => per_gpu("DCGM_FI_PROF_PCIE_RX_BYTES"),
        MetricType::GpuMemoryRequestBytes | MetricType::GpuSwapMemoryBytesPerGpu => Vec::new(),
    }
}

/// Escapes a string for a PromQL double-quoted literal.
fn string_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Escapes RE2 metacharacters so a name matches only itself.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_decision_and_selectors_are_escaped() {
        let selector = PodSelector::pod("ns", "my.model", "my.model-abc\"");
        for &metric in MetricType::ALL {
            for query in promql_for(metric, &selector) {
                assert!(
                    query.promql.contains("ns") || query.promql.contains("my.model"),
                    "{metric}"
                );
            }
        }
        let queries = promql_for(MetricType::CpuUsageCores, &selector);
        assert!(
            queries[0].promql.contains(r#"pod=~"my\\.model-abc\"""#),
            "{}",
            queries[0].promql
        );
        assert_eq!(
            promql_for(MetricType::NimTimeToFirstTokenSecondsPercentiles, &selector).len(),
            3
        );
    }
}
