//! Admission and placement: which replicas may run, decided by `runai-sched`'s engine over
//! the cluster the platform describes (nodes, GPUs, topology, projects with quotas).
//!
//! Each replica of an inference revision is one gang of one pod, as KAI schedules a Knative
//! revision's pods; a distributed replica is one gang of its leader and workers, all or
//! nothing. Every pass asks for the replicas every workload wants; the engine keeps what is
//! running, places what fits in priority and fair-share order, may evict preemptible
//! replicas of lower priority (or of projects over their fair share) to make room, and says
//! why the rest waits. The loop then runs only the admitted replicas.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use runai_core::cluster::{Cluster, Project};
use runai_core::spec::{Compute, Preemptibility, PriorityClass};
use runai_core::{DistributedInferenceSpec, InferenceSpec, NimServiceSpec};
use runai_sched::engine::{Engine, PodGroup};
use runai_sched::{GpuDemand, MILLI_PER_GPU, PodRequest, Rng, policy};

use crate::store::{WorkloadKind, WorkloadRecord};

/// A pod's CPU when the spec asks for none (Kubernetes' own default request is zero; a
/// small floor keeps a node's CPU from being promised to unbounded replicas).
const DEFAULT_CPU_MILLI: u64 = 100;
/// A pod's memory when the spec asks for none, in MiB.
const DEFAULT_MEMORY_MIB: u64 = 128;

/// What one revision of a workload asks the scheduler for.
#[derive(Debug, Clone)]
pub(crate) struct Demand {
    /// The workload's id.
    pub(crate) workload: String,
    /// The revision's name.
    pub(crate) revision: String,
    /// The project (queue) it is charged to, or why it has none.
    pub(crate) queue: Result<String, String>,
    /// One replica's gang: its pods' requests, leader first.
    pub(crate) pods: Vec<PodRequest>,
    /// Scheduling priority and whether running replicas may be evicted.
    pub(crate) priority: i32,
    pub(crate) preemptible: bool,
    /// Node pools in order of preference; empty means the project's defaults.
    pub(crate) node_pools: Vec<String>,
    /// Replicas wanted.
    pub(crate) replicas: u32,
    /// Submission order, for first-come-first-served among equals.
    pub(crate) created: u64,
}

/// What the scheduler granted one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Admitted {
    /// Replicas that may run.
    pub(crate) replicas: u32,
    /// Why the others wait, when some do.
    pub(crate) waiting: Option<String>,
}

/// A workload's replica evicted for another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evicted {
    /// The evicted replica's workload id.
    pub(crate) workload: String,
    /// The workload id that needed the room.
    pub(crate) for_workload: String,
    /// Why, in words.
    pub(crate) reason: String,
}

/// The decisions of one admission pass.
#[derive(Debug, Default)]
pub(crate) struct Decisions {
    /// Keyed by (workload id, revision name).
    pub(crate) admitted: HashMap<(String, String), Admitted>,
    pub(crate) evicted: Vec<Evicted>,
}

/// The scheduler state kept between passes.
pub(crate) struct Admission {
    cluster: Cluster,
    engine: Engine,
    rng: Rng,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("nodes", &self.cluster.nodes.len())
            .field("projects", &self.cluster.projects.len())
            .finish_non_exhaustive()
    }
}

/// A replica's group name: `{workload}/{revision}/{index}`.
fn group_name(workload: &str, revision: &str, index: u32) -> String {
    format!("{workload}/{revision}/{index}")
}

/// The workload id of a group named by [`group_name`].
fn workload_of(group: &str) -> &str {
    group.split('/').next().unwrap_or(group)
}

impl Admission {
    /// Scheduling over `cluster` with the fragmentation-aware default policy.
    pub(crate) fn new(cluster: Cluster) -> Self {
        // Fragmentation-aware placement (the engine's default) over the usual task mix.
        let placement = Box::new(policy::Fragmentation::new(policy::TypicalTasks::from_workload(
            &[],
        )));
        let engine = Engine::from_cluster(&cluster, placement);
        Self {
            cluster,
            engine,
            rng: Rng::new(0x5EED),
        }
    }

    /// The cluster scheduled onto.
    pub(crate) fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The project a workload is charged to: by id, else by name.
    pub(crate) fn project(&self, project: &str) -> Option<&Project> {
        self.cluster
            .projects
            .iter()
            .find(|p| p.id.as_str() == project || p.name == project)
    }

