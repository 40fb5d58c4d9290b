//! Cluster state with per-device GPU accounting: what is free on every node, device by device.

use std::collections::BTreeMap;

use crate::error::SchedError;
use crate::hash::FxHashMap;
use crate::request::{GpuDemand, MILLI_PER_GPU, PodRequest};

/// Index of a node in a [`ClusterState`].
///
/// ```
/// use runai_sched::NodeId;
/// assert_eq!(NodeId(3).index(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The position in [`ClusterState::nodes`].
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One node's capacity and what is free on it.
///
/// ```
/// use runai_sched::NodeState;
/// let node = NodeState::new("dgx-01", 64_000, 262_144, 8, "H100");
/// assert_eq!(node.free_gpu_milli(), 8000);
/// assert_eq!(node.idle_devices(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct NodeState {
    /// Node name.
    pub name: String,
    /// GPU model; empty on CPU-only nodes.
    pub gpu_model: String,
    /// CPU capacity in millicores.
    pub cpu_capacity: u64,
    /// Free CPU in millicores.
    pub cpu_free: u64,
    /// Memory capacity in MiB.
    pub memory_capacity_mib: u64,
    /// Free memory in MiB.
    pub memory_free_mib: u64,
    /// Free milli-GPU of each device (1000 when the device is idle).
    pub gpu_free: Vec<u32>,
    /// How many GPU pods of each kind run here (shares, 1-device, 2-device, ...): what
    /// clustering policies look at.
    pub gpu_pods: Vec<(GpuDemand, u32)>,
    /// Node labels (topology levels, node pool selectors, node types).
    pub labels: BTreeMap<String, String>,
    /// The node pool the node belongs to.
    pub pool: String,
    /// False when the node is cordoned: nothing new lands there.
    pub schedulable: bool,
    /// Taints; groups must tolerate the enforced ones.
    pub taints: Vec<crate::engine::Taint>,
    /// The id of the node's shape (free resources, pod kinds, model): nodes with the same id
    /// are in the same state and score the same. Assigned by [`ClusterState`].
    shape: u64,
}

/// Nodes are equal when their resources, pods and labels are; the shape id is bookkeeping
/// of the state that holds them.
impl PartialEq for NodeState {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.gpu_model == other.gpu_model
            && self.cpu_capacity == other.cpu_capacity
            && self.cpu_free == other.cpu_free
            && self.memory_capacity_mib == other.memory_capacity_mib
            && self.memory_free_mib == other.memory_free_mib
            && self.gpu_free == other.gpu_free
            && self.gpu_pods == other.gpu_pods
            && self.labels == other.labels
            && self.pool == other.pool
            && self.schedulable == other.schedulable
            && self.taints == other.taints
    }
}

impl Eq for NodeState {}

