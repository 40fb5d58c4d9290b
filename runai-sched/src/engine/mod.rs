//! The batch scheduler: pod groups in, bindings, evictions and pending reasons out.
//!
//! One [`Engine::schedule`] call is one scheduling cycle over a snapshot. It orders the
//! pending groups (queues furthest below their fair share first, then priority, then age),
//! checks quotas, and places each gang all or nothing: inside the tightest domain of its
//! required topology level, preferring one domain of its preferred level and widening level
//! by level, inside one Multi-Node NVLink clique when the nodes have cliques. A gang that
//! finds no room may evict preemptible gangs whole: lower priority ones of its own queue
//! (preempt), or those of queues above their fair share (reclaim), fewest first.

mod affinity;
mod group;
mod outcome;
mod placement;
mod preempt;
mod queue;
mod topology;

pub use affinity::Taint;
pub use group::{GroupPod, PodGroup, TopologyConstraint};
pub use outcome::{Binding, Eviction, EvictionCause, Outcome, Pending, PendingReason};
pub use queue::{PoolQuota, Queue, QueueDemand, fair_shares};

use std::collections::BTreeMap;

use crate::place::NodeOrder;
use crate::policy::Policy;
use crate::request::MILLI_PER_GPU;
use crate::rng::Rng;
use crate::state::{Allocation, ClusterState, NodeId};
use topology::TopologyIndex;

/// Where each placed pod of a gang went, by index into the group's pods.
type Placement = Vec<(usize, Allocation)>;

/// A placement that needs evictions first.
type PlacementWithEvictions = (Placement, Vec<Eviction>);

/// A gang that is running: its spec and where its pods are.
#[derive(Debug, Clone)]
struct Running {
    group: PodGroup,
    allocations: Vec<(usize, Allocation)>,
    /// The node pool its pods run in (a gang is placed within one pool).
    pool: Option<String>,
}

impl Running {
    fn gpus(&self) -> f64 {
        self.allocations
            .iter()
            .map(|(_, a)| a.gpu_milli() as f64)
            .sum::<f64>()
            / f64::from(MILLI_PER_GPU)
    }
}

/// The scheduling engine: cluster state, queues, topology levels, running gangs and a
/// placement policy.
///
/// ```
/// use runai_sched::engine::{Engine, PodGroup, Queue};
/// use runai_sched::{ClusterState, GpuDemand, NodeState, PodRequest, Rng, policy};
/// let state = ClusterState::new(vec![NodeState::new("dgx-01", 128_000, 1_048_576, 8, "H100")]);
/// let mut engine = Engine::new(state, policy::by_name("fgd", &[]).unwrap()).with_queue(Queue::new("team-a", 8.0));
/// let group = PodGroup::uniform("llama", "team-a", 2, PodRequest::new(8_000, 65_536, GpuDemand::Devices { count: 4 }));
/// let outcome = engine.schedule(vec![group], &mut Rng::new(42));
/// assert_eq!(outcome.nodes_of("llama"), ["dgx-01", "dgx-01"]);
/// ```
#[derive(Debug)]
pub struct Engine {
    state: ClusterState,
    policy: Box<dyn Policy>,
    order: NodeOrder,
    levels: Vec<String>,
    queues: BTreeMap<String, Queue>,
    /// Parents of queues: they share out the cluster first (KAI's two-level hierarchy).
    departments: BTreeMap<String, Queue>,
    running: BTreeMap<String, Running>,
    /// GPUs held per queue: (all, non-preemptible), kept current as gangs start and stop.
    usage: BTreeMap<String, (f64, f64)>,
    /// The same, per queue and node pool.
    pool_usage: BTreeMap<(String, String), (f64, f64)>,
    topology: TopologyIndex,
    /// Whether any node carries a Multi-Node NVLink clique label.
    has_cliques: bool,
    /// Whether any node has a taint.
    has_taints: bool,
    /// Schedulable nodes, and the same per node pool: labels, pools and taints do not change
    /// while the engine runs.
    eligible: Vec<NodeId>,
    pools: BTreeMap<String, Vec<NodeId>>,
}