    /// One pass: keeps running what is still wanted, frees the rest, places what fits.
    pub(crate) fn admit(&mut self, demands: &[Demand]) -> Decisions {
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        let mut pending = Vec::new();
        let running: BTreeSet<String> = self.engine.running().map(str::to_owned).collect();
        let mut decisions = Decisions::default();
        for demand in demands {
            let Ok(queue) = &demand.queue else { continue };
            for index in 0..demand.replicas {
                let name = group_name(&demand.workload, &demand.revision, index);
                if !running.contains(&name) {
                    pending.push(group(demand, queue, &name));
                }
                wanted.insert(name);
            }
        }
        for name in running.difference(&wanted) {
            self.engine.release(name);
        }
        let outcome = self.engine.schedule(pending, &mut self.rng);
        let now_running: BTreeSet<&str> = self.engine.running().collect();
        let reasons: BTreeMap<&str, String> = outcome
            .pending
            .iter()
            .map(|p| (p.group.as_str(), p.reason.to_string()))
            .collect();
        for demand in demands {
            let key = (demand.workload.clone(), demand.revision.clone());
            let admitted = match &demand.queue {
                Err(why) => Admitted {
                    replicas: 0,
                    waiting: (demand.replicas > 0).then(|| why.clone()),
                },
                Ok(_) => {
                    let names: Vec<String> = (0..demand.replicas)
                        .map(|i| group_name(&demand.workload, &demand.revision, i))
                        .collect();
                    let replicas = names.iter().filter(|n| now_running.contains(n.as_str())).count();
                    let waiting = names
                        .iter()
                        .find_map(|n| reasons.get(n.as_str()).cloned())
                        .or_else(|| {
                            (replicas < names.len()).then(|| "waiting for room in the cluster".to_owned())
                        });
                    Admitted {
                        replicas: u32::try_from(replicas).unwrap_or(u32::MAX),
                        waiting,
                    }
                }
            };
            decisions.admitted.insert(key, admitted);
        }
        for eviction in &outcome.evictions {
            decisions.evicted.push(Evicted {
                workload: workload_of(&eviction.group).to_owned(),
                for_workload: workload_of(&eviction.for_group).to_owned(),
                reason: eviction.cause.to_string(),
            });
        }
        decisions
    }

    /// What `record`'s revision asks for, `replicas` of it.
    pub(crate) fn demand(
        &self,
        record: &WorkloadRecord,
        revision: &str,
        spec: &serde_json::Value,
        replicas: u32,
        created: u64,
    ) -> Demand {
        let queue = self.project(&record.project_id).map(|p| p.name.clone()).ok_or_else(|| {
            format!(
                "project {:?} is not in the platform's cluster description; add it under `cluster.projects` in the config",
                record.project_id
            )
        });
        let mut demand = Demand {
            workload: record.id.clone(),
            revision: revision.to_owned(),
            queue,
            pods: vec![self.pod_request(None)],
            priority: PriorityClass::VeryHigh.value().unwrap_or(150),
            preemptible: false,
            node_pools: Vec::new(),
            replicas,
            created,
        };
        let scheduling = |class: Option<&PriorityClass>, preemptibility: Option<Preemptibility>| {
            let class = class.cloned().unwrap_or(PriorityClass::VeryHigh);
            let preemptible = preemptibility
                .or_else(|| class.default_preemptibility())
                .is_some_and(|p| p == Preemptibility::Preemptible);
            (class.value().unwrap_or(150), preemptible)
        };
        match record.kind {
            WorkloadKind::Distributed => {
                if let Ok(spec) = serde_json::from_value::<DistributedInferenceSpec>(spec.clone()) {
                    let workers = spec.workers.map_or(0, |w| usize::try_from(w).unwrap_or(0));
                    let leader = self.pod_request(spec.leader.as_ref().and_then(|l| l.compute.as_ref()));
                    let worker = self.pod_request(spec.worker.as_ref().and_then(|w| w.compute.as_ref()));
                    demand.pods = std::iter::once(leader)
                        .chain(std::iter::repeat_n(worker, workers))
                        .collect();
                    (demand.priority, demand.preemptible) =
                        scheduling(spec.priority_class.as_ref(), spec.preemptibility);
                    demand.node_pools = spec.node_pools.unwrap_or_default();
                }
            }
            WorkloadKind::Nim => {
                if let Ok(spec) = serde_json::from_value::<NimServiceSpec>(spec.clone()) {
                    // A NIM's compute has the same fields as an inference's.
                    let compute = spec
                        .compute
                        .as_ref()
                        .and_then(|c| serde_json::to_value(c).ok())
                        .and_then(|c| serde_json::from_value::<Compute>(c).ok());
                    demand.pods = vec![self.pod_request(compute.as_ref())];
                    (demand.priority, demand.preemptible) =
                        scheduling(spec.priority_class.as_ref(), spec.preemptibility);
                    demand.node_pools = spec.node_pools.unwrap_or_default();
                }
            }
            _ => {
                if let Ok(spec) = serde_json::from_value::<InferenceSpec>(spec.clone()) {
                    demand.pods = vec![self.pod_request(spec.compute.as_ref())];
                    (demand.priority, demand.preemptible) =
                        scheduling(spec.priority_class.as_ref(), spec.preemptibility);
                    demand.node_pools = spec.node_pools.unwrap_or_default();
                }
            }
        }
        demand
    }