impl NodeState {
    /// An idle node.
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        cpu_milli: u64,
        memory_mib: u64,
        gpus: u32,
        gpu_model: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            gpu_model: gpu_model.into(),
            cpu_capacity: cpu_milli,
            cpu_free: cpu_milli,
            memory_capacity_mib: memory_mib,
            memory_free_mib: memory_mib,
            gpu_free: vec![MILLI_PER_GPU; gpus as usize],
            gpu_pods: Vec::new(),
            labels: BTreeMap::new(),
            pool: runai_core::cluster::DEFAULT_NODE_POOL.to_owned(),
            schedulable: true,
            taints: Vec::new(),
            shape: 0,
        }
    }

    /// The same node with label `key=value`.
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// The same node in node pool `pool`.
    #[must_use]
    pub fn in_pool(mut self, pool: impl Into<String>) -> Self {
        self.pool = pool.into();
        self
    }

    /// How many pods of the same GPU kind as `gpu` run here (every share counts as one kind).
    #[must_use]
    pub fn pods_of_kind(&self, gpu: GpuDemand) -> u32 {
        let kind = gpu_kind(gpu);
        self.gpu_pods
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    fn count_pod(&mut self, gpu: GpuDemand, added: bool) {
        if gpu == GpuDemand::None {
            return;
        }
        let kind = gpu_kind(gpu);
        match self.gpu_pods.iter_mut().position(|(k, _)| *k == kind) {
            Some(i) if added => self.gpu_pods[i].1 += 1,
            Some(i) => {
                self.gpu_pods[i].1 -= 1;
                if self.gpu_pods[i].1 == 0 {
                    self.gpu_pods.swap_remove(i);
                }
            }
            None if added => self.gpu_pods.push((kind, 1)),
            None => {}
        }
    }

    /// The shape id: equal for nodes in the same state, which every policy scores the same.
    /// Meaningful only for nodes inside a [`ClusterState`].
    #[must_use]
    pub fn shape(&self) -> u64 {
        self.shape
    }

    /// Everything placement looks at, as a key: nodes with equal keys score the same.
    fn shape_key(&self) -> ShapeKey {
        ShapeKey {
            cpu_free: self.cpu_free,
            memory_free_mib: self.memory_free_mib,
            schedulable: self.schedulable,
            gpu_free: self.gpu_free.clone(),
            gpu_model: self.gpu_model.clone(),
            gpu_pods: self.gpu_pods.clone(),
        }
    }

    /// Number of GPU devices.
    #[must_use]
    pub fn gpu_count(&self) -> u32 {
        self.gpu_free.len() as u32
    }

    /// Free milli-GPU summed over devices.
    #[must_use]
    pub fn free_gpu_milli(&self) -> u64 {
        self.gpu_free.iter().map(|&f| u64::from(f)).sum()
    }

    /// Devices nobody uses.
    #[must_use]
    pub fn idle_devices(&self) -> u32 {
        self.gpu_free.iter().filter(|&&f| f == MILLI_PER_GPU).count() as u32
    }

    /// Whether `pod` fits here now: model, CPU, memory and GPU devices.
    ///
    /// ```
    /// use runai_sched::{GpuDemand, NodeState, PodRequest};
    /// let node = NodeState::new("n", 8_000, 32_768, 2, "T4");
    /// assert!(node.fits(&PodRequest::new(4_000, 1_024, GpuDemand::Devices { count: 2 })));
    /// assert!(!node.fits(&PodRequest::new(4_000, 1_024, GpuDemand::Devices { count: 3 })));
    /// assert!(!node.fits(&PodRequest::new(4_000, 1_024, GpuDemand::Share { milli: 500 }).on_models(["V100"])));
    /// ```
    #[must_use]
    pub fn fits(&self, pod: &PodRequest) -> bool {
        if !self.schedulable || pod.cpu_milli > self.cpu_free || pod.memory_mib > self.memory_free_mib {
            return false;
        }
        match pod.gpu {
            GpuDemand::None => true,
            GpuDemand::Share { milli } => {
                pod.allows_model(&self.gpu_model) && self.gpu_free.iter().any(|&f| f >= milli)
            }
            GpuDemand::Devices { count } => pod.allows_model(&self.gpu_model) && self.idle_devices() >= count,
        }
    }

    /// The devices a pod would take if it were given the first ones that fit: for a share,
    /// the first device with room; for whole devices, the first idle ones.
    #[must_use]
    pub fn first_fit_devices(&self, gpu: GpuDemand) -> Vec<u8> {
        match gpu {
            GpuDemand::None => Vec::new(),
            GpuDemand::Share { milli } => self
                .gpu_free
                .iter()
                .position(|&f| f >= milli)
                .map(|d| vec![d as u8])
                .unwrap_or_default(),
            GpuDemand::Devices { count } => self
                .gpu_free
                .iter()
                .enumerate()
                .filter(|(_, f)| **f == MILLI_PER_GPU)
                .take(count as usize)
                .map(|(d, _)| d as u8)
                .collect(),
        }
    }
}

