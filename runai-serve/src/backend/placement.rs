//! Where the scheduler put (or should put) a revision's pods, as backends read it.

/// Where the scheduler put (or should put) the revision's pods.
///
/// ```
/// use runai_serve::backend::Placement;
/// let placement = Placement { node_pool: Some("h100".into()), nodes: vec!["node-7".into()], ..Placement::default() };
/// assert_eq!(placement.nodes.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// The node pool chosen among the spec's `nodePools`.
    pub node_pool: Option<String>,
    /// Nodes the pods must run on (empty: any node the rest of the spec allows).
    pub nodes: Vec<String>,
    /// How close together the pods of one group must land (multi-node groups only).
    pub topology: Option<GroupTopology>,
}

/// A topology constraint for the pods of one multi-node group, in KAI's terms: the name of a
/// KAI `Topology` object and the node label of the level the group must (or should) fit in,
/// for example `nvidia.com/gpu.clique` to keep a group inside one NVLink (MNNVL) domain.
///
/// ```
/// use runai_serve::backend::GroupTopology;
/// let topology = GroupTopology::required("gb200", "nvidia.com/gpu.clique");
/// assert_eq!(topology.required_level.as_deref(), Some("nvidia.com/gpu.clique"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTopology {
    /// The KAI `Topology` object that describes the cluster's levels.
    pub topology: String,
    /// The level every pod of a group must share; the group waits rather than spread wider.
    pub required_level: Option<String>,
    /// The level a group should share when there is room.
    pub preferred_level: Option<String>,
}

impl GroupTopology {
    /// Every pod of a group on nodes sharing the value of the node label `level`.
    pub fn required(topology: impl Into<String>, level: impl Into<String>) -> Self {
        Self {
            topology: topology.into(),
            required_level: Some(level.into()),
            preferred_level: None,
        }
    }

    /// The pods of a group on nodes sharing `level` when possible.
    pub fn preferred(topology: impl Into<String>, level: impl Into<String>) -> Self {
        Self {
            topology: topology.into(),
            required_level: None,
            preferred_level: Some(level.into()),
        }
    }
}
