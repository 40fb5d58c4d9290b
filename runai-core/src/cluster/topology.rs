//! Network topology: ordered node-label levels, a node's path through them, and the domains
//! that gang and MNNVL placement keep a workload inside.
//!
//! The shape follows KAI-Scheduler's `Topology` custom resource (`spec.levels[].nodeLabel`,
//! widest level first), which itself follows Kueue's.

use std::collections::BTreeSet;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Node, each_indexed};
use crate::validate::{Checker, MAX_LABEL_LEN};

/// The availability-zone node label.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The network block node label (a group of racks behind one spine).
pub const BLOCK_LABEL: &str = "network.topology.kubernetes.io/block";
/// The rack node label.
pub const RACK_LABEL: &str = "network.topology.kubernetes.io/rack";
/// The Multi-Node NVLink clique label set by GPU Feature Discovery; its value is
/// `<clusterUUID>.<cliqueID>` (see [`GpuClique`]).
pub const GPU_CLIQUE_LABEL: &str = "nvidia.com/gpu.clique";
/// The node's host name, only ever the narrowest level.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// The most levels a topology may have (a KAI `Topology` allows 1 to 16).
pub const MAX_TOPOLOGY_LEVELS: usize = 16;

/// A named network hierarchy: node labels ordered from the widest level to the narrowest.
///
/// ```
/// use runai_core::cluster::{Topology, GPU_CLIQUE_LABEL};
/// let topology = Topology::datacenter("dc");
/// assert_eq!(topology.levels.len(), 5);
/// assert_eq!(topology.level_index(GPU_CLIQUE_LABEL), Some(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    /// Name that node pools and workloads refer to, as a KAI `Topology` object name.
    pub name: String,
    /// Levels from the widest (for example the zone) to the narrowest (usually the host).
    #[serde(default)]
    pub levels: Vec<TopologyLevel>,
}

/// One level of a [`Topology`]: the node label whose value names a node's domain there.
///
/// ```
/// use runai_core::cluster::TopologyLevel;
/// let level = TopologyLevel::gpu_clique();
/// assert_eq!(serde_json::to_value(&level).unwrap(), serde_json::json!({"nodeLabel": "nvidia.com/gpu.clique"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologyLevel {
    /// The node label key, for example `network.topology.kubernetes.io/rack`.
    pub node_label: String,
}

impl TopologyLevel {
    /// A level keyed by `node_label`.
    #[must_use]
    pub fn new(node_label: impl Into<String>) -> Self {
        Self {
            node_label: node_label.into(),
        }
    }

    /// The Multi-Node NVLink level, keyed by [`GPU_CLIQUE_LABEL`]: GPUs in one clique share an
    /// NVLink fabric across nodes (an NVL72 rack, for example).
    #[must_use]
    pub fn gpu_clique() -> Self {
        Self::new(GPU_CLIQUE_LABEL)
    }
}

impl Topology {
    /// A topology with these node labels as levels, widest first.
    ///
    /// ```
    /// use runai_core::cluster::Topology;
    /// let t = Topology::new("racks", ["network.topology.kubernetes.io/rack", "kubernetes.io/hostname"]);
    /// assert_eq!(t.levels[1].node_label, "kubernetes.io/hostname");
    /// ```
    #[must_use]
    pub fn new<L: Into<String>>(name: impl Into<String>, node_labels: impl IntoIterator<Item = L>) -> Self {
        Self {
            name: name.into(),
            levels: node_labels.into_iter().map(TopologyLevel::new).collect(),
        }
    }

    /// Zone > block > rack > MNNVL clique > host, the hierarchy of a typical GPU data centre.
    ///
    /// ```
    /// use runai_core::cluster::{Topology, ZONE_LABEL, HOSTNAME_LABEL};
    /// let t = Topology::datacenter("dc");
    /// assert_eq!(t.levels[0].node_label, ZONE_LABEL);
    /// assert_eq!(t.levels[4].node_label, HOSTNAME_LABEL);
    /// ```
    #[must_use]
    pub fn datacenter(name: impl Into<String>) -> Self {
        Self::new(
            name,
            [
                ZONE_LABEL,
                BLOCK_LABEL,
                RACK_LABEL,
                GPU_CLIQUE_LABEL,
                HOSTNAME_LABEL,
            ],
        )
    }