/// The state of a node as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ShapeKey {
    cpu_free: u64,
    memory_free_mib: u64,
    schedulable: bool,
    gpu_free: Vec<u32>,
    gpu_model: String,
    gpu_pods: Vec<(GpuDemand, u32)>,
}

/// Every share is one kind, whatever its size; whole-device pods are a kind per device count.
fn gpu_kind(gpu: GpuDemand) -> GpuDemand {
    match gpu {
        GpuDemand::Share { .. } => GpuDemand::Share { milli: 0 },
        other => other,
    }
}

/// Where a pod was placed: the node and the devices it holds, with the share on each.
///
/// ```
/// use runai_sched::{Allocation, NodeId};
/// use runai_sched::GpuDemand;
/// let a = Allocation { node: NodeId(0), devices: vec![(2, 500)], cpu_milli: 1000, memory_mib: 512, gpu: GpuDemand::Share { milli: 500 } };
/// assert_eq!(a.gpu_milli(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The node.
    pub node: NodeId,
    /// `(device index, milli-GPU)` for every device used.
    pub devices: Vec<(u8, u32)>,
    /// CPU taken, in millicores.
    pub cpu_milli: u64,
    /// Memory taken, in MiB.
    pub memory_mib: u64,
    /// The GPU demand it satisfies.
    pub gpu: GpuDemand,
}

impl Allocation {
    /// Milli-GPU held in total.
    #[must_use]
    pub fn gpu_milli(&self) -> u64 {
        self.devices.iter().map(|&(_, m)| u64::from(m)).sum()
    }
}

/// Every node's capacity and free resources; allocations and releases change it.
///
/// ```
/// use runai_sched::{ClusterState, GpuDemand, NodeState, PodRequest};
/// let mut state = ClusterState::new(vec![NodeState::new("n", 8_000, 32_768, 2, "T4")]);
/// let pod = PodRequest::new(1_000, 1_024, GpuDemand::Share { milli: 300 });
/// let allocation = state.allocate(state.node_id("n").unwrap(), &pod, &[0]).unwrap();
/// assert_eq!(state.used_gpu_milli(), 300);
/// state.release(&allocation);
/// assert_eq!(state.used_gpu_milli(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    nodes: Vec<NodeState>,
    total_gpu_milli: u64,
    used_gpu_milli: u64,
    /// Nodes grouped by shape: placement scores each group once instead of every node.
    classes: FxHashMap<u64, (ShapeKey, Vec<NodeId>)>,
    /// The id of every shape some node has now.
    shape_ids: FxHashMap<ShapeKey, u64>,
    next_shape: u64,
}

/// Two states are equal when their nodes are; how nodes are grouped internally is not part
/// of the state.
impl PartialEq for ClusterState {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes && self.used_gpu_milli == other.used_gpu_milli
    }
}

impl Eq for ClusterState {}

impl ClusterState {
    /// A state holding `nodes` as given (they may already carry usage).
    #[must_use]
    pub fn new(nodes: Vec<NodeState>) -> Self {
        let total_gpu_milli = nodes
            .iter()
            .map(|n| u64::from(n.gpu_count()) * u64::from(MILLI_PER_GPU))
            .sum();
        let free: u64 = nodes.iter().map(NodeState::free_gpu_milli).sum();
        let mut state = Self {
            nodes,
            total_gpu_milli,
            used_gpu_milli: total_gpu_milli - free,
            ..Self::default()
        };
        for i in 0..state.nodes.len() {
            state.classify(NodeId(i as u32));
        }
        state
    }

    /// Nodes grouped by [`NodeState::shape`]: every group holds nodes in the same state.
    pub fn shape_classes(&self) -> impl Iterator<Item = &[NodeId]> {
        self.classes.values().map(|(_, members)| members.as_slice())
    }

