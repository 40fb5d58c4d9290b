//! Fragmentation gradient descent (FGD): place each pod where it grows the cluster's GPU
//! fragmentation the least, measured against the tasks the cluster typically runs.
//!
//! A node's fragmentation for one task shape is the free GPU it cannot give that task: all of
//! it when the task does not fit (or needs no GPU), otherwise the leftovers on devices too
//! full for the task. Weighting by how common each shape is gives the node's expected
//! fragmentation; a placement is scored by how little it raises it.

use std::collections::BTreeMap;

use super::{Policy, Scored};
use crate::hash::FxHashMap;
use crate::request::{GpuDemand, MILLI_PER_GPU, PodRequest};
use crate::rng::Rng;
use crate::state::NodeState;

/// The share of tasks, by count, that the typical shapes must cover.
///
/// ```
/// assert_eq!(runai_sched::policy::POPULARITY_THRESHOLD_PCT, 95);
/// ```
pub const POPULARITY_THRESHOLD_PCT: u64 = 95;

/// One typical task shape: CPU, milli-GPU per device, device count and allowed models.
#[derive(Debug, Clone, PartialEq)]
struct TaskShape {
    cpu_milli: u64,
    gpu_milli: u32,
    gpu_count: u32,
    /// Allowed models; empty means any.
    models: Vec<String>,
    /// Share of the workload, summing to 1 over the kept shapes.
    weight: f64,
}

/// The task shapes that make up most of a workload, with their popularity.
///
/// ```
/// use runai_sched::policy::TypicalTasks;
/// use runai_sched::{GpuDemand, PodRequest};
/// let mut workload = vec![PodRequest::new(4_000, 1_024, GpuDemand::Share { milli: 500 }); 19];
/// workload.push(PodRequest::new(8_000, 1_024, GpuDemand::Devices { count: 8 }));
/// let typical = TypicalTasks::from_workload(&workload);
/// assert_eq!(typical.len(), 1); // 19 of 20 tasks (95 %) share one shape
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypicalTasks {
    shapes: Vec<TaskShape>,
}

impl TypicalTasks {
    /// The most common shapes of `workload`, by count, until they cover 95 % of it (the
    /// shape that crosses the line is kept); weights are renormalised over the kept shapes.
    #[must_use]
    pub fn from_workload(workload: &[PodRequest]) -> Self {
        type Key = (u64, u32, u32, String);
        let mut counts: BTreeMap<Key, u64> = BTreeMap::new();
        for pod in workload {
            let (gpu_milli, gpu_count) = pod.gpu.per_device();
            *counts
                .entry((pod.cpu_milli, gpu_milli, gpu_count, pod.gpu_models.join("|")))
                .or_default() += 1;
        }
        let total: u64 = counts.values().sum();
        let mut ranked: Vec<(Key, u64)> = counts.into_iter().collect();
        // Most common first; among equals, the larger shape first (a fixed, documented order).
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        // Weights are real numbers in the reference simulator, so the target is too.
        let target = POPULARITY_THRESHOLD_PCT as f64 * total as f64 / 100.0;
        let mut covered = 0;
        let mut kept = 0;
        while (covered as f64) < target && kept < ranked.len() {
            covered += ranked[kept].1;
            kept += 1;
        }
        let shapes = ranked
            .into_iter()
            .take(kept)
            .map(|((cpu_milli, gpu_milli, gpu_count, models), count)| TaskShape {
                cpu_milli,
                gpu_milli,
                gpu_count,
                models: models
                    .split('|')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
                weight: count as f64 / covered as f64,
            })
            .collect();
        Self { shapes }
    }

    /// Number of shapes kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    /// Whether no shape was kept (an empty workload).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// The expected fragmentation of a node in milli-GPU: for each shape, the free GPU the
    /// node cannot give that shape, weighted by popularity.
    ///
    /// ```
    /// use runai_sched::policy::TypicalTasks;
    /// use runai_sched::{GpuDemand, PodRequest};
    /// let typical = TypicalTasks::from_workload(&[PodRequest::new(1_000, 0, GpuDemand::Devices { count: 1 })]);
    /// // A whole-GPU task cannot use the 400 milli left on a half-used device.
    /// assert_eq!(typical.fragmentation(8_000, &[1000, 400], "T4"), 400.0);
    /// ```
    #[must_use]
    pub fn fragmentation(&self, cpu_free: u64, gpu_free: &[u32], model: &str) -> f64 {
        let idle: u64 = gpu_free.iter().map(|&f| u64::from(f)).sum();
        self.shapes
            .iter()
            .map(|task| {
                let accessible =
                    task.models.is_empty() || (!model.is_empty() && task.models.iter().any(|m| m == model));
                let fits = task.gpu_milli > 0
                    && accessible
                    && cpu_free >= task.cpu_milli
                    && gpu_free.iter().filter(|&&f| f >= task.gpu_milli).count() >= task.gpu_count as usize;
                let fragment = if fits {
                    gpu_free
                        .iter()
                        .filter(|&&f| f < task.gpu_milli)
                        .map(|&f| u64::from(f))
                        .sum()
                } else {
                    idle
                };
                task.weight * fragment as f64
            })
            .sum()
    }
}

