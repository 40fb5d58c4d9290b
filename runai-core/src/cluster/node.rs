//! Nodes and node pools: what each machine offers, and how nodes are grouped for scheduling.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::topology::{GPU_CLIQUE_LABEL, check_dns1123_subdomain, check_label_key, check_label_value};
use super::{GpuClique, Topology, TopologyPath};
use crate::validate::{Checker, impl_validate};

/// The node pool that holds every node no other pool selects, as in Run:ai.
pub const DEFAULT_NODE_POOL: &str = "default";

/// One machine of the cluster and the resources it offers to workloads.
///
/// Quantities are what the scheduler may hand out (Kubernetes allocatable), not raw hardware.
///
/// ```
/// use runai_core::cluster::Node;
/// let node = Node::new("dgx-01").with_gpus(8, "H100-SXM5-80GB", 81_559).with_label("node-type", "h100");
/// assert_eq!(node.total_gpu_memory_mib(), Some(8 * 81_559));
/// assert!(node.schedulable);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Node name, unique in the cluster (a DNS subdomain, as Kubernetes requires).
    pub name: String,
    /// Whole GPU devices on the node.
    #[serde(default)]
    pub gpu_count: u32,
    /// GPU product name, for example `H100-SXM5-80GB` (GPU Feature Discovery's
    /// `nvidia.com/gpu.product`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    /// Memory of one GPU device in MiB (2^20 bytes): the unit of GPU Feature Discovery's
    /// `nvidia.com/gpu.memory` label and of KAI's `gpu-memory` request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_memory_mib: Option<u64>,
    /// CPU in millicores (1000 = one core).
    #[serde(default)]
    pub cpu_millicores: u64,
    /// Memory in bytes.
    #[serde(default)]
    pub memory_bytes: u64,
    /// Kubernetes labels: node pool selectors and topology levels read them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Node pool this node belongs to. When unset, the first pool whose label selector matches
    /// the labels, else [`DEFAULT_NODE_POOL`] (see [`Cluster::node_pool_of`](super::Cluster::node_pool_of)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pool: Option<String>,
    /// Whether new pods may be placed here (`false` for a cordoned node).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub schedulable: bool,
    /// How the GPUs are partitioned with Multi-Instance GPU; unset when MIG is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mig: Option<MigConfig>,
}

// Plain functions because serde's `default` and `skip_serializing_if` take paths.
fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl Node {
    /// A schedulable node with no GPUs, CPU, memory or labels yet.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            gpu_count: 0,
            gpu_model: None,
            gpu_memory_mib: None,
            cpu_millicores: 0,
            memory_bytes: 0,
            labels: BTreeMap::new(),
            node_pool: None,
            schedulable: true,
            mig: None,
        }
    }

    /// Sets the GPUs: how many, which model, and the memory of each in MiB.
    ///
    /// ```
    /// use runai_core::cluster::Node;
    /// let node = Node::new("n").with_gpus(4, "GB200", 189_471);
    /// assert_eq!(node.gpu_model.as_deref(), Some("GB200"));
    /// ```
    #[must_use]
    pub fn with_gpus(mut self, count: u32, model: impl Into<String>, memory_mib: u64) -> Self {
        self.gpu_count = count;
        self.gpu_model = Some(model.into());
        self.gpu_memory_mib = Some(memory_mib);
        self
    }

    /// Sets the CPU (millicores) and memory (bytes).
    ///
    /// ```
    /// use runai_core::cluster::Node;
    /// let node = Node::new("n").with_cpu_memory(64_000, 512 << 30);
    /// assert_eq!(node.cpu_millicores, 64_000);
    /// ```
    #[must_use]
    pub fn with_cpu_memory(mut self, cpu_millicores: u64, memory_bytes: u64) -> Self {
        self.cpu_millicores = cpu_millicores;
        self.memory_bytes = memory_bytes;
        self
    }

    /// Adds or replaces a label.
    ///
    /// ```
    /// use runai_core::cluster::Node;
    /// assert_eq!(Node::new("n").with_label("rack", "r1").label("rack"), Some("r1"));
    /// ```
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Puts the node in the named node pool.
    ///
    /// ```
    /// use runai_core::cluster::Node;
    /// assert_eq!(Node::new("n").in_pool("h100").node_pool.as_deref(), Some("h100"));
    /// ```
    #[must_use]
    pub fn in_pool(mut self, node_pool: impl Into<String>) -> Self {
        self.node_pool = Some(node_pool.into());
        self
    }

    /// The value of a label, if set.
    #[must_use]
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// GPU memory summed over all devices, in MiB; `None` when the per-device size is unknown.
    #[must_use]
    pub fn total_gpu_memory_mib(&self) -> Option<u64> {
        self.gpu_memory_mib
            .map(|per_device| per_device.saturating_mul(u64::from(self.gpu_count)))
    }

    /// The node's label values along `topology`, widest level first.
    ///
    /// ```
    /// use runai_core::cluster::{Node, Topology, RACK_LABEL, ZONE_LABEL};
    /// let node = Node::new("n").with_label(ZONE_LABEL, "z1").with_label(RACK_LABEL, "r4");
    /// let path = node.topology_path(&Topology::new("t", [ZONE_LABEL, RACK_LABEL]));
    /// assert_eq!(path.value(1), Some("r4"));
    /// ```
    #[must_use]
    pub fn topology_path(&self, topology: &Topology) -> TopologyPath {
        topology.path_of(self)
    }

    /// The Multi-Node NVLink clique of this node's GPUs, from the `nvidia.com/gpu.clique` label.
    ///
    /// ```
    /// use runai_core::cluster::{Node, GPU_CLIQUE_LABEL};
    /// let node = Node::new("n").with_label(GPU_CLIQUE_LABEL, "5c1b0d9e-0000-4000-8000-000000000000.2");
    /// assert_eq!(node.gpu_clique().unwrap().clique_id, "2");
    /// ```
    #[must_use]
    pub fn gpu_clique(&self) -> Option<GpuClique> {
        self.label(GPU_CLIQUE_LABEL).and_then(GpuClique::parse)
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        if let Err(why) = check_dns1123_subdomain(&self.name) {
            c.at("name", why);
        }
        c.non_empty("gpuModel", self.gpu_model.as_ref());
        c.ensure(self.gpu_memory_mib != Some(0), "gpuMemoryMib", || {
            "must be more than 0 MiB; leave it out when unknown".to_owned()
        });
        if self.gpu_count == 0 && (self.gpu_model.is_some() || self.gpu_memory_mib.is_some()) {
            c.at(
                "gpuCount",
                "is 0 but a GPU model or memory is set; set the number of GPUs",
            );
        }
        c.non_empty("nodePool", self.node_pool.as_ref());
        c.field("labels", |c| {
            for (key, value) in &self.labels {
                if let Err(why) = check_label_key(key) {
                    c.here(why);
                } else if let Err(why) = check_label_value(value) {
                    c.here(format!("label `{key}`: {why}"));
                }
            }
        });
        c.opt("mig", self.mig.as_ref(), |mig, c| mig.check(c, self.gpu_count));
    }
}