    /// Puts `node` in the class of its current state.
    fn classify(&mut self, node: NodeId) {
        let key = self.nodes[node.index()].shape_key();
        let id = match self.shape_ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.next_shape;
                self.next_shape += 1;
                self.shape_ids.insert(key.clone(), id);
                self.classes.insert(id, (key, Vec::new()));
                id
            }
        };
        self.nodes[node.index()].shape = id;
        if let Some((_, members)) = self.classes.get_mut(&id) {
            members.push(node);
        }
    }

    /// Moves `node` to the class of its new state, dropping classes that empty.
    fn reclassify(&mut self, node: NodeId) {
        let old = self.nodes[node.index()].shape;
        if let Some((key, members)) = self.classes.get_mut(&old) {
            if let Some(at) = members.iter().position(|&n| n == node) {
                members.swap_remove(at);
            }
            if members.is_empty() {
                self.shape_ids.remove(key);
                self.classes.remove(&old);
            }
        }
        self.classify(node);
    }

    /// The state of a `runai_core` cluster snapshot, every node idle. Memory is converted to
    /// MiB, rounding down.
    ///
    /// ```
    /// use runai_core::cluster::{Cluster, Node};
    /// use runai_sched::ClusterState;
    /// let cluster = Cluster { nodes: vec![Node::new("dgx").with_gpus(8, "H100", 81_559)], ..Default::default() };
    /// assert_eq!(ClusterState::from_cluster(&cluster).total_gpu_milli(), 8000);
    /// ```
    #[must_use]
    pub fn from_cluster(cluster: &runai_core::cluster::Cluster) -> Self {
        let nodes = cluster
            .nodes
            .iter()
            .map(|node| {
                let mut state = NodeState::new(
                    node.name.clone(),
                    node.cpu_millicores,
                    node.memory_bytes / (1024 * 1024),
                    node.gpu_count,
                    node.gpu_model.clone().unwrap_or_default(),
                )
                .in_pool(cluster.node_pool_of(node));
                state.labels = node.labels.clone();
                state.schedulable = node.schedulable;
                state
            })
            .collect();
        Self::new(nodes)
    }

    /// All nodes, indexed by [`NodeId`].
    #[must_use]
    pub fn nodes(&self) -> &[NodeState] {
        &self.nodes
    }

    /// One node.
    #[must_use]
    pub fn node(&self, id: NodeId) -> &NodeState {
        &self.nodes[id.index()]
    }

    /// The ID of the node called `name`.
    #[must_use]
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| NodeId(i as u32))
    }

    /// Milli-GPU of all devices.
    #[must_use]
    pub fn total_gpu_milli(&self) -> u64 {
        self.total_gpu_milli
    }

    /// Milli-GPU allocated.
    #[must_use]
    pub fn used_gpu_milli(&self) -> u64 {
        self.used_gpu_milli
    }

    /// Places `pod` on `node`, taking its GPU demand from `devices` (device indices: one for
    /// a share, `count` idle ones for whole devices).
    ///
    /// # Errors
    /// [`SchedError::DoesNotFit`] when the node or the named devices lack room; the state is
    /// then unchanged.
    pub fn allocate(
        &mut self,
        node: NodeId,
        pod: &PodRequest,
        devices: &[u8],
    ) -> Result<Allocation, SchedError> {
        let state = self
            .nodes
            .get(node.index())
            .ok_or(SchedError::UnknownNode(node.0))?;
        let (per_device, count) = pod.gpu.per_device();
        let room = pod.cpu_milli <= state.cpu_free
            && pod.memory_mib <= state.memory_free_mib
            && (count == 0 || pod.allows_model(&state.gpu_model))
            && devices.len() == count as usize
            && devices.iter().enumerate().all(|(i, &d)| {
                !devices[..i].contains(&d)
                    && state
                        .gpu_free
                        .get(usize::from(d))
                        .is_some_and(|&f| f >= per_device)
            });
        if !room {
            return Err(SchedError::DoesNotFit {
                node: state.name.clone(),
            });
        }
        let state = &mut self.nodes[node.index()];
        state.cpu_free -= pod.cpu_milli;
        state.memory_free_mib -= pod.memory_mib;
        for &d in devices {
            state.gpu_free[usize::from(d)] -= per_device;
        }
        state.count_pod(pod.gpu, true);
        self.reclassify(node);
        self.used_gpu_milli += pod.gpu.total_milli();
        Ok(Allocation {
            node,
            devices: devices.iter().map(|&d| (d, per_device)).collect(),
            cpu_milli: pod.cpu_milli,
            memory_mib: pod.memory_mib,
            gpu: pod.gpu,
        })
    }

    /// Gives back what `allocation` took.
    pub fn release(&mut self, allocation: &Allocation) {
        let Some(state) = self.nodes.get_mut(allocation.node.index()) else {
            return;
        };
        state.cpu_free = (state.cpu_free + allocation.cpu_milli).min(state.cpu_capacity);
        state.memory_free_mib =
            (state.memory_free_mib + allocation.memory_mib).min(state.memory_capacity_mib);
        for &(d, milli) in &allocation.devices {
            if let Some(free) = state.gpu_free.get_mut(usize::from(d)) {
                *free = (*free + milli).min(MILLI_PER_GPU);
            }
        }
        state.count_pod(allocation.gpu, false);
        self.reclassify(allocation.node);
        self.used_gpu_milli = self.used_gpu_milli.saturating_sub(allocation.gpu_milli());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ClusterState {
        ClusterState::new(vec![
            NodeState::new("a", 16_000, 65_536, 4, "T4"),
            NodeState::new("b", 8_000, 1_024, 0, ""),
        ])
    }

    #[test]
    fn shares_and_devices_are_accounted_per_device() {
        let mut s = state();
        let a = NodeId(0);
        s.allocate(
            a,
            &PodRequest::new(1_000, 1_024, GpuDemand::Share { milli: 600 }),
            &[1],
        )
        .unwrap();
        assert_eq!(s.node(a).gpu_free, vec![1000, 400, 1000, 1000]);
        // Device 1 has 400 left: a 500 share does not fit there, whole devices skip it.
        assert!(
            s.allocate(
                a,
                &PodRequest::new(1_000, 1_024, GpuDemand::Share { milli: 500 }),
                &[1]
            )
            .is_err()
        );
        let pod = PodRequest::new(1_000, 1_024, GpuDemand::Devices { count: 3 });
        assert_eq!(s.node(a).first_fit_devices(pod.gpu), vec![0, 2, 3]);
        s.allocate(a, &pod, &[0, 2, 3]).unwrap();
        assert_eq!(s.used_gpu_milli(), 3600);
        assert!(
            !s.node(a)
                .fits(&PodRequest::new(0, 0, GpuDemand::Devices { count: 1 }))
        );
    }

    #[test]
    fn refused_allocations_change_nothing() {
        let mut s = state();
        let before = s.clone();
        let two = PodRequest::new(0, 0, GpuDemand::Devices { count: 2 });
        assert!(s.allocate(NodeId(0), &two, &[0, 0]).is_err(), "a device twice");
        assert!(s.allocate(NodeId(0), &two, &[0]).is_err(), "too few devices");
        assert!(
            s.allocate(NodeId(1), &PodRequest::new(9_000, 0, GpuDemand::None), &[])
                .is_err()
        );
        assert!(
            s.allocate(NodeId(9), &PodRequest::new(0, 0, GpuDemand::None), &[])
                .is_err()
        );
        assert_eq!(s, before);
    }

    #[test]
    fn release_restores_the_node() {
        let mut s = state();
        let before = s.clone();
        let pod = PodRequest::new(2_000, 4_096, GpuDemand::Devices { count: 2 });
        let allocation = s.allocate(NodeId(0), &pod, &[1, 3]).unwrap();
        s.release(&allocation);
        assert_eq!(s, before);
    }
}
