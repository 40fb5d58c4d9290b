//! The cluster model the scheduler and the deployment backends share: nodes and their GPUs,
//! network topology (including Multi-Node NVLink cliques), node pools, projects and
//! departments with KAI-Scheduler queue quotas, and priority classes.
//!
//! A [`Cluster`] is a snapshot: the embedded platform reads one from its config file, the
//! Kubernetes backend builds one from Node objects and Run:ai org units.
//!
//! ```
//! use runai_core::Validate;
//! use runai_core::cluster::{Cluster, Node, NodePool, Project, NodePoolQuota, ResourceQuota, Topology};
//! let cluster: Cluster = serde_json::from_value(serde_json::json!({
//!     "nodes": [{"name": "dgx-01", "gpuCount": 8, "gpuModel": "H100-SXM5-80GB", "gpuMemoryMib": 81559,
//!                "labels": {"node-type": "h100"}}],
//!     "nodePools": [{"name": "h100", "labelKey": "node-type", "labelValue": "h100"}],
//!     "projects": [{"id": "1", "name": "team-a", "quotas": [{"nodePool": "h100", "gpus": {"deserved": 4}}]}]
//! })).unwrap();
//! cluster.validate().unwrap();
//! assert_eq!(cluster.gpu_capacity("h100"), 8);
//! ```

mod node;
mod priority;
mod quota;
mod topology;

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use node::{
    DEFAULT_NODE_POOL, MigConfig, MigStrategy, Node, NodePool, PlacementStrategies, PlacementStrategy,
};
pub use priority::{
    INFERENCE_PREEMPTIBILITY, INFERENCE_PRIORITY_CLASS, NON_PREEMPTIBLE_PRIORITY, effective_preemptibility,
    preemptibility_for_priority,
};
pub use quota::{
    DEFAULT_OVER_QUOTA_WEIGHT, DEFAULT_QUEUE_PRIORITY, Department, NodePoolQuota, Project, ResourceQuota,
};
pub use topology::{
    BLOCK_LABEL, GPU_CLIQUE_LABEL, GpuClique, HOSTNAME_LABEL, MAX_TOPOLOGY_LEVELS, RACK_LABEL, Topology,
    TopologyDomain, TopologyLevel, TopologyPath, ZONE_LABEL,
};

use crate::validate::{Checker, impl_validate};
use crate::{DepartmentId, ProjectId};

/// A snapshot of a cluster: its nodes, topologies, node pools, departments and projects.
///
/// ```
/// use runai_core::cluster::{Cluster, Node, NodePool};
/// let cluster = Cluster {
///     nodes: vec![Node::new("a").with_label("node-type", "h100"), Node::new("b")],
///     node_pools: vec![NodePool::new("h100").selecting("node-type", "h100")],
///     ..Cluster::default()
/// };
/// assert_eq!(cluster.node_pool_of(&cluster.nodes[0]), "h100");
/// assert_eq!(cluster.node_pool_of(&cluster.nodes[1]), "default");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// Every node, schedulable or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Node>,
    /// Network topologies that node pools refer to by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topologies: Vec<Topology>,
    /// Node pools. [`DEFAULT_NODE_POOL`] exists even when not listed, with default settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_pools: Vec<NodePool>,
    /// Departments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<Department>,
    /// Projects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<Project>,
}