/// Multi-Instance GPU partitioning of a node's GPUs.
///
/// ```
/// use runai_core::cluster::{MigConfig, MigStrategy};
/// let mig: MigConfig = serde_json::from_str(r#"{"strategy": "mixed", "instances": {"1g.10gb": 14, "3g.40gb": 4}}"#).unwrap();
/// assert_eq!(mig.strategy, MigStrategy::Mixed);
/// assert_eq!(mig.instances["1g.10gb"], 14);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigConfig {
    /// How the NVIDIA device plugin exposes the instances.
    pub strategy: MigStrategy,
    /// MIG instances on the whole node, by profile (for example `1g.10gb`).
    #[serde(default)]
    pub instances: BTreeMap<String, u32>,
}

impl MigConfig {
    fn check(&self, c: &mut Checker, gpu_count: u32) {
        if gpu_count == 0 {
            c.here("MIG needs GPUs; set gpuCount or remove mig");
        }
        c.field("instances", |c| {
            if self.instances.is_empty() {
                c.here("must list at least one MIG profile and its instance count");
            }
            if self.strategy == MigStrategy::Single && self.instances.len() > 1 {
                c.here("the single strategy allows one MIG profile per node; use mixed or keep one profile");
            }
            for (profile, count) in &self.instances {
                if !is_mig_profile(profile) {
                    c.here(format!(
                        "`{profile}` is not a MIG profile; use the `<n>g.<m>gb` form, e.g. `1g.10gb`"
                    ));
                } else if *count == 0 {
                    c.here(format!(
                        "profile `{profile}` has 0 instances; remove it or give a count"
                    ));
                }
            }
        });
    }
}

/// The NVIDIA device plugin's MIG strategy.
///
/// ```
/// use runai_core::cluster::MigStrategy;
/// assert_eq!(serde_json::to_string(&MigStrategy::Single).unwrap(), r#""single""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MigStrategy {
    /// Every GPU has the same profile; instances appear as `nvidia.com/gpu`.
    Single,
    /// Profiles may differ; each appears as its own `nvidia.com/mig-<profile>` resource.
    Mixed,
}

/// `<n>g.<m>gb`, with an optional `+suffix` such as `+me`.
fn is_mig_profile(profile: &str) -> bool {
    let base = profile.split_once('+').map_or(profile, |(base, _)| base);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    base.split_once("g.")
        .is_some_and(|(slices, memory)| digits(slices) && memory.strip_suffix("gb").is_some_and(digits))
}

/// A group of nodes scheduled together, with its own quotas and placement strategy.
///
/// ```
/// use runai_core::cluster::{Node, NodePool};
/// let pool = NodePool::new("h100").selecting("node-type", "h100");
/// assert!(pool.selects(&Node::new("n").with_label("node-type", "h100")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    /// Pool name, which workloads and quotas refer to.
    pub name: String,
    /// Nodes with this label (and [`label_value`](Self::label_value)) belong to the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_key: Option<String>,
    /// The label value that selects nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_value: Option<String>,
    /// How pods are spread over the pool's nodes, per resource.
    #[serde(default)]
    pub placement_strategy: PlacementStrategies,
    /// Name of the [`Topology`] that applies to the pool's nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_topology: Option<String>,
}

