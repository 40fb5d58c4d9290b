//! GPU use of a replica's processes through NVML (the `nvml` feature).

#[cfg(feature = "nvml")]
use std::collections::HashMap;

/// The GPU use of a set of processes.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuUsage {
    /// Indices of the GPUs the processes run on.
    pub devices: Vec<u32>,
    /// SM utilisation in percent, averaged over those GPUs (`GPU_UTILIZATION`); `None` when
    /// the GPUs do not report per-process utilisation.
    pub utilization_percent: Option<f64>,
    /// GPU memory the processes hold, bytes (`GPU_MEMORY_USAGE_BYTES`); `None` when the
    /// driver does not say (as under Windows WDDM).
    pub memory_bytes: Option<u64>,
}

/// Samples the GPU use of processes through NVML, the library behind `nvidia-smi`.
///
/// Built with the `nvml` feature, the sampler loads `libnvidia-ml` when it is created and
/// asks every GPU which of the given processes run on it, how much memory they hold and how
/// busy they keep its SMs. A machine without the library, the driver or a GPU, or a build
/// without the feature, gets a sampler that reports nothing: GPU metrics are then absent,
/// never an error.
///
/// ```
/// use runai_serve::observe::GpuSampler;
///
/// let mut gpus = GpuSampler::new();
/// // On a machine without an NVIDIA GPU, or without the `nvml` feature, nothing is reported.
/// if !gpus.is_available() {
///     assert_eq!(gpus.sample(&[std::process::id()]), None);
/// }
/// ```
#[derive(Debug)]
pub struct GpuSampler {
    #[cfg(feature = "nvml")]
    nvml: Option<nvml_wrapper::Nvml>,
    /// Per GPU, the newest utilisation sample seen, so each call reads only newer ones.
    #[cfg(feature = "nvml")]
    last_seen: HashMap<u32, u64>,
}

impl Default for GpuSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl GpuSampler {
    /// Loads NVML when it can; otherwise a sampler that reports nothing.
    pub fn new() -> Self {
        Self {
            #[cfg(feature = "nvml")]
            nvml: nvml_wrapper::Nvml::init().ok(),
            #[cfg(feature = "nvml")]
            last_seen: HashMap::new(),
        }
    }

    /// Whether NVML was loaded, so samples can report GPU use.
    pub fn is_available(&self) -> bool {
        #[cfg(feature = "nvml")]
        return self.nvml.is_some();
        #[cfg(not(feature = "nvml"))]
        false
    }

    /// The GPU use of `pids` (a replica's process tree), or `None` when none of them is on a
    /// GPU or GPUs cannot be read here.
    pub fn sample(&mut self, pids: &[u32]) -> Option<GpuUsage> {
        #[cfg(feature = "nvml")]
        return self.sample_nvml(pids);
        #[cfg(not(feature = "nvml"))]
        {
            let _ = pids;
            None
        }
    }

    #[cfg(feature = "nvml")]
    fn sample_nvml(&mut self, pids: &[u32]) -> Option<GpuUsage> {
        let nvml = self.nvml.as_ref()?;
        let count = nvml.device_count().ok()?;
        let mut devices = Vec::new();
        let (mut memory, mut memory_known) = (0_u64, true);
        let (mut utilization, mut utilization_known) = (0.0_f64, true);
        for index in 0..count {
            // A GPU that fails to answer (fallen off the bus, or MIG-partitioned in a way
            // the call does not support) is left out rather than failing the sample.
            let Ok(device) = nvml.device_by_index(index) else {
                continue;
            };
            let mut processes = device.running_compute_processes().unwrap_or_default();
            processes.extend(device.running_graphics_processes().unwrap_or_default());
            let mut ours: Vec<_> = processes.iter().filter(|p| pids.contains(&p.pid)).collect();
            // A process using both graphics and compute is listed twice with the same memory.
            ours.sort_by_key(|p| p.pid);
            ours.dedup_by_key(|p| p.pid);
            if ours.is_empty() {
                continue;
            }
            devices.push(index);
            for process in &ours {
                match process.used_gpu_memory {
                    nvml_wrapper::enums::device::UsedGpuMemory::Used(bytes) => {
                        memory = memory.saturating_add(bytes);
                    }
                    nvml_wrapper::enums::device::UsedGpuMemory::Unavailable => {
                        memory_known = false;
                    }
                }
            }
            let last_seen = self.last_seen.get(&index).copied();
            match device.process_utilization_stats(last_seen) {
                Ok(samples) => {
                    if let Some(newest) = samples.iter().map(|s| s.timestamp).max() {
                        self.last_seen.insert(index, newest);
                    }
                    // NVML lists only processes that were busy in the period; one of ours
                    // that is absent used 0 %. Several samples of one process are averaged.
                    let mut per_pid: HashMap<u32, (f64, u32)> = HashMap::new();
                    for sample in samples.iter().filter(|s| pids.contains(&s.pid)) {
                        let entry = per_pid.entry(sample.pid).or_default();
                        entry.0 += f64::from(sample.sm_util);
                        entry.1 += 1;
                    }
                    let busy: f64 = per_pid.values().map(|(sum, n)| sum / f64::from(*n)).sum();
                    utilization += busy.min(100.0);
                }
                // `NotFound`: no process had a sample in the period, so none was busy.
                Err(nvml_wrapper::error::NvmlError::NotFound) => {}
                Err(_) => utilization_known = false,
            }
        }
        if devices.is_empty() {
            return None;
        }
        Some(GpuUsage {
            utilization_percent: utilization_known.then(|| utilization / devices.len() as f64),
            memory_bytes: memory_known.then_some(memory),
            devices,
        })
    }
}