impl Engine {
    /// An engine over `state` placing pods with `policy`; ties between nodes go to the first.
    #[must_use]
    pub fn new(state: ClusterState, policy: Box<dyn Policy>) -> Self {
        let order = NodeOrder::identity(state.nodes().len());
        let clique = runai_core::cluster::GPU_CLIQUE_LABEL;
        let has_cliques = state.nodes().iter().any(|n| n.labels.contains_key(clique));
        let has_taints = state.nodes().iter().any(|n| !n.taints.is_empty());
        let eligible: Vec<NodeId> = (0..state.nodes().len())
            .map(|i| NodeId(i as u32))
            .filter(|&id| state.node(id).schedulable)
            .collect();
        let mut pools: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
        for &id in &eligible {
            pools.entry(state.node(id).pool.clone()).or_default().push(id);
        }
        Self {
            state,
            policy,
            order,
            levels: Vec::new(),
            queues: BTreeMap::new(),
            departments: BTreeMap::new(),
            running: BTreeMap::new(),
            usage: BTreeMap::new(),
            pool_usage: BTreeMap::new(),
            topology: TopologyIndex::default(),
            has_cliques,
            has_taints,
            eligible,
            pools,
        }
    }

    /// An engine for a `runai-core` cluster snapshot: its nodes, the levels of its first
    /// topology, and one queue per project with the project's GPU quotas summed over node
    /// pools.
    ///
    /// ```
    /// use runai_core::cluster::{Cluster, Node, NodePoolQuota, Project, ResourceQuota};
    /// use runai_sched::{engine::Engine, policy};
    /// let cluster = Cluster {
    ///     nodes: vec![Node::new("dgx-01").with_gpus(8, "H100", 81_559)],
    ///     projects: vec![Project::new("1", "team-a").with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(4.0)))],
    ///     ..Default::default()
    /// };
    /// let engine = Engine::from_cluster(&cluster, policy::by_name("fgd", &[]).unwrap());
    /// assert_eq!(engine.queue("team-a").unwrap().deserved_gpus, 4.0);
    /// ```
    #[must_use]
    pub fn from_cluster(cluster: &runai_core::cluster::Cluster, policy: Box<dyn Policy>) -> Self {
        let mut engine = Self::new(ClusterState::from_cluster(cluster), policy);
        if let Some(topology) = cluster.topologies.first() {
            engine.levels = topology.levels.iter().map(|l| l.node_label.clone()).collect();
            engine.topology = TopologyIndex::build(&engine.state, &engine.levels);
        }
        let quota_queue = |name: &str, quotas: &[runai_core::cluster::NodePoolQuota]| {
            let mut queue = Queue::new(name, quotas.iter().map(|q| q.gpus.deserved).sum());
            let limits: Option<Vec<f64>> = quotas.iter().map(|q| q.gpus.limit).collect();
            queue.over_quota_weight = quotas.first().map_or(1.0, |q| q.gpus.over_quota_weight);
            queue.limit_gpus = limits.filter(|l| !l.is_empty()).map(|l| l.iter().sum());
            queue.priority = quotas.first().map_or(100, |q| q.priority);
            queue
        };
        for department in &cluster.departments {
            engine.departments.insert(
                department.name.clone(),
                quota_queue(&department.name, &department.quotas),
            );
        }
        for project in &cluster.projects {
            let mut queue = quota_queue(&project.name, &project.quotas);
            queue.parent = cluster.department_of(project).map(|d| d.name.clone());
            for quota in &project.quotas {
                let pool = PoolQuota {
                    deserved_gpus: quota.gpus.deserved,
                    limit_gpus: quota.gpus.limit,
                };
                queue.pool_quotas.insert(quota.node_pool.clone(), pool);
            }
            queue.default_pools.clone_from(&project.default_node_pools);
            engine.queues.insert(queue.name.clone(), queue);
        }
        engine
    }

    /// The same engine with topology levels (node labels, widest first).
    #[must_use]
    pub fn with_levels(mut self, levels: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.levels = levels.into_iter().map(Into::into).collect();
        self.topology = TopologyIndex::build(&self.state, &self.levels);
        self
    }