    /// MNNVL clique > host, the hierarchy KAI-Scheduler uses for GB200 NVL72 racks.
    ///
    /// ```
    /// use runai_core::cluster::{Topology, GPU_CLIQUE_LABEL};
    /// assert_eq!(Topology::mnnvl("nvl72").levels[0].node_label, GPU_CLIQUE_LABEL);
    /// ```
    #[must_use]
    pub fn mnnvl(name: impl Into<String>) -> Self {
        Self::new(name, [GPU_CLIQUE_LABEL, HOSTNAME_LABEL])
    }

    /// Position of the level keyed by `node_label`, 0 being the widest.
    ///
    /// ```
    /// use runai_core::cluster::{Topology, RACK_LABEL};
    /// assert_eq!(Topology::datacenter("dc").level_index(RACK_LABEL), Some(2));
    /// assert_eq!(Topology::mnnvl("m").level_index(RACK_LABEL), None);
    /// ```
    #[must_use]
    pub fn level_index(&self, node_label: &str) -> Option<usize> {
        self.levels
            .iter()
            .position(|level| level.node_label == node_label)
    }

    /// The node's label value at each level, widest first; `None` where the label is missing.
    ///
    /// ```
    /// use runai_core::cluster::{Node, Topology, GPU_CLIQUE_LABEL, HOSTNAME_LABEL};
    /// let node = Node::new("gb200-01").with_label(GPU_CLIQUE_LABEL, "uuid.1").with_label(HOSTNAME_LABEL, "gb200-01");
    /// let path = Topology::mnnvl("m").path_of(&node);
    /// assert_eq!(path.value(0), Some("uuid.1"));
    /// assert!(path.is_complete());
    /// ```
    #[must_use]
    pub fn path_of(&self, node: &Node) -> TopologyPath {
        TopologyPath::new(
            self.levels
                .iter()
                .map(|level| node.label(&level.node_label).map(str::to_owned))
                .collect(),
        )
    }

    /// The domain that holds `node` at the level keyed by `node_label`.
    ///
    /// `None` when the topology has no such level, or when the node lacks the label of this
    /// level or of any wider one: a domain is nested in its parent (rack `r1` of zone `a` is not
    /// rack `r1` of zone `b`), so it cannot be named without every label above it. KAI likewise
    /// leaves nodes without the required label out of a required placement.
    ///
    /// ```
    /// use runai_core::cluster::{Node, Topology, ZONE_LABEL, RACK_LABEL};
    /// let topology = Topology::new("t", [ZONE_LABEL, RACK_LABEL]);
    /// let a = Node::new("a").with_label(ZONE_LABEL, "z1").with_label(RACK_LABEL, "r1");
    /// let b = Node::new("b").with_label(ZONE_LABEL, "z2").with_label(RACK_LABEL, "r1");
    /// assert_ne!(topology.domain_of(&a, RACK_LABEL), topology.domain_of(&b, RACK_LABEL));
    /// assert_eq!(topology.domain_of(&a, RACK_LABEL).unwrap().to_string(), "z1/r1");
    /// ```
    #[must_use]
    pub fn domain_of(&self, node: &Node, node_label: &str) -> Option<TopologyDomain> {
        let index = self.level_index(node_label)?;
        self.path_of(node).domain(&self.levels[index].node_label, index)
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        if self.name.is_empty() {
            c.at(
                "name",
                "must not be empty; name the topology so node pools can refer to it",
            );
        }
        c.field("levels", |c| {
            if self.levels.is_empty() || self.levels.len() > MAX_TOPOLOGY_LEVELS {
                c.here(format!(
                    "must have between 1 and {MAX_TOPOLOGY_LEVELS} levels, got {}",
                    self.levels.len()
                ));
            }
        });
        let last = self.levels.len().saturating_sub(1);
        let mut seen = BTreeSet::new();
        each_indexed(c, "levels", &self.levels, |i, level, c| {
            let label = &level.node_label;
            if let Err(why) = check_label_key(label) {
                c.at("nodeLabel", why);
            } else if !seen.insert(label.as_str()) {
                c.at(
                    "nodeLabel",
                    format!("`{label}` appears twice; each level needs its own label"),
                );
            } else if label == HOSTNAME_LABEL && i != last {
                c.at(
                    "nodeLabel",
                    format!("`{HOSTNAME_LABEL}` may only be the last, narrowest level"),
                );
            }
        });
    }
}

/// A node's label values along a [`Topology`], widest level first.
///
/// ```
/// use runai_core::cluster::TopologyPath;
/// let path = TopologyPath::new(vec![Some("z1".into()), None]);
/// assert_eq!(path.depth(), 1);
/// assert!(!path.is_complete());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct TopologyPath(Vec<Option<String>>);