impl Cluster {
    /// The node called `name`.
    #[must_use]
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.name == name)
    }

    /// The node pool called `name`, if listed (the default pool may be implicit).
    #[must_use]
    pub fn node_pool(&self, name: &str) -> Option<&NodePool> {
        self.node_pools.iter().find(|pool| pool.name == name)
    }

    /// Whether `name` is a listed node pool or the implicit default pool.
    ///
    /// ```
    /// use runai_core::cluster::Cluster;
    /// assert!(Cluster::default().has_node_pool("default"));
    /// assert!(!Cluster::default().has_node_pool("h100"));
    /// ```
    #[must_use]
    pub fn has_node_pool(&self, name: &str) -> bool {
        name == DEFAULT_NODE_POOL || self.node_pool(name).is_some()
    }

    /// The placement strategies of a pool; the defaults for an unlisted pool.
    ///
    /// ```
    /// use runai_core::cluster::{Cluster, PlacementStrategy};
    /// assert_eq!(Cluster::default().placement_strategy("default").gpu, PlacementStrategy::Binpack);
    /// ```
    #[must_use]
    pub fn placement_strategy(&self, node_pool: &str) -> PlacementStrategies {
        self.node_pool(node_pool)
            .map(|pool| pool.placement_strategy)
            .unwrap_or_default()
    }

    /// The pool `node` belongs to: its `nodePool` field, else the first listed pool whose label
    /// selector matches it, else [`DEFAULT_NODE_POOL`].
    #[must_use]
    pub fn node_pool_of<'a>(&'a self, node: &'a Node) -> &'a str {
        if let Some(pool) = &node.node_pool {
            return pool;
        }
        self.node_pools
            .iter()
            .find(|pool| pool.selects(node))
            .map_or(DEFAULT_NODE_POOL, |pool| &pool.name)
    }

    /// The nodes of a pool, in listing order.
    ///
    /// ```
    /// use runai_core::cluster::{Cluster, Node};
    /// let cluster = Cluster { nodes: vec![Node::new("a").in_pool("h100"), Node::new("b")], ..Cluster::default() };
    /// let names: Vec<_> = cluster.nodes_in_pool("h100").map(|n| n.name.as_str()).collect();
    /// assert_eq!(names, ["a"]);
    /// ```
    pub fn nodes_in_pool<'a>(&'a self, node_pool: &str) -> impl Iterator<Item = &'a Node> {
        self.nodes
            .iter()
            .filter(move |node| self.node_pool_of(node) == node_pool)
    }

    /// Every pool name the nodes resolve to or the cluster lists, sorted and without repeats.
    ///
    /// ```
    /// use runai_core::cluster::{Cluster, Node};
    /// let cluster = Cluster { nodes: vec![Node::new("a").in_pool("h100"), Node::new("b")], ..Cluster::default() };
    /// assert_eq!(cluster.node_pool_names(), ["default", "h100"]);
    /// ```
    #[must_use]
    pub fn node_pool_names(&self) -> Vec<&str> {
        let listed = self.node_pools.iter().map(|pool| pool.name.as_str());
        let used = self.nodes.iter().map(|node| self.node_pool_of(node));
        listed.chain(used).collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// Whole GPUs on the schedulable nodes of a pool.
    #[must_use]
    pub fn gpu_capacity(&self, node_pool: &str) -> u64 {
        self.nodes_in_pool(node_pool)
            .filter(|node| node.schedulable)
            .map(|node| u64::from(node.gpu_count))
            .sum()
    }

    /// The topology called `name`.
    #[must_use]
    pub fn topology(&self, name: &str) -> Option<&Topology> {
        self.topologies.iter().find(|topology| topology.name == name)
    }

    /// The topology that applies to a pool's nodes, if the pool names one.
    ///
    /// ```
    /// use runai_core::cluster::{Cluster, NodePool, Topology};
    /// let mut pool = NodePool::new("gb200");
    /// pool.network_topology = Some("nvl72".into());
    /// let cluster = Cluster { node_pools: vec![pool], topologies: vec![Topology::mnnvl("nvl72")], ..Cluster::default() };
    /// assert_eq!(cluster.topology_of_pool("gb200").unwrap().name, "nvl72");
    /// ```
    #[must_use]
    pub fn topology_of_pool(&self, node_pool: &str) -> Option<&Topology> {
        self.node_pool(node_pool)?
            .network_topology
            .as_deref()
            .and_then(|name| self.topology(name))
    }

    /// The project with this ID.
    #[must_use]
    pub fn project(&self, id: &ProjectId) -> Option<&Project> {
        self.projects.iter().find(|project| &project.id == id)
    }

    /// The project called `name`.
    #[must_use]
    pub fn project_by_name(&self, name: &str) -> Option<&Project> {
        self.projects.iter().find(|project| project.name == name)
    }

    /// The department with this ID.
    #[must_use]
    pub fn department(&self, id: &DepartmentId) -> Option<&Department> {
        self.departments.iter().find(|department| &department.id == id)
    }

    /// The department of a project, if it has one.
    #[must_use]
    pub fn department_of(&self, project: &Project) -> Option<&Department> {
        project.department_id.as_ref().and_then(|id| self.department(id))
    }

    /// The projects of a department, in listing order.
    pub fn projects_in_department<'a>(&'a self, id: &DepartmentId) -> impl Iterator<Item = &'a Project> {
        self.projects
            .iter()
            .filter(move |project| project.department_id.as_ref() == Some(id))
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        self.check_nodes(c);
        let names = Unique::new(
            "topologies",
            "name",
            self.topologies.iter().map(|t| t.name.as_str()),
        );
        each_indexed(c, "topologies", &self.topologies, |i, topology, c| {
            topology.check(c);
            names.check(c, i, &topology.name);
        });
        let names = Unique::new(
            "nodePools",
            "name",
            self.node_pools.iter().map(|p| p.name.as_str()),
        );
        each_indexed(c, "nodePools", &self.node_pools, |i, pool, c| {
            pool.check(c);
            names.check(c, i, &pool.name);
            if let Some(name) = &pool.network_topology
                && !name.is_empty()
                && self.topology(name).is_none()
            {
                c.at(
                    "networkTopology",
                    format!("names topology `{name}`, which is not listed in topologies"),
                );
            }
        });
        let ids = Unique::new(
            "departments",
            "id",
            self.departments.iter().map(|d| d.id.as_str()),
        );
        let names = Unique::new(
            "departments",
            "name",
            self.departments.iter().map(|d| d.name.as_str()),
        );
        each_indexed(c, "departments", &self.departments, |i, department, c| {
            department.check(c);
            ids.check(c, i, department.id.as_str());
            names.check(c, i, &department.name);
            self.check_pool_refs(c, &department.quotas, &[]);
        });
        let ids = Unique::new("projects", "id", self.projects.iter().map(|p| p.id.as_str()));
        let names = Unique::new("projects", "name", self.projects.iter().map(|p| p.name.as_str()));
        each_indexed(c, "projects", &self.projects, |i, project, c| {
            project.check(c);
            ids.check(c, i, project.id.as_str());
            names.check(c, i, &project.name);
            if let Some(id) = &project.department_id
                && self.department(id).is_none()
            {
                c.at(
                    "departmentId",
                    format!("names department `{id}`, which is not listed in departments"),
                );
            }
            self.check_pool_refs(c, &project.quotas, &project.default_node_pools);
        });
    }

    fn check_nodes(&self, c: &mut Checker) {
        let names = Unique::new("nodes", "name", self.nodes.iter().map(|n| n.name.as_str()));
        each_indexed(c, "nodes", &self.nodes, |i, node, c| {
            node.check(c);
            names.check(c, i, &node.name);
            match &node.node_pool {
                Some(name) if name.is_empty() => {}
                Some(name) => self.check_explicit_pool(c, node, name),
                None => {
                    let matching: Vec<_> = self
                        .node_pools
                        .iter()
                        .filter(|p| p.selects(node))
                        .map(|p| p.name.as_str())
                        .collect();
                    if matching.len() > 1 {
                        c.at(
                            "labels",
                            format!(
                                "match the selectors of node pools {}; a node belongs to one pool, so set nodePool",
                                matching.join(", ")
                            ),
                        );
                    }
                }
            }
        });
    }

    /// A node that names its pool must name a known one, and carry that pool's selector label.
    fn check_explicit_pool(&self, c: &mut Checker, node: &Node, name: &str) {
        match self.node_pool(name) {
            None if name != DEFAULT_NODE_POOL => {
                c.at(
                    "nodePool",
                    format!("names node pool `{name}`, which is not listed in nodePools"),
                );
            }
            Some(NodePool {
                label_key: Some(key),
                label_value,
                ..
            }) if node.label(key) != label_value.as_deref() => {
                c.at(
                    "nodePool",
                    format!(
                        "is `{name}`, but the node lacks the label `{key}={}` that selects that pool; \
                         add the label or change nodePool",
                        label_value.as_deref().unwrap_or_default()
                    ),
                );
            }
            _ => {}
        }
    }

    /// Reports quotas and default node pools that name pools the cluster does not have.
    fn check_pool_refs(&self, c: &mut Checker, quotas: &[NodePoolQuota], defaults: &[String]) {
        let unknown = |name: &str| format!("names node pool `{name}`, which is not listed in nodePools");
        for (i, quota) in quotas.iter().enumerate() {
            if !quota.node_pool.is_empty() && !self.has_node_pool(&quota.node_pool) {
                c.field(&format!("quotas[{i}]"), |c| {
                    c.at("nodePool", unknown(&quota.node_pool));
                });
            }
        }
        for (i, name) in defaults.iter().enumerate() {
            if !self.has_node_pool(name) {
                c.at(&format!("defaultNodePools[{i}]"), unknown(name));
            }
        }
    }
}