    /// One pod's request from a spec's `compute`.
    fn pod_request(&self, compute: Option<&Compute>) -> PodRequest {
        let Some(compute) = compute else {
            return PodRequest::new(DEFAULT_CPU_MILLI, DEFAULT_MEMORY_MIB, GpuDemand::None);
        };
        let cpu = compute
            .cpu_core_request
            .map_or(DEFAULT_CPU_MILLI, |cores| (cores * 1000.0).ceil().max(0.0) as u64);
        let memory = compute
            .cpu_memory_request
            .as_ref()
            .and_then(runai_core::Quantity::value)
            .map_or(DEFAULT_MEMORY_MIB, |bytes| {
                (bytes / 1_048_576.0).ceil().max(0.0) as u64
            });
        let devices = compute.gpu_devices_request.unwrap_or(0).max(0);
        let portion = compute.gpu_portion_request.unwrap_or(0.0);
        let gpu = if portion > 0.0 && portion < 1.0 {
            // A fraction of one device per requested device; the engine places shares of one.
            let milli = (portion * f64::from(MILLI_PER_GPU)).round() as u32;
            GpuDemand::Share {
                milli: milli.clamp(1, MILLI_PER_GPU - 1),
            }
        } else if let Some(bytes) = compute
            .gpu_memory_request
            .as_ref()
            .and_then(runai_core::Quantity::value)
            .filter(|_| devices <= 1)
        {
            // GPU memory becomes the share of the cluster's largest device it is.
            self.memory_share(bytes)
        } else if devices > 0 {
            GpuDemand::Devices {
                count: u32::try_from(devices).unwrap_or(0),
            }
        } else {
            GpuDemand::None
        };
        PodRequest::new(cpu, memory, gpu)
    }

    /// The share of the largest device in the cluster that `bytes` of GPU memory is.
    fn memory_share(&self, bytes: f64) -> GpuDemand {
        let largest_mib = self
            .cluster
            .nodes
            .iter()
            .filter_map(|n| n.gpu_memory_mib)
            .max()
            .unwrap_or(0);
        if largest_mib == 0 {
            return GpuDemand::Devices { count: 1 };
        }
        let milli = (bytes / 1_048_576.0 / largest_mib as f64 * f64::from(MILLI_PER_GPU)).ceil() as u32;
        if milli >= MILLI_PER_GPU {
            GpuDemand::Devices { count: 1 }
        } else {
            GpuDemand::Share { milli: milli.max(1) }
        }
    }
}