impl TopologyPath {
    /// A path from per-level values, widest first.
    #[must_use]
    pub fn new(values: Vec<Option<String>>) -> Self {
        Self(values)
    }

    /// Every level's value, widest first.
    #[must_use]
    pub fn values(&self) -> &[Option<String>] {
        &self.0
    }

    /// The value at level `index`, if the node has that label.
    #[must_use]
    pub fn value(&self, index: usize) -> Option<&str> {
        self.0.get(index).and_then(Option::as_deref)
    }

    /// How many levels, from the widest, the node has labels for without a gap.
    #[must_use]
    pub fn depth(&self) -> usize {
        self.0.iter().take_while(|value| value.is_some()).count()
    }

    /// Whether the node has a label for every level.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.depth() == self.0.len()
    }

    /// The domain at level `index` (keyed by `node_label`), if every level down to it is set.
    fn domain(&self, node_label: &str, index: usize) -> Option<TopologyDomain> {
        if index >= self.depth() {
            return None;
        }
        let values = self.0[..=index].iter().flatten().cloned().collect();
        Some(TopologyDomain {
            level: node_label.to_owned(),
            values,
        })
    }
}

/// One domain of a topology level: the label values leading to it from the widest level.
///
/// Two nodes share a domain exactly when their `TopologyDomain`s are equal. It displays as the
/// values joined by `/`, which cannot occur inside a label value, so the text is unique too.
///
/// ```
/// use runai_core::cluster::TopologyDomain;
/// let rack = TopologyDomain { level: "network.topology.kubernetes.io/rack".into(), values: vec!["z1".into(), "r7".into()] };
/// assert_eq!(rack.to_string(), "z1/r7");
/// assert_eq!(rack.value(), Some("r7"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologyDomain {
    /// The node label of the level this domain belongs to.
    pub level: String,
    /// Label values from the widest level down to this one.
    pub values: Vec<String>,
}

impl TopologyDomain {
    /// The domain's own label value, at its level.
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.values.last().map(String::as_str)
    }
}

impl fmt::Display for TopologyDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.values.join("/"))
    }
}

/// A Multi-Node NVLink clique, parsed from the [`GPU_CLIQUE_LABEL`] value
/// `<clusterUUID>.<cliqueID>`.
///
/// ```
/// use runai_core::cluster::GpuClique;
/// let clique = GpuClique::parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.3").unwrap();
/// assert_eq!(clique.clique_id, "3");
/// assert_eq!(clique.to_string(), "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.3");
/// assert!(GpuClique::parse("no-dot").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GpuClique {
    /// The NVLink fabric cluster UUID reported by NVML.
    pub cluster_uuid: String,
    /// The clique within that fabric.
    pub clique_id: String,
}

impl GpuClique {
    /// Parses a label value; `None` unless both parts are present and non-empty.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        // A UUID has no dot, so the first dot separates the two parts.
        let (cluster_uuid, clique_id) = value.split_once('.')?;
        if cluster_uuid.is_empty() || clique_id.is_empty() {
            return None;
        }
        Some(Self {
            cluster_uuid: cluster_uuid.to_owned(),
            clique_id: clique_id.to_owned(),
        })
    }
}

impl fmt::Display for GpuClique {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.cluster_uuid, self.clique_id)
    }
}

/// The longest DNS subdomain Kubernetes accepts (label key prefixes, node names).
const MAX_SUBDOMAIN_LEN: usize = 253;