/// Runs `check` on every item with its index, under `name[i]` (as `Checker::each` does).
pub(super) fn each_indexed<'a, T>(
    c: &mut Checker,
    name: &str,
    items: &'a [T],
    mut check: impl FnMut(usize, &'a T, &mut Checker),
) {
    for (i, item) in items.iter().enumerate() {
        c.field(&format!("{name}[{i}]"), |c| check(i, item, c));
    }
}

/// A field whose value must differ between the items of a list.
struct Unique<'a> {
    list: &'static str,
    field: &'static str,
    first: BTreeMap<&'a str, usize>,
}

impl<'a> Unique<'a> {
    /// Remembers where each value first appears in `list`.
    fn new(list: &'static str, field: &'static str, values: impl Iterator<Item = &'a str>) -> Self {
        let mut first = BTreeMap::new();
        for (i, value) in values.enumerate() {
            first.entry(value).or_insert(i);
        }
        Self { list, field, first }
    }

    /// Reports `value` of item `index` when an earlier item already uses it.
    fn check(&self, c: &mut Checker, index: usize, value: &str) {
        if let Some(&first) = self.first.get(value)
            && first != index
        {
            let Self { list, field, .. } = self;
            c.at(
                field,
                format!("`{value}` is already used by {list}[{first}].{field}; it must be unique"),
            );
        }
    }
}