    /// The same engine with one more queue.
    #[must_use]
    pub fn with_queue(mut self, queue: Queue) -> Self {
        self.queues.insert(queue.name.clone(), queue);
        self
    }

    /// The same engine with a department: queues whose `parent` names it divide its share.
    #[must_use]
    pub fn with_department(mut self, department: Queue) -> Self {
        self.departments.insert(department.name.clone(), department);
        self
    }

    /// The fair share of every queue for the running gangs plus `pending`, in GPUs.
    ///
    /// ```
    /// use runai_sched::engine::{Engine, Queue};
    /// use runai_sched::{ClusterState, NodeState, policy};
    /// let nodes = (0..25).map(|i| NodeState::new(format!("n{i}"), 64_000, 262_144, 4, "H100")).collect();
    /// let engine = Engine::new(ClusterState::new(nodes), policy::by_name("fgd", &[]).unwrap())
    ///     .with_queue(Queue::new("a", 10.0).weight(3.0))
    ///     .with_queue(Queue::new("b", 10.0));
    /// // Shares follow demand: a queue that asks for nothing gets nothing.
    /// assert_eq!(engine.fair_share(&[])["a"], 0.0);
    /// let wants = |q: &str| runai_sched::engine::PodGroup::uniform(q, q, 25, runai_sched::PodRequest::new(
    ///     1_000, 1_024, runai_sched::GpuDemand::Devices { count: 4 }));
    /// let shares = engine.fair_share(&[wants("a"), wants("b")]);
    /// assert_eq!((shares["a"], shares["b"]), (70.0, 30.0));
    /// ```
    #[must_use]
    pub fn fair_share(&self, pending: &[PodGroup]) -> BTreeMap<String, f64> {
        self.fair_shares(pending)
    }

    /// The same engine breaking node ties by `order`.
    #[must_use]
    pub fn with_order(mut self, order: NodeOrder) -> Self {
        self.order = order;
        self
    }

    /// The cluster state.
    #[must_use]
    pub fn state(&self) -> &ClusterState {
        &self.state
    }