/// The fragmentation-aware policy (the default).
///
/// ```
/// use runai_sched::policy::{Fragmentation, Policy, TypicalTasks};
/// use runai_sched::{GpuDemand, NodeState, PodRequest, Rng};
/// let share = PodRequest::new(1_000, 1_024, GpuDemand::Share { milli: 500 });
/// let mut fgd = Fragmentation::new(TypicalTasks::from_workload(&[share.clone()]));
/// let mut node = NodeState::new("n", 32_000, 65_536, 2, "T4");
/// node.gpu_free = vec![1000, 600];
/// // Device 1 would keep a 100-milli sliver no typical task can use; device 0 keeps every
/// // remainder usable.
/// let scored = fgd.score(&node, &share, &mut Rng::new(1));
/// assert_eq!(scored.devices, [0]);
/// assert_eq!(scored.score, 50);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Fragmentation {
    typical: TypicalTasks,
    /// Fragmentation by node shape: nodes repeat, so most evaluations are lookups.
    cache: FxHashMap<NodeKey, f64>,
    models: Vec<String>,
}

/// A node as fragmentation sees it: model, free CPU and the sorted free milli of up to
/// [`NodeKey::MAX_DEVICES`] devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct NodeKey {
    model: u16,
    devices: u8,
    cpu_free: u64,
    free: [u16; Self::MAX_DEVICES],
}

impl NodeKey {
    const MAX_DEVICES: usize = 8;
}

impl Fragmentation {
    /// The policy for a workload with these typical tasks. Scores are the paper's integers,
    /// `100 * sigmoid(drop / 1000)`, so close placements tie and the node order decides.
    /// Comparing drops exactly instead was measured and places less (see
    /// `docs/scheduling.md`).
    #[must_use]
    pub fn new(typical: TypicalTasks) -> Self {
        Self {
            typical,
            cache: FxHashMap::default(),
            models: Vec::new(),
        }
    }

    fn model_id(&mut self, model: &str) -> u16 {
        match self.models.iter().position(|m| m == model) {
            Some(i) => i as u16,
            None => {
                self.models.push(model.to_owned());
                (self.models.len() - 1) as u16
            }
        }
    }

    /// Fragmentation of a node with `cpu_free` and `gpu_free`, memoised by shape.
    fn fragmentation(&mut self, model_id: u16, model: &str, cpu_free: u64, gpu_free: &[u32]) -> f64 {
        if gpu_free.len() > NodeKey::MAX_DEVICES {
            return self.typical.fragmentation(cpu_free, gpu_free, model);
        }
        let mut free = [0u16; NodeKey::MAX_DEVICES];
        for (slot, &f) in free.iter_mut().zip(gpu_free) {
            *slot = f as u16;
        }
        free[..gpu_free.len()].sort_unstable();
        let key = NodeKey {
            model: model_id,
            devices: gpu_free.len() as u8,
            cpu_free,
            free,
        };
        if let Some(&value) = self.cache.get(&key) {
            return value;
        }
        let value = self.typical.fragmentation(cpu_free, gpu_free, model);
        self.cache.insert(key, value);
        value
    }
}

/// `100 * sigmoid(drop / 1000)`, truncated: 50 when fragmentation does not change.
fn score_of(before: f64, after: f64) -> i64 {
    let x = (before - after) / f64::from(MILLI_PER_GPU);
    (100.0 / (1.0 + (-x).exp())) as i64
}

