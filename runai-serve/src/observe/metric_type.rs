//! The Run:ai metric types, by their wire names.

use std::fmt;
use std::str::FromStr;

use super::ObserveError;

macro_rules! metric_types {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)*) => {
        /// A metric type of the Run:ai metrics API (`metricType=...`), spelled on the wire
        /// exactly as the Run:ai OpenAPI document spells it: the union of
        /// `InferenceWorkloadMetricType`, `WorkloadMetricType` and `PodMetricType`.
        ///
        /// ```
        /// use runai_serve::observe::MetricType;
        ///
        /// let metric: MetricType = "GPU_UTILIZATION".parse()?;
        /// assert_eq!(metric, MetricType::GpuUtilization);
        /// assert_eq!(serde_json::to_string(&metric)?, r#""GPU_UTILIZATION""#);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum MetricType {
            $($(#[$doc])* $variant,)*
        }

        impl MetricType {
            /// Every metric type, in the order of this enum.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The wire name, such as `GPU_UTILIZATION`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }
        }
    };
}

metric_types! {
    /// Requests per second (inference workloads and pods).
    Throughput = "THROUGHPUT",
    /// Mean request latency in milliseconds (inference workloads and pods).
    Latency = "LATENCY",
    /// GPU utilisation in percent, averaged over the GPUs in use.
    GpuUtilization = "GPU_UTILIZATION",
    /// GPU utilisation in percent, one series per GPU (pods).
    GpuUtilizationPerGpu = "GPU_UTILIZATION_PER_GPU",
    /// GPU memory in use, bytes.
    GpuMemoryUsageBytes = "GPU_MEMORY_USAGE_BYTES",
    /// GPU memory in use, bytes, one series per GPU (pods).
    GpuMemoryUsageBytesPerGpu = "GPU_MEMORY_USAGE_BYTES_PER_GPU",
    /// GPU memory requested, bytes.
    GpuMemoryRequestBytes = "GPU_MEMORY_REQUEST_BYTES",
    /// GPUs allocated (fractions included).
    GpuAllocation = "GPU_ALLOCATION",
    /// CPU in use, cores.
    CpuUsageCores = "CPU_USAGE_CORES",
    /// CPU requested, cores.
    CpuRequestCores = "CPU_REQUEST_CORES",
    /// CPU limit, cores.
    CpuLimitCores = "CPU_LIMIT_CORES",
    /// Memory in use (resident / working set), bytes.
    CpuMemoryUsageBytes = "CPU_MEMORY_USAGE_BYTES",
    /// Memory requested, bytes.
    CpuMemoryRequestBytes = "CPU_MEMORY_REQUEST_BYTES",
    /// Memory limit, bytes.
    CpuMemoryLimitBytes = "CPU_MEMORY_LIMIT_BYTES",
    /// Pods (replicas) of the workload.
    PodCount = "POD_COUNT",
    /// Running pods (replicas) of the workload.
    RunningPodCount = "RUNNING_POD_COUNT",
    /// Requests the model server is running.
    NimNumRequestsRunning = "NIM_NUM_REQUESTS_RUNNING",
    /// Requests waiting at the model server.
    NimNumRequestsWaiting = "NIM_NUM_REQUESTS_WAITING",
    /// The model server's request concurrency limit.
    NimNumRequestMax = "NIM_NUM_REQUEST_MAX",
    /// Requests completed successfully (counter).
    NimRequestSuccessTotal = "NIM_REQUEST_SUCCESS_TOTAL",
    /// Requests failed (counter).
    NimRequestFailureTotal = "NIM_REQUEST_FAILURE_TOTAL",
    /// KV-cache use, 0 to 1.
    NimGpuCacheUsagePerc = "NIM_GPU_CACHE_USAGE_PERC",
    /// Mean time to first token, seconds.
    NimTimeToFirstTokenSeconds = "NIM_TIME_TO_FIRST_TOKEN_SECONDS",
    /// Mean end-to-end request latency, seconds.
    NimE2eRequestLatencySeconds = "NIM_E2E_REQUEST_LATENCY_SECONDS",
    /// Time to first token, seconds, one series per percentile (`percentile` label).
    NimTimeToFirstTokenSecondsPercentiles = "NIM_TIME_TO_FIRST_TOKEN_SECONDS_PERCENTILES",
    /// End-to-end request latency, seconds, one series per percentile (`percentile` label).
    NimE2eRequestLatencySecondsPercentiles = "NIM_E2E_REQUEST_LATENCY_SECONDS_PERCENTILES",
    /// NVLink bandwidth, transmitted plus received, bytes per second.
    NvlinkBandwidthTotal = "NVLINK_BANDWIDTH_TOTAL",
    /// NVLink bandwidth, transmitted plus received, bytes per second, per GPU (pods).
    NvlinkBandwidthTotalPerGpu = "NVLINK_BANDWIDTH_TOTAL_PER_GPU",
    /// Graphics engine activity, 0 to 1, per GPU (pods; advanced GPU metrics).
    GpuGraphicsEngineActivityPerGpu = "GPU_GRAPHICS_ENGINE_ACTIVITY_PER_GPU",
    /// SM activity, 0 to 1, per GPU (pods; advanced GPU metrics).
    GpuSmActivityPerGpu = "GPU_SM_ACTIVITY_PER_GPU",
    /// SM occupancy, 0 to 1, per GPU (pods; advanced GPU metrics).
    GpuSmOccupancyPerGpu = "GPU_SM_OCCUPANCY_PER_GPU",
    /// Tensor core activity, 0 to 1, per GPU (pods; advanced GPU metrics).
    GpuTensorActivityPerGpu = "GPU_TENSOR_ACTIVITY_PER_GPU",
    /// FP64 pipe activity, 0 to 1, per GPU (pods; advanced GPU metrics).
    GpuFp64EngineActivityPerGpu = "GPU_FP64_ENGINE_ACTIVITY_PER_GPU",
    /// FP32 pipe activity, 0 to 1, per GPU (pods; advanced GPU metrics).
    GpuFp32EngineActivityPerGpu = "GPU_FP32_ENGINE_ACTIVITY_PER_GPU",
    /// FP16 pipe activity, 0 to 1, per GPU (pods; advanced GPU metrics).
    GpuFp16EngineActivityPerGpu = "GPU_FP16_ENGINE_ACTIVITY_PER_GPU",
    /// Memory bandwidth (DRAM) activity, 0 to 1, per GPU (pods; advanced GPU metrics).
    GpuMemoryBandwidthUtilizationPerGpu = "GPU_MEMORY_BANDWIDTH_UTILIZATION_PER_GPU",
    /// NVLink transmitted bytes per second, per GPU (pods; advanced GPU metrics).
    GpuNvlinkTransmittedBandwidthPerGpu = "GPU_NVLINK_TRANSMITTED_BANDWIDTH_PER_GPU",
    /// NVLink received bytes per second, per GPU (pods; advanced GPU metrics).
    GpuNvlinkReceivedBandwidthPerGpu = "GPU_NVLINK_RECEIVED_BANDWIDTH_PER_GPU",
    /// PCIe transmitted bytes per second, per GPU (pods; advanced GPU metrics).
    GpuPcieTransmittedBandwidthPerGpu = "GPU_PCIE_TRANSMITTED_BANDWIDTH_PER_GPU",
    /// PCIe received bytes per second, per GPU (pods; advanced GPU metrics).
    GpuPcieReceivedBandwidthPerGpu = "GPU_PCIE_RECEIVED_BANDWIDTH_PER_GPU",
    /// GPU memory swapped to host memory, bytes, per GPU (pods).
    GpuSwapMemoryBytesPerGpu = "GPU_SWAP_MEMORY_BYTES_PER_GPU",
}

