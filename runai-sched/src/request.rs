//! What a pod asks for: CPU, memory and GPU, with GPUs counted per device in milli-GPU.

/// One whole GPU device in milli-GPU.
pub const MILLI_PER_GPU: u32 = 1000;

/// The GPU part of a pod's request.
///
/// ```
/// use runai_sched::GpuDemand;
/// assert_eq!(GpuDemand::Share { milli: 500 }.total_milli(), 500);
/// assert_eq!(GpuDemand::Devices { count: 8 }.total_milli(), 8000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GpuDemand {
    /// No GPU.
    None,
    /// A share of one device, 1..=999 milli-GPU.
    Share {
        /// Milli-GPU on one device.
        milli: u32,
    },
    /// Whole devices.
    Devices {
        /// Number of devices.
        count: u32,
    },
}

impl GpuDemand {
    /// The demand from a trace's `num_gpu` and per-device `gpu_milli`: a share when one device
    /// is asked for below 1000, whole devices otherwise.
    ///
    /// ```
    /// use runai_sched::GpuDemand;
    /// assert_eq!(GpuDemand::from_trace(1, 460), GpuDemand::Share { milli: 460 });
    /// assert_eq!(GpuDemand::from_trace(4, 1000), GpuDemand::Devices { count: 4 });
    /// assert_eq!(GpuDemand::from_trace(0, 0), GpuDemand::None);
    /// ```
    #[must_use]
    pub fn from_trace(num_gpu: u32, gpu_milli: u32) -> Self {
        match (num_gpu, gpu_milli) {
            (0, _) | (_, 0) => Self::None,
            (1, milli) if milli < MILLI_PER_GPU => Self::Share { milli },
            (count, _) => Self::Devices { count },
        }
    }

    /// Total milli-GPU asked for.
    #[must_use]
    pub fn total_milli(self) -> u64 {
        match self {
            Self::None => 0,
            Self::Share { milli } => u64::from(milli),
            Self::Devices { count } => u64::from(count) * u64::from(MILLI_PER_GPU),
        }
    }

    /// Milli-GPU asked of each device used, and how many devices.
    #[must_use]
    pub fn per_device(self) -> (u32, u32) {
        match self {
            Self::None => (0, 0),
            Self::Share { milli } => (milli, 1),
            Self::Devices { count } => (MILLI_PER_GPU, count),
        }
    }
}

/// The resources one pod asks for.
///
/// ```
/// use runai_sched::{GpuDemand, PodRequest};
/// let pod = PodRequest::new(8_000, 16_384, GpuDemand::Share { milli: 250 });
/// assert_eq!(pod.gpu.total_milli(), 250);
/// assert!(pod.allows_model("T4"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodRequest {
    /// CPU in millicores.
    pub cpu_milli: u64,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// GPU demand.
    pub gpu: GpuDemand,
    /// GPU models the pod may run on; empty means any.
    pub gpu_models: Vec<String>,
}

impl PodRequest {
    /// A request with no GPU-model constraint.
    #[must_use]
    pub fn new(cpu_milli: u64, memory_mib: u64, gpu: GpuDemand) -> Self {
        Self {
            cpu_milli,
            memory_mib,
            gpu,
            gpu_models: Vec::new(),
        }
    }

    /// The same request restricted to `models`.
    #[must_use]
    pub fn on_models(mut self, models: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.gpu_models = models.into_iter().map(Into::into).collect();
        self
    }

    /// Whether a node with GPU model `model` satisfies the model constraint.
    #[must_use]
    pub fn allows_model(&self, model: &str) -> bool {
        self.gpu_models.is_empty() || self.gpu_models.iter().any(|m| m == model)
    }
}
