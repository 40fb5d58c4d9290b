//! The evaluation protocol of the FGD paper (Weng et al., USENIX ATC '23) on the Alibaba GPU
//! v2023 trace: shuffle the pods with a seed, resample them until the GPU demand reaches
//! 130 % of the cluster's GPUs, schedule them one at a time with no departures, and read the
//! GPU allocation ratio against the GPU demand that has arrived.

use crate::error::SchedError;
use crate::place::{NodeOrder, place_pod};
use crate::policy::by_name;
use crate::request::PodRequest;
use crate::rng::Rng;
use crate::state::{ClusterState, NodeState};

/// Arrival points reported, in percent of cluster GPU capacity: 0 to 130.
pub const ARRIVAL_POINTS: usize = 131;

/// The protocol's parameters.
///
/// ```
/// use runai_sched::sim::FgdProtocol;
/// let protocol = FgdProtocol::default();
/// assert_eq!(protocol.inflation, 1.3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FgdProtocol {
    /// GPU demand to generate, as a multiple of cluster GPU capacity.
    pub inflation: f64,
}

impl Default for FgdProtocol {
    fn default() -> Self {
        Self { inflation: 1.3 }
    }
}

/// One seed's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// GPU allocation ratio (%) at each arrival point (index = percent of capacity arrived);
    /// `None` where no pod arrived near that point.
    pub allocation_pct: Vec<Option<f64>>,
    /// Pods that found no node.
    pub failed_pods: usize,
    /// Pods scheduled in total (after inflation).
    pub pods: usize,
}

impl SeedRun {
    /// Unallocated GPU (%) when `arrived` percent of capacity has arrived.
    #[must_use]
    pub fn unallocated_pct(&self, arrived: usize) -> Option<f64> {
        self.allocation_pct
            .get(arrived)
            .copied()
            .flatten()
            .map(|a| 100.0 - a)
    }
}

/// A policy's outcome over several seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyReport {
    /// The policy name.
    pub policy: String,
    /// One run per seed, in the order given.
    pub runs: Vec<SeedRun>,
}

impl PolicyReport {
    /// Mean over seeds of the unallocated GPU (%) at `arrived` percent.
    #[must_use]
    pub fn mean_unallocated_pct(&self, arrived: usize) -> Option<f64> {
        mean(self.runs.iter().map(|r| r.unallocated_pct(arrived)))
    }

    /// Mean over seeds of the allocation ratio (%) at `arrived` percent.
    #[must_use]
    pub fn mean_allocation_pct(&self, arrived: usize) -> Option<f64> {
        mean(
            self.runs
                .iter()
                .map(|r| r.allocation_pct.get(arrived).copied().flatten()),
        )
    }
}

fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let values: Option<Vec<f64>> = values.collect();
    let values = values?;
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

impl FgdProtocol {
    /// Runs `policy` on the cluster `nodes` with the workload `pods` for every seed.
    ///
    /// ```
    /// use runai_sched::sim::{FgdProtocol, parse_nodes, parse_pods};
    /// let nodes = parse_nodes("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,8,G2\nn1,64000,262144,8,G2\n").unwrap();
    /// let pods = parse_pods("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,1024,1,100\np1,1000,1024,1,200\n").unwrap();
    /// let report = FgdProtocol::default().run(&nodes, &pods, "fgd", &[42, 43]).unwrap();
    /// assert_eq!(report.runs.len(), 2);
    /// assert!(report.mean_allocation_pct(100).unwrap() > 90.0);
    /// ```
    ///
    /// # Errors
    /// [`SchedError::UnknownPolicy`] for a policy name that does not exist.
    pub fn run(
        &self,
        nodes: &[NodeState],
        pods: &[PodRequest],
        policy: &str,
        seeds: &[u64],
    ) -> Result<PolicyReport, SchedError> {
        let runs = seeds
            .iter()
            .map(|&seed| self.run_seed(nodes, pods, policy, seed))
            .collect::<Result<_, _>>()?;
        Ok(PolicyReport {
            policy: policy.to_owned(),
            runs,
        })
    }