impl NodePool {
    /// A pool with no label selector and bin-packing placement.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Selects the nodes labelled `key=value`.
    #[must_use]
    pub fn selecting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.label_key = Some(key.into());
        self.label_value = Some(value.into());
        self
    }

    /// Whether the pool's label selector matches `node`; `false` for a pool with no selector.
    #[must_use]
    pub fn selects(&self, node: &Node) -> bool {
        match (&self.label_key, &self.label_value) {
            (Some(key), Some(value)) => node.label(key) == Some(value.as_str()),
            _ => false,
        }
    }

    /// Whether this is the pool of nodes no other pool selects.
    #[must_use]
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_NODE_POOL
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        c.dns_label("name", Some(&self.name));
        match (&self.label_key, &self.label_value) {
            (Some(key), Some(value)) => {
                if let Err(why) = check_label_key(key) {
                    c.at("labelKey", why);
                }
                if let Err(why) = check_label_value(value) {
                    c.at("labelValue", why);
                }
            }
            (Some(_), None) => c.at("labelValue", "is required with labelKey; set both or neither"),
            (None, Some(_)) => c.at("labelKey", "is required with labelValue; set both or neither"),
            (None, None) => {}
        }
        c.non_empty("networkTopology", self.network_topology.as_ref());
    }
}

/// The placement strategy for GPUs and for CPU (Run:ai's `placementStrategy`).
///
/// ```
/// use runai_core::cluster::{PlacementStrategies, PlacementStrategy};
/// let s: PlacementStrategies = serde_json::from_str(r#"{"gpu": "spread"}"#).unwrap();
/// assert_eq!((s.gpu, s.cpu), (PlacementStrategy::Spread, PlacementStrategy::Binpack));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStrategies {
    /// Strategy for GPU workloads.
    #[serde(default)]
    pub gpu: PlacementStrategy,
    /// Strategy for CPU-only workloads.
    #[serde(default)]
    pub cpu: PlacementStrategy,
}

/// Whether to fill nodes one by one or balance load across them.
///
/// ```
/// use runai_core::cluster::PlacementStrategy;
/// assert_eq!(PlacementStrategy::default(), PlacementStrategy::Binpack);
/// assert_eq!(serde_json::to_string(&PlacementStrategy::Spread).unwrap(), r#""spread""#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PlacementStrategy {
    /// Fill the fullest nodes first, keeping whole nodes free for large jobs (KAI's default).
    #[default]
    Binpack,
    /// Prefer the emptiest nodes, spreading load and failure impact.
    Spread,
}

impl_validate!(Node, NodePool);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Validate;

    fn paths(errors: &crate::error::ValidationErrors) -> Vec<&str> {
        errors.violations().iter().map(|v| v.path.as_str()).collect()
    }

    #[test]
    fn json_shape_is_camel_case_and_omits_defaults() {
        let node = Node::new("n1")
            .with_gpus(2, "H100-SXM5-80GB", 81_559)
            .in_pool("h100");
        let json = serde_json::to_value(&node).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "n1", "gpuCount": 2, "gpuModel": "H100-SXM5-80GB", "gpuMemoryMib": 81559,
                "cpuMillicores": 0, "memoryBytes": 0, "nodePool": "h100"
            })
        );
        let back: Node = serde_json::from_value(serde_json::json!({"name": "n1"})).unwrap();
        assert!(back.schedulable);
        let cordoned: Node =
            serde_json::from_value(serde_json::json!({"name": "n1", "schedulable": false})).unwrap();
        assert!(!cordoned.schedulable);
    }

    #[test]
    fn node_rules() {
        let mut node = Node::new("Bad_Name").with_label("ok", "bad value");
        node.gpu_memory_mib = Some(0);
        node.mig = Some(MigConfig {
            strategy: MigStrategy::Single,
            instances: BTreeMap::from([("1g.10gb".into(), 7), ("huge".into(), 1)]),
        });
        let errors = node.validate().unwrap_err();
        assert_eq!(
            paths(&errors),
            [
                "name",
                "gpuMemoryMib",
                "gpuCount",
                "labels",
                "mig",
                "mig.instances",
                "mig.instances"
            ]
        );
    }

    #[test]
    fn mig_profiles() {
        assert!(is_mig_profile("1g.10gb"));
        assert!(is_mig_profile("7g.80gb"));
        assert!(is_mig_profile("1g.10gb+me"));
        assert!(!is_mig_profile("1g10gb"));
        assert!(!is_mig_profile("g.10gb"));
        assert!(!is_mig_profile("1g.gb"));
    }

    #[test]
    fn pool_rules() {
        assert!(
            NodePool::new("h100")
                .selecting("node-type", "h100")
                .validate()
                .is_ok()
        );
        let pool = NodePool {
            label_key: Some("node-type".into()),
            ..NodePool::new("H100")
        };
        assert_eq!(paths(&pool.validate().unwrap_err()), ["name", "labelValue"]);
        assert!(!NodePool::new("default").selects(&Node::new("n")));
    }
}