    /// A queue by name.
    #[must_use]
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.get(name)
    }

    /// GPUs the running gangs of `queue` hold.
    #[must_use]
    pub fn used_gpus(&self, queue: &str) -> f64 {
        self.usage.get(queue).map_or(0.0, |u| u.0)
    }

    /// GPUs the running non-preemptible gangs of `queue` hold.
    fn non_preemptible_gpus(&self, queue: &str) -> f64 {
        self.usage.get(queue).map_or(0.0, |u| u.1)
    }

    /// Records a gang as running.
    fn start(&mut self, group: PodGroup, allocations: Placement) {
        let pool = allocations
            .first()
            .map(|(_, a)| self.state.node(a.node).pool.clone());
        let running = Running {
            group,
            allocations,
            pool,
        };
        let gpus = running.gpus();
        let non_preemptible = if running.group.preemptible { 0.0 } else { gpus };
        let usage = self.usage.entry(running.group.queue.clone()).or_default();
        usage.0 += gpus;
        usage.1 += non_preemptible;
        if let Some(pool) = &running.pool {
            let usage = self
                .pool_usage
                .entry((running.group.queue.clone(), pool.clone()))
                .or_default();
            usage.0 += gpus;
            usage.1 += non_preemptible;
        }
        self.running.insert(running.group.name.clone(), running);
    }

    /// Forgets a running gang (its resources are the caller's business).
    fn stop(&mut self, name: &str) -> Option<Running> {
        let running = self.running.remove(name)?;
        let gpus = running.gpus();
        let non_preemptible = if running.group.preemptible { 0.0 } else { gpus };
        let release = |usage: &mut (f64, f64)| {
            usage.0 = (usage.0 - gpus).max(0.0);
            usage.1 = (usage.1 - non_preemptible).max(0.0);
        };
        if let Some(usage) = self.usage.get_mut(&running.group.queue) {
            release(usage);
        }
        if let Some(pool) = &running.pool
            && let Some(usage) = self
                .pool_usage
                .get_mut(&(running.group.queue.clone(), pool.clone()))
        {
            release(usage);
        }
        Some(running)
    }

    /// GPUs the running gangs of `queue` hold in node pool `pool`: (all, non-preemptible).
    fn pool_usage(&self, queue: &str, pool: &str) -> (f64, f64) {
        self.pool_usage
            .get(&(queue.to_owned(), pool.to_owned()))
            .copied()
            .unwrap_or_default()
    }

    /// Names of the running gangs.
    pub fn running(&self) -> impl Iterator<Item = &str> {
        self.running.keys().map(String::as_str)
    }

    /// Ends a running gang (it finished or was deleted) and frees its resources.
    pub fn release(&mut self, group: &str) -> bool {
        let Some(running) = self.stop(group) else {
            return false;
        };
        for (_, allocation) in &running.allocations {
            self.state.release(allocation);
        }
        true
    }

    /// Marks `group` as already running on the given nodes and devices (for a snapshot taken
    /// from a live cluster).
    ///
    /// # Errors
    /// [`crate::SchedError`] when a pod does not fit where it is said to run; nothing is
    /// recorded then.
    pub fn adopt(
        &mut self,
        group: PodGroup,
        placements: &[(NodeId, Vec<u8>)],
    ) -> Result<(), crate::SchedError> {
        let mut allocations = Vec::new();
        for (i, (node, devices)) in placements.iter().enumerate() {
            let Some(pod) = group.pods.get(i) else { break };
            match self.state.allocate(*node, &pod.request, devices) {
                Ok(allocation) => allocations.push((i, allocation)),
                Err(err) => {
                    for (_, allocation) in &allocations {
                        self.state.release(allocation);
                    }
                    return Err(err);
                }
            }
        }
        self.start(group, allocations);
        Ok(())
    }

    /// One scheduling cycle over `pending`.
    pub fn schedule(&mut self, pending: Vec<PodGroup>, rng: &mut Rng) -> Outcome {
        let shares = self.fair_shares(&pending);
        let mut outcome = Outcome::default();
        // Each queue's groups in the order the queue serves them (the end of the list first).
        let mut queues: BTreeMap<String, Vec<PodGroup>> = BTreeMap::new();
        for group in pending {
            queues.entry(group.queue.clone()).or_default().push(group);
        }
        for groups in queues.values_mut() {
            groups.sort_by(|a, b| {
                a.priority
                    .cmp(&b.priority)
                    .then(b.created.cmp(&a.created))
                    .then(b.name.cmp(&a.name))
            });
        }
        while let Some(queue) = self.next_queue(&queues, &shares) {
            let Some(group) = queues.get_mut(&queue).and_then(Vec::pop) else {
                break;
            };
            match self.schedule_group(&group, &shares, rng, &mut outcome) {
                Ok(allocations) => {
                    for (i, allocation) in &allocations {
                        outcome.bindings.push(Binding {
                            group: group.name.clone(),
                            pod: group.pods[*i].name.clone(),
                            node: self.state.node(allocation.node).name.clone(),
                            devices: allocation.devices.clone(),
                        });
                    }
                    self.start(group, allocations);
                }
                Err(reason) => outcome.pending.push(Pending {
                    group: group.name.clone(),
                    reason,
                }),
            }
        }
        outcome
    }

    /// Fair share of every known queue, in GPUs, for the running and pending demand.
    fn fair_shares(&self, pending: &[PodGroup]) -> BTreeMap<String, f64> {
        let mut requested: BTreeMap<String, f64> = BTreeMap::new();
        for running in self.running.values() {
            *requested.entry(running.group.queue.clone()).or_default() += running.gpus();
        }
        for group in pending {
            *requested.entry(group.queue.clone()).or_default() +=
                group.gpu_milli() as f64 / f64::from(MILLI_PER_GPU);
        }
        for name in self.queues.keys() {
            requested.entry(name.clone()).or_default();
        }
        let queue = |name: &str| {
            self.queues
                .get(name)
                .cloned()
                .unwrap_or_else(|| Queue::new(name, 0.0))
        };
        // Departments first divide the cluster; each then divides its share among its queues.
        let department_of = |name: &str| {
            queue(name)
                .parent
                .filter(|parent| self.departments.contains_key(parent.as_str()))
        };
        let mut top: BTreeMap<String, (Queue, f64)> = BTreeMap::new();
        let mut children: BTreeMap<String, Vec<(Queue, f64)>> = BTreeMap::new();
        for (name, &gpus) in &requested {
            match department_of(name) {
                Some(department) => {
                    let entry = top
                        .entry(department.clone())
                        .or_insert_with(|| (self.departments[&department].clone(), 0.0));
                    entry.1 += gpus;
                    children.entry(department).or_default().push((queue(name), gpus));
                }
                None => {
                    top.insert(name.clone(), (queue(name), gpus));
                }
            }
        }
        let capacity = self.state.total_gpu_milli() as f64 / f64::from(MILLI_PER_GPU);
        let divide = |total: f64, entries: &[(Queue, f64)]| {
            let demands: Vec<QueueDemand> = entries
                .iter()
                .map(|(queue, gpus)| QueueDemand {
                    queue: queue.clone(),
                    requested_gpus: *gpus,
                })
                .collect();
            fair_shares(total, &demands)
        };
        let top_entries: Vec<(Queue, f64)> = top.into_values().collect();
        let mut shares = BTreeMap::new();
        for ((entry, _), share) in top_entries.iter().zip(divide(capacity, &top_entries)) {
            match children.get(&entry.name) {
                Some(members) if self.departments.contains_key(&entry.name) => {
                    for ((member, _), member_share) in members.iter().zip(divide(share, members)) {
                        shares.insert(member.name.clone(), member_share);
                    }
                }
                _ => {
                    shares.insert(entry.name.clone(), share);
                }
            }
        }
        shares
    }

    /// The queue furthest below its fair share goes first; among equals, the one whose next
    /// group has the higher priority, then the older.
    fn next_queue(
        &self,
        queues: &BTreeMap<String, Vec<PodGroup>>,
        shares: &BTreeMap<String, f64>,
    ) -> Option<String> {
        let saturation = |queue: &str| {
            let share = shares.get(queue).copied().unwrap_or(0.0);
            let used = self.used_gpus(queue);
            if share > 0.0 { used / share } else { f64::INFINITY }
        };
        queues
            .iter()
            .filter_map(|(name, groups)| groups.last().map(|head| (saturation(name), head)))
            .min_by(|(sa, a), (sb, b)| {
                sa.total_cmp(sb)
                    .then(b.priority.cmp(&a.priority))
                    .then(a.created.cmp(&b.created))
                    .then(a.name.cmp(&b.name))
            })
            .map(|(_, head)| head.queue.clone())
    }

    fn schedule_group(
        &mut self,
        group: &PodGroup,
        shares: &BTreeMap<String, f64>,
        rng: &mut Rng,
        outcome: &mut Outcome,
    ) -> Result<Placement, PendingReason> {
        let needed = group.gpu_milli() as f64 / f64::from(MILLI_PER_GPU);
        let used = self.used_gpus(&group.queue);
        let queue = self
            .queues
            .get(&group.queue)
            .cloned()
            .unwrap_or_else(|| Queue::new(group.queue.clone(), 0.0));
        if let Some(limit) = queue.limit_gpus
            && used + needed > limit + 1e-9
        {
            return Err(PendingReason::OverLimit {
                queue: queue.name,
                limit_gpus: limit,
                used_gpus: used,
                needed_gpus: needed,
            });
        }
        // Preemptible use of the queue can be evicted, so only non-preemptible use counts
        // against the deserved quota here.
        let guaranteed = self.non_preemptible_gpus(&group.queue);
        if !group.preemptible && needed > 0.0 && guaranteed + needed > queue.deserved_gpus + 1e-9 {
            return Err(PendingReason::NonPreemptibleOverQuota {
                queue: queue.name,
                deserved_gpus: queue.deserved_gpus,
                used_gpus: guaranteed,
                needed_gpus: needed,
            });
        }
        let first_failure = match self.place_group(group, rng) {
            Ok(allocations) => return Ok(allocations),
            Err(reason) => reason,
        };
        match self.preempt_for(group, shares, rng) {
            Some((allocations, evictions)) => {
                outcome.evictions.extend(evictions);
                Ok(allocations)
            }
            None => Err(first_failure),
        }
    }
}