impl MetricType {
    /// The types the inference endpoints take (`InferenceWorkloadMetricType`,
    /// `InferencePodMetricType`).
    pub const INFERENCE: &'static [Self] = &[Self::Throughput, Self::Latency];

    /// Whether this is a per-GPU type, whose measurements carry a `gpu` label.
    pub fn is_per_gpu(self) -> bool {
        self.as_str().ends_with("_PER_GPU")
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetricType {
    type Err = ObserveError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|metric| metric.as_str() == value)
            .ok_or_else(|| ObserveError::UnknownMetricType {
                value: value.to_owned(),
                valid: Self::ALL
                    .iter()
                    .map(|metric| metric.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl serde::Serialize for MetricType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for MetricType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses the `metricType` query parameter: the Run:ai API sends several types
/// comma-separated in one parameter (`explode: false`), as in `THROUGHPUT,LATENCY`.
///
/// Blanks around names are ignored and a type named twice is returned once, in the order of
/// its first mention. An unknown name is an error that names it and lists the valid ones;
/// a list with no names at all is an [`ObserveError::InvalidQuery`].
///
/// ```
/// use runai_serve::observe::{MetricType, parse_metric_types};
///
/// let types = parse_metric_types("THROUGHPUT,LATENCY")?;
/// assert_eq!(types, [MetricType::Throughput, MetricType::Latency]);
/// assert!(parse_metric_types("THROUGHPUT,LATENCYY").is_err());
/// # Ok::<(), runai_serve::observe::ObserveError>(())
/// ```
pub fn parse_metric_types(list: &str) -> Result<Vec<MetricType>, ObserveError> {
    let mut types = Vec::new();
    for name in list.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        let metric: MetricType = name.parse()?;
        if !types.contains(&metric) {
            types.push(metric);
        }
    }
    if types.is_empty() {
        return Err(ObserveError::InvalidQuery {
            reason: "metricType names no metric type".to_owned(),
        });
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_name_round_trips_through_parse_and_serde() {
        for &metric in MetricType::ALL {
            assert_eq!(metric.as_str().parse::<MetricType>().unwrap(), metric);
            let json = serde_json::to_string(&metric).unwrap();
            assert_eq!(json, format!("\"{metric}\""));
            assert_eq!(serde_json::from_str::<MetricType>(&json).unwrap(), metric);
        }
    }

    #[test]
    fn unknown_names_are_named_and_the_valid_ones_listed() {
        let message = "gpu_utilization".parse::<MetricType>().unwrap_err().to_string();
        assert!(message.contains("`gpu_utilization`"), "{message}");
        assert!(message.contains("GPU_UTILIZATION, "), "{message}");
        assert!(serde_json::from_str::<MetricType>("\"NOPE\"").is_err());
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated() {
        assert_eq!(
            parse_metric_types(" LATENCY , THROUGHPUT,LATENCY,").unwrap(),
            [MetricType::Latency, MetricType::Throughput]
        );
        assert!(matches!(
            parse_metric_types(" , "),
            Err(ObserveError::InvalidQuery { .. })
        ));
    }
}