    /// Runs one seed. The seed fixes, in this order, the pod shuffle, the resampling and the
    /// node order that breaks ties, so every policy sees the same pod sequence.
    ///
    /// # Errors
    /// [`SchedError::UnknownPolicy`] for a policy name that does not exist.
    pub fn run_seed(
        &self,
        nodes: &[NodeState],
        pods: &[PodRequest],
        policy: &str,
        seed: u64,
    ) -> Result<SeedRun, SchedError> {
        // Typical tasks come from the trace as published, before shuffling and inflation.
        let mut policy = by_name(policy, pods)?;
        let mut rng = Rng::new(seed);
        let mut sequence: Vec<&PodRequest> = pods.iter().collect();
        rng.shuffle(&mut sequence);
        let mut state = ClusterState::new(nodes.to_vec());
        let capacity = state.total_gpu_milli();
        self.inflate(&mut sequence, pods, capacity, &mut rng);

        // Ties go to a node order drawn once, over nodes sorted by name.
        let mut by_name: Vec<usize> = (0..nodes.len()).collect();
        by_name.sort_by(|&a, &b| nodes[a].name.cmp(&nodes[b].name));
        let perm = NodeOrder::shuffled(nodes.len(), &mut rng);
        let mut rank = vec![0; nodes.len()];
        for (position, &node) in by_name.iter().enumerate() {
            rank[node] = perm.rank(crate::state::NodeId(position as u32));
        }
        let order = NodeOrder::from_ranks(rank);

        let mut arrived = 0u64;
        let mut failed = 0;
        let mut buckets = vec![(0.0f64, 0u32); ARRIVAL_POINTS];
        for pod in &sequence {
            arrived += pod.gpu.total_milli();
            if place_pod(&mut state, pod, policy.as_mut(), &order, &mut rng).is_none() {
                failed += 1;
            }
            let point = round_half_even(arrived as f64 * 100.0 / capacity as f64);
            if let Some(bucket) = usize::try_from(point as i64)
                .ok()
                .and_then(|p| buckets.get_mut(p))
            {
                bucket.0 += round2(state.used_gpu_milli() as f64 * 100.0 / capacity as f64);
                bucket.1 += 1;
            }
        }
        let allocation_pct = (0..ARRIVAL_POINTS)
            .map(|x| {
                let (sum, count) = if buckets[x].1 > 0 {
                    buckets[x]
                } else {
                    // No pod landed on this point: use the neighbouring points.
                    let near = x.saturating_sub(1)..=(x + 1).min(ARRIVAL_POINTS - 1);
                    buckets[near]
                        .iter()
                        .fold((0.0, 0), |(s, c), (bs, bc)| (s + bs, c + bc))
                };
                (count > 0).then(|| round2(sum / f64::from(count)))
            })
            .collect();
        Ok(SeedRun {
            seed,
            allocation_pct,
            failed_pods: failed,
            pods: sequence.len(),
        })
    }

    /// Appends pods drawn uniformly with replacement from the trace until the next one would
    /// push GPU demand past `inflation` times capacity. The check uses the pod's per-device
    /// share, as the reference simulator does.
    fn inflate<'a>(
        &self,
        sequence: &mut Vec<&'a PodRequest>,
        pods: &'a [PodRequest],
        capacity: u64,
        rng: &mut Rng,
    ) {
        if pods.is_empty() {
            return;
        }
        let target = self.inflation * capacity as f64;
        let mut demand: u64 = sequence.iter().map(|p| p.gpu.total_milli()).sum();
        loop {
            let pod = &pods[rng.below(pods.len() as u64) as usize];
            if (demand + u64::from(pod.gpu.per_device().0)) as f64 > target {
                break;
            }
            demand += pod.gpu.total_milli();
            sequence.push(pod);
        }
    }
}

/// Rounds to the nearest integer, halves to even (Python's `round`).
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::GpuDemand;

    #[test]
    fn halves_round_to_even() {
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(2.4), 2.0);
        assert_eq!(round_half_even(2.6), 3.0);
    }

    #[test]
    fn inflation_reaches_the_target_without_passing_it() {
        let pods = vec![PodRequest::new(1_000, 1_024, GpuDemand::Share { milli: 500 })];
        let protocol = FgdProtocol::default();
        let mut sequence: Vec<&PodRequest> = pods.iter().collect();
        protocol.inflate(&mut sequence, &pods, 10_000, &mut Rng::new(1));
        let demand: u64 = sequence.iter().map(|p| p.gpu.total_milli()).sum();
        assert_eq!(demand, 13_000);
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let nodes: Vec<NodeState> = (0..6)
            .map(|i| NodeState::new(format!("n{i}"), 32_000, 65_536, 4, "T4"))
            .collect();
        let pods: Vec<PodRequest> = (0..20)
            .map(|i| {
                PodRequest::new(
                    2_000,
                    2_048,
                    GpuDemand::from_trace(1 + i % 2, if i % 3 == 0 { 300 } else { 1000 }),
                )
            })
            .collect();
        let protocol = FgdProtocol::default();
        for policy in crate::policy::POLICY_NAMES {
            let a = protocol.run_seed(&nodes, &pods, policy, 7).unwrap();
            let b = protocol.run_seed(&nodes, &pods, policy, 7).unwrap();
            assert_eq!(a, b, "{policy}");
            assert!(a.allocation_pct[130].is_some());
        }
    }
}