impl_validate!(Cluster, Topology);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Validate;

    fn gb200(name: &str, clique: &str) -> Node {
        Node::new(name)
            .with_gpus(4, "GB200", 189_471)
            .with_cpu_memory(144_000, 850 << 30)
            .with_label("node-type", "gb200")
            .with_label(GPU_CLIQUE_LABEL, clique)
            .with_label(HOSTNAME_LABEL, name)
    }

    fn sample() -> Cluster {
        let mut gb200_pool = NodePool::new("gb200").selecting("node-type", "gb200");
        gb200_pool.network_topology = Some("nvl72".into());
        Cluster {
            nodes: vec![
                gb200("gb-01", "uuid.1"),
                gb200("gb-02", "uuid.1"),
                gb200("gb-03", "uuid.2"),
                Node::new("cpu-01").with_cpu_memory(64_000, 256 << 30),
                Node {
                    schedulable: false,
                    ..gb200("gb-04", "uuid.2")
                },
            ],
            topologies: vec![Topology::mnnvl("nvl72")],
            node_pools: vec![gb200_pool],
            departments: vec![Department::new("2", "research")],
            projects: vec![
                Project::new("1", "team-a")
                    .in_department("2")
                    .with_quota(NodePoolQuota::new("gb200").with_gpus(ResourceQuota::deserved(8.0))),
                Project::new("3", "team-b"),
            ],
        }
    }

    fn paths(cluster: &Cluster) -> Vec<String> {
        cluster
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|v| v.path)
            .collect()
    }

    #[test]
    fn sample_is_valid() {
        sample().validate().unwrap();
    }

    #[test]
    fn lookups() {
        let cluster = sample();
        let gb: Vec<_> = cluster.nodes_in_pool("gb200").map(|n| n.name.as_str()).collect();
        assert_eq!(gb, ["gb-01", "gb-02", "gb-03", "gb-04"]);
        let default: Vec<_> = cluster
            .nodes_in_pool(DEFAULT_NODE_POOL)
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(default, ["cpu-01"]);
        assert_eq!(cluster.gpu_capacity("gb200"), 12);
        assert_eq!(cluster.node_pool_names(), ["default", "gb200"]);
        assert_eq!(
            cluster
                .node("gb-03")
                .and_then(Node::gpu_clique)
                .unwrap()
                .clique_id,
            "2"
        );
        assert!(cluster.node("nope").is_none());
        let project = cluster.project(&ProjectId::new("1")).unwrap();
        assert_eq!(project.name, "team-a");
        assert_eq!(cluster.department_of(project).unwrap().name, "research");
        assert_eq!(cluster.project_by_name("team-b").unwrap().id.as_str(), "3");
        let in_research: Vec<_> = cluster
            .projects_in_department(&DepartmentId::new("2"))
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(in_research, ["team-a"]);
        assert_eq!(cluster.topology_of_pool("gb200").unwrap().name, "nvl72");
        assert!(cluster.topology_of_pool(DEFAULT_NODE_POOL).is_none());
    }

    #[test]
    fn clique_domains_group_nodes_of_a_pool() {
        let cluster = sample();
        let topology = cluster.topology_of_pool("gb200").unwrap();
        let mut cliques = BTreeMap::<String, Vec<&str>>::new();
        for node in cluster.nodes_in_pool("gb200") {
            if let Some(domain) = topology.domain_of(node, GPU_CLIQUE_LABEL) {
                cliques.entry(domain.to_string()).or_default().push(&node.name);
            }
        }
        assert_eq!(cliques["uuid.1"], ["gb-01", "gb-02"]);
        assert_eq!(cliques["uuid.2"], ["gb-03", "gb-04"]);
    }

    #[test]
    fn explicit_pool_wins_over_selectors() {
        let mut cluster = sample();
        cluster
            .node_pools
            .push(NodePool::new("other").selecting(HOSTNAME_LABEL, "gb-01"));
        cluster.nodes[0].node_pool = Some("gb200".into());
        assert_eq!(cluster.node_pool_of(&cluster.nodes[0]), "gb200");
        cluster.validate().unwrap();
    }

    #[test]
    fn reference_and_uniqueness_errors_name_their_paths() {
        let mut cluster = sample();
        cluster.nodes[1].name = "gb-01".into();
        cluster.nodes[3].node_pool = Some("a100".into());
        cluster.nodes[4].node_pool = Some(DEFAULT_NODE_POOL.into());
        cluster.node_pools.push(NodePool::new("gb200"));
        cluster.node_pools[0].network_topology = Some("missing".into());
        cluster.departments.push(Department::new("2", "research"));
        cluster.projects[0].department_id = Some("9".into());
        cluster.projects[0].quotas.push(NodePoolQuota::new("a100"));
        cluster.projects[1].default_node_pools = vec!["gb200".into(), "v100".into()];
        cluster.projects[1].id = ProjectId::new("1");
        assert_eq!(
            paths(&cluster),
            [
                "nodes[1].name",
                "nodes[3].nodePool",
                "nodePools[0].networkTopology",
                "nodePools[1].name",
                "departments[1].id",
                "departments[1].name",
                "projects[0].departmentId",
                "projects[0].quotas[1].nodePool",
                "projects[1].id",
                "projects[1].defaultNodePools[1]",
            ]
        );
        let errors = cluster.validate().unwrap_err();
        assert_eq!(
            errors.violations()[0].message,
            "`gb-01` is already used by nodes[0].name; it must be unique"
        );
    }

    #[test]
    fn pool_membership_conflicts() {
        let mut cluster = sample();
        cluster
            .node_pools
            .push(NodePool::new("also-gb").selecting("node-type", "gb200"));
        cluster.nodes[3].node_pool = Some("gb200".into());
        assert_eq!(
            paths(&cluster),
            [
                "nodes[0].labels",
                "nodes[1].labels",
                "nodes[2].labels",
                "nodes[3].nodePool",
                "nodes[4].labels"
            ]
        );
    }

    #[test]
    fn quota_errors_nest_under_their_owner() {
        let mut cluster = sample();
        cluster.projects[0].quotas[0].gpus = ResourceQuota::deserved(8.0).with_limit(4.0);
        cluster.departments[0].quotas.push(NodePoolQuota {
            cpu_millicores: ResourceQuota::deserved(-5.0),
            ..NodePoolQuota::new("gb200")
        });
        assert_eq!(
            paths(&cluster),
            [
                "departments[0].quotas[0].cpuMillicores.deserved",
                "projects[0].quotas[0].gpus.limit"
            ]
        );
    }

    #[test]
    fn strict_parsing_names_typos() {
        let json = r#"{"nodes": [{"name": "n1", "gpuMemoryMiB": 81559}], "nodePool": []}"#;
        let err = crate::parse::strict::<Cluster>(json).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown field `nodePool`; did you mean `nodePools`?\n\
             unknown field `nodes[0].gpuMemoryMiB`; did you mean `gpuMemoryMib`?"
        );
    }

    #[test]
    fn config_file_shape_round_trips() {
        let cluster = sample();
        let json = serde_json::to_value(&cluster).unwrap();
        assert_eq!(json["nodePools"][0]["networkTopology"], "nvl72");
        assert_eq!(json["nodes"][4]["schedulable"], false);
        assert_eq!(json["topologies"][0]["levels"][0]["nodeLabel"], GPU_CLIQUE_LABEL);
        let back: Cluster = serde_json::from_value(json).unwrap();
        assert_eq!(back, cluster);
    }
}