/// The gang for one replica of `demand`.
fn group(demand: &Demand, queue: &str, name: &str) -> PodGroup {
    let mut group = PodGroup::uniform(name, queue, 0, PodRequest::new(0, 0, GpuDemand::None))
        .with_priority(demand.priority, demand.preemptible)
        .created_at(demand.created);
    group.pods = demand
        .pods
        .iter()
        .enumerate()
        .map(|(i, request)| runai_sched::engine::GroupPod::new(format!("{name}/{i}"), request.clone()))
        .collect();
    group.min_member = group.pods.len();
    if !demand.node_pools.is_empty() {
        group = group.in_pools(demand.node_pools.iter().cloned());
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;
    use runai_core::cluster::{Node, NodePoolQuota, ResourceQuota};

    fn cluster(gpus: u32, deserved: f64) -> Cluster {
        Cluster {
            nodes: vec![
                Node::new("node-0")
                    .with_gpus(gpus, "H100", 81_559)
                    .with_cpu_memory(64_000, 512 << 30),
            ],
            projects: vec![
                Project::new("1", "team-a")
                    .with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(deserved))),
            ],
            ..Cluster::default()
        }
    }

    fn demand(workload: &str, gpus: u8, replicas: u32, priority: i32, preemptible: bool) -> Demand {
        Demand {
            workload: workload.into(),
            revision: "rev-1".into(),
            queue: Ok("team-a".into()),
            pods: vec![PodRequest::new(
                100,
                128,
                GpuDemand::Devices {
                    count: u32::from(gpus),
                },
            )],
            priority,
            preemptible,
            node_pools: Vec::new(),
            replicas,
            created: 0,
        }
    }

    #[test]
    fn admits_what_fits_and_says_why_the_rest_waits() {
        let mut admission = Admission::new(cluster(2, 2.0));
        let decisions = admission.admit(&[demand("w1", 1, 3, 150, false)]);
        let admitted = &decisions.admitted[&("w1".to_owned(), "rev-1".to_owned())];
        assert_eq!(admitted.replicas, 2);
        let why = admitted.waiting.as_deref().unwrap();
        assert!(why.contains("quota") || why.contains("GPU"), "{why}");
        // Asking for fewer frees the rest; the next pass keeps the admitted ones.
        let decisions = admission.admit(&[demand("w1", 1, 1, 150, false)]);
        assert_eq!(
            decisions.admitted[&("w1".to_owned(), "rev-1".to_owned())].replicas,
            1
        );
    }

    #[test]
    fn higher_priority_preempts_a_preemptible_replica() {
        let mut admission = Admission::new(cluster(1, 1.0));
        let low = demand("low", 1, 1, 40, true);
        assert_eq!(admission.admit(std::slice::from_ref(&low)).admitted.len(), 1);
        let decisions = admission.admit(&[low, demand("high", 1, 1, 150, false)]);
        assert_eq!(
            decisions.admitted[&("high".to_owned(), "rev-1".to_owned())].replicas,
            1
        );
        assert_eq!(
            decisions.admitted[&("low".to_owned(), "rev-1".to_owned())].replicas,
            0
        );
        assert_eq!(decisions.evicted.len(), 1);
        assert_eq!(decisions.evicted[0].workload, "low");
        assert_eq!(decisions.evicted[0].for_workload, "high");
    }

    #[test]
    fn demands_read_each_kind_of_spec() {
        let admission = Admission::new(cluster(8, 8.0));
        let record = |kind| WorkloadRecord {
            id: "w".into(),
            project_id: "1".into(),
            name: "w".into(),
            kind,
            spec: serde_json::Value::Null,
            desired_phase: "Running".into(),
            phase: "Creating".into(),
            phase_message: None,
            generation: 1,
            created_by: "admin".into(),
            created_at: String::new(),
            updated_at: String::new(),
            deleted_at: None,
        };
        let nim =
            serde_json::json!({"image": "nim", "compute": {"gpuDevicesRequest": 2}, "priorityClass": "low"});
        let demand = admission.demand(&record(WorkloadKind::Nim), "rev-1", &nim, 1, 0);
        assert_eq!(demand.pods[0].gpu, GpuDemand::Devices { count: 2 });
        assert!(demand.preemptible, "low priority is preemptible by default");
        assert_eq!(demand.queue.as_deref(), Ok("team-a"));
        let inference =
            serde_json::json!({"image": "x", "compute": {"gpuDevicesRequest": 1, "gpuPortionRequest": 0.25}});
        let demand = admission.demand(&record(WorkloadKind::Inference), "rev-1", &inference, 1, 0);
        assert_eq!(demand.pods[0].gpu, GpuDemand::Share { milli: 250 });
        assert!(
            !demand.preemptible,
            "inference is very-high and non-preemptible by default"
        );
        let distributed = serde_json::json!({"workers": 2, "leader": {"image": "x", "compute": {"gpuDevicesRequest": 8}},
            "worker": {"image": "x", "compute": {"gpuDevicesRequest": 8}}});
        let demand = admission.demand(&record(WorkloadKind::Distributed), "rev-1", &distributed, 1, 0);
        assert_eq!(demand.pods.len(), 3, "a leader and two workers in one gang");
    }

    #[test]
    fn an_unknown_project_waits_with_the_reason() {
        let mut admission = Admission::new(cluster(1, 1.0));
        let mut lost = demand("w", 1, 1, 150, false);
        lost.queue = Err("project \"9\" is not in the platform's cluster description".into());
        let decisions = admission.admit(&[lost]);
        let admitted = &decisions.admitted[&("w".to_owned(), "rev-1".to_owned())];
        assert_eq!(admitted.replicas, 0);
        assert!(admitted.waiting.as_deref().unwrap().contains("\"9\""));
    }
}