/// Checks a Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit.
pub(super) fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        check_dns1123_subdomain(prefix)
            .map_err(|why| format!("label key `{key}` has a bad prefix: {why}"))?;
    }
    if name.is_empty() || name.len() > MAX_LABEL_LEN || !is_label_text(name) {
        return Err(format!(
            "`{key}` is not a valid label key; use an optional DNS prefix and `/`, then at most \
             {MAX_LABEL_LEN} letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks a Kubernetes label value: empty, or as the name part of a key.
pub(super) fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || (value.len() <= MAX_LABEL_LEN && is_label_text(value)) {
        return Ok(());
    }
    Err(format!(
        "`{value}` is not a valid label value; use at most {MAX_LABEL_LEN} letters, digits, '-', '_' or '.', \
         starting and ending with a letter or digit"
    ))
}

/// Checks a DNS subdomain (RFC 1123): dot-separated lower-case labels, at most 253 characters.
pub(super) fn check_dns1123_subdomain(value: &str) -> Result<(), String> {
    let shape = "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
    if value.is_empty() {
        return Err(format!("must not be empty; use {shape}"));
    }
    if value.len() > MAX_SUBDOMAIN_LEN {
        return Err(format!(
            "must be at most {MAX_SUBDOMAIN_LEN} characters, got {}",
            value.len()
        ));
    }
    let part_ok = |part: &str| {
        let bytes = part.as_bytes();
        let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        bytes.first().is_some_and(edge)
            && bytes.last().is_some_and(edge)
            && bytes.iter().all(|b| edge(b) || *b == b'-')
    };
    if value.split('.').all(part_ok) {
        Ok(())
    } else {
        Err(format!("`{value}` is not a valid name; use {shape}"))
    }
}

fn is_label_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Validate;

    fn gb200(name: &str, clique: &str) -> Node {
        Node::new(name)
            .with_label(ZONE_LABEL, "us-east-1a")
            .with_label(BLOCK_LABEL, "b1")
            .with_label(RACK_LABEL, "r1")
            .with_label(GPU_CLIQUE_LABEL, clique)
            .with_label(HOSTNAME_LABEL, name)
    }

    #[test]
    fn path_lists_values_widest_first() {
        let node = gb200("n1", "uuid.7");
        let path = Topology::datacenter("dc").path_of(&node);
        let values: Vec<_> = (0..5).map(|i| path.value(i)).collect();
        assert_eq!(
            values,
            [
                Some("us-east-1a"),
                Some("b1"),
                Some("r1"),
                Some("uuid.7"),
                Some("n1")
            ]
        );
        assert!(path.is_complete());
        assert_eq!(node.topology_path(&Topology::datacenter("dc")), path);
    }

    #[test]
    fn missing_label_cuts_the_path() {
        let mut node = gb200("n1", "uuid.7");
        node.labels.remove(BLOCK_LABEL);
        let topology = Topology::datacenter("dc");
        assert_eq!(topology.path_of(&node).depth(), 1);
        assert!(topology.domain_of(&node, ZONE_LABEL).is_some());
        assert!(topology.domain_of(&node, RACK_LABEL).is_none());
        assert!(topology.domain_of(&node, "unknown/level").is_none());
    }

    #[test]
    fn nodes_share_a_clique_domain_only_with_the_same_clique() {
        let topology = Topology::datacenter("dc");
        let a = topology.domain_of(&gb200("a", "uuid.1"), GPU_CLIQUE_LABEL);
        let b = topology.domain_of(&gb200("b", "uuid.1"), GPU_CLIQUE_LABEL);
        let c = topology.domain_of(&gb200("c", "uuid.2"), GPU_CLIQUE_LABEL);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let a = a.unwrap();
        assert_eq!(a.level, GPU_CLIQUE_LABEL);
        assert_eq!(a.to_string(), "us-east-1a/b1/r1/uuid.1");
    }

    #[test]
    fn clique_label_parses() {
        let node = gb200("a", "c0ffee00-0000-0000-0000-000000000001.12");
        let clique = node.gpu_clique().unwrap();
        assert_eq!(clique.cluster_uuid, "c0ffee00-0000-0000-0000-000000000001");
        assert_eq!(clique.clique_id, "12");
        assert!(GpuClique::parse(".1").is_none());
        assert!(GpuClique::parse("uuid.").is_none());
    }

    #[test]
    fn topology_rules() {
        let mut topology = Topology::new("", [HOSTNAME_LABEL, RACK_LABEL, RACK_LABEL, "bad key!"]);
        topology
            .levels
            .extend((0..13).map(|i| TopologyLevel::new(format!("l{i}"))));
        let errors = topology.validate().unwrap_err();
        let paths: Vec<_> = errors.violations().iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "name",
                "levels",
                "levels[0].nodeLabel",
                "levels[2].nodeLabel",
                "levels[3].nodeLabel"
            ]
        );
        assert!(Topology::datacenter("dc").validate().is_ok());
    }

    #[test]
    fn label_shapes() {
        assert!(check_label_key(GPU_CLIQUE_LABEL).is_ok());
        assert!(check_label_key("node-type").is_ok());
        assert!(check_label_key("Example.com/x").is_err());
        assert!(check_label_key("a/").is_err());
        assert!(check_label_key(&"a".repeat(64)).is_err());
        assert!(check_label_value("").is_ok());
        assert!(check_label_value("H100-SXM5-80GB").is_ok());
        assert!(check_label_value("-x").is_err());
        assert!(check_dns1123_subdomain("node-1.example.com").is_ok());
        assert!(check_dns1123_subdomain("node..1").is_err());
    }
}