impl Policy for Fragmentation {
    fn name(&self) -> &'static str {
        "fgd"
    }

    fn score(&mut self, node: &NodeState, pod: &PodRequest, _: &mut Rng) -> Scored {
        let model = self.model_id(&node.gpu_model);
        let before = self.fragmentation(model, &node.gpu_model, node.cpu_free, &node.gpu_free);
        let cpu_after = node.cpu_free.saturating_sub(pod.cpu_milli);
        // Nodes have a handful of devices: work on a copy on the stack.
        let mut buffer = [0u32; NodeKey::MAX_DEVICES];
        let mut heap = Vec::new();
        let free: &mut [u32] = if node.gpu_free.len() <= NodeKey::MAX_DEVICES {
            let slice = &mut buffer[..node.gpu_free.len()];
            slice.copy_from_slice(&node.gpu_free);
            slice
        } else {
            heap.extend_from_slice(&node.gpu_free);
            &mut heap
        };
        match pod.gpu {
            GpuDemand::Share { milli } => {
                // Try every device with room; the first with the best score wins. Devices with
                // the same free amount give the same score, so each amount is scored once.
                let mut best: Option<(f64, i64, u8)> = None;
                let mut seen: Option<(u32, f64, i64)> = None;
                for d in 0..free.len() {
                    let room = free[d];
                    if room < milli {
                        continue;
                    }
                    let (drop, score) = match seen {
                        Some((amount, drop, score)) if amount == room => (drop, score),
                        _ => {
                            free[d] -= milli;
                            let after = self.fragmentation(model, &node.gpu_model, cpu_after, free);
                            free[d] += milli;
                            let scored = (before - after, score_of(before, after));
                            seen = Some((room, scored.0, scored.1));
                            scored
                        }
                    };
                    if best.is_none_or(|(_, top, _)| score > top) {
                        best = Some((drop, score, d as u8));
                    }
                }
                best.map_or(
                    Scored {
                        score: 0,
                        devices: Vec::new(),
                    },
                    |(_, score, d)| Scored {
                        score,
                        devices: vec![d],
                    },
                )
            }
            other => {
                let devices = node.first_fit_devices(other);
                let (per_device, _) = other.per_device();
                for &d in &devices {
                    free[usize::from(d)] -= per_device;
                }
                let after = self.fragmentation(model, &node.gpu_model, cpu_after, free);
                Scored {
                    score: score_of(before, after),
                    devices,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(typical: &TypicalTasks) -> Vec<(u64, u32, u32)> {
        typical
            .shapes
            .iter()
            .map(|s| (s.cpu_milli, s.gpu_milli, s.gpu_count))
            .collect()
    }

    #[test]
    fn typical_tasks_cover_95_percent_by_count() {
        let mut workload = Vec::new();
        workload.extend(std::iter::repeat_n(
            PodRequest::new(1_000, 0, GpuDemand::Share { milli: 500 }),
            60,
        ));
        workload.extend(std::iter::repeat_n(
            PodRequest::new(2_000, 0, GpuDemand::Devices { count: 1 }),
            30,
        ));
        workload.extend(std::iter::repeat_n(PodRequest::new(3_000, 0, GpuDemand::None), 6));
        workload.extend(std::iter::repeat_n(
            PodRequest::new(4_000, 0, GpuDemand::Devices { count: 8 }),
            4,
        ));
        let typical = TypicalTasks::from_workload(&workload);
        // 60 + 30 = 90 < 95, so the CPU-only shape that crosses the line is kept too.
        assert_eq!(
            shapes(&typical),
            [(1_000, 500, 1), (2_000, 1000, 1), (3_000, 0, 0)]
        );
        let weights: Vec<f64> = typical.shapes.iter().map(|s| s.weight).collect();
        assert_eq!(weights, [60.0 / 96.0, 30.0 / 96.0, 6.0 / 96.0]);
    }

    #[test]
    fn fragmentation_by_case() {
        let mut workload = vec![PodRequest::new(4_000, 0, GpuDemand::Share { milli: 600 }); 10];
        workload.extend(vec![PodRequest::new(4_000, 0, GpuDemand::None); 10]);
        let typical = TypicalTasks::from_workload(&workload);
        // The share fits on the idle device: only the 300 left on device 1 is a fragment for
        // it; the CPU-only task counts all 1300 idle milli.
        assert_eq!(
            typical.fragmentation(8_000, &[1000, 300], ""),
            0.5 * 300.0 + 0.5 * 1300.0
        );
        // Without CPU nothing fits: everything idle is a fragment for both.
        assert_eq!(typical.fragmentation(1_000, &[1000, 300], ""), 1300.0);
        // A task restricted to another model cannot use the node at all.
        let typical = TypicalTasks::from_workload(&[
            PodRequest::new(0, 0, GpuDemand::Share { milli: 100 }).on_models(["V100"])
        ]);
        assert_eq!(typical.fragmentation(8_000, &[1000], "T4"), 1000.0);
        assert_eq!(typical.fragmentation(8_000, &[1000], "V100"), 0.0);
    }

    #[test]
    fn scores_center_on_fifty() {
        assert_eq!(score_of(100.0, 100.0), 50);
        assert!(score_of(2_000.0, 0.0) > 50);
        assert!(score_of(0.0, 2_000.0) < 50);
    }
}
