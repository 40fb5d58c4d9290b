//! Projects, departments and their per-node-pool quotas, with KAI-Scheduler queue semantics:
//! a deserved quota that is guaranteed, an over-quota weight that divides what is left among
//! siblings, and a limit that caps the total.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::each_indexed;
use crate::validate::{Checker, impl_validate};
use crate::{DepartmentId, ProjectId};

/// The queue priority KAI-Scheduler gives a queue that sets none.
pub const DEFAULT_QUEUE_PRIORITY: i32 = 100;

/// The over-quota weight of a quota that sets none: an equal share among such siblings.
pub const DEFAULT_OVER_QUOTA_WEIGHT: f64 = 1.0;

/// Deserved quota, over-quota weight and limit of one resource.
///
/// The amounts are in the unit of the field that holds the quota (GPU devices, millicores or
/// bytes; see [`NodePoolQuota`]).
///
/// ```
/// use runai_core::cluster::ResourceQuota;
/// let q = ResourceQuota::deserved(4.0).with_limit(8.0);
/// assert_eq!(q.max_allowed(), 8.0);
/// assert_eq!(ResourceQuota::deserved(4.0).max_allowed(), f64::INFINITY);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceQuota {
    /// Guaranteed amount: the scheduler reclaims it from others when the owner needs it.
    #[serde(default)]
    pub deserved: f64,
    /// Share of the unused capacity beyond the deserved quota, relative to siblings of the same
    /// queue priority. 0 means no over-quota resources.
    #[serde(default = "default_weight")]
    pub over_quota_weight: f64,
    /// Most the owner may use, deserved included; unset means unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
}

fn default_weight() -> f64 {
    DEFAULT_OVER_QUOTA_WEIGHT
}

impl Default for ResourceQuota {
    fn default() -> Self {
        Self::deserved(0.0)
    }
}

impl ResourceQuota {
    /// A quota with this deserved amount, the default weight and no limit.
    #[must_use]
    pub fn deserved(amount: f64) -> Self {
        Self {
            deserved: amount,
            over_quota_weight: DEFAULT_OVER_QUOTA_WEIGHT,
            limit: None,
        }
    }

    /// Caps the total at `limit`.
    #[must_use]
    pub fn with_limit(mut self, limit: f64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets the over-quota weight.
    ///
    /// ```
    /// use runai_core::cluster::ResourceQuota;
    /// assert_eq!(ResourceQuota::deserved(1.0).with_weight(3.0).over_quota_weight, 3.0);
    /// ```
    #[must_use]
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.over_quota_weight = weight;
        self
    }

    /// The limit, or infinity when unlimited.
    #[must_use]
    pub fn max_allowed(&self) -> f64 {
        self.limit.unwrap_or(f64::INFINITY)
    }

    fn check(&self, c: &mut Checker) {
        let amount = |c: &mut Checker, name: &str, value: f64| {
            if !value.is_finite() || value < 0.0 {
                c.at(
                    name,
                    format!("must be a finite number of at least 0, got {value}"),
                );
                false
            } else {
                true
            }
        };
        let deserved_ok = amount(c, "deserved", self.deserved);
        amount(c, "overQuotaWeight", self.over_quota_weight);
        if let Some(limit) = self.limit
            && amount(c, "limit", limit)
            && deserved_ok
            && limit < self.deserved
        {
            c.at(
                "limit",
                format!(
                    "must be at least the deserved quota ({}), got {limit}; raise it or leave it out for no limit",
                    self.deserved
                ),
            );
        }
    }
}

/// The quotas of a project or department in one node pool; one KAI queue per owner and pool.
///
/// ```
/// use runai_core::cluster::{NodePoolQuota, ResourceQuota};
/// let quota = NodePoolQuota::new("h100").with_gpus(ResourceQuota::deserved(8.0).with_limit(16.0));
/// let json = serde_json::to_value(&quota).unwrap();
/// assert_eq!(json["gpus"], serde_json::json!({"deserved": 8.0, "overQuotaWeight": 1.0, "limit": 16.0}));
/// assert_eq!(json["priority"], 100);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolQuota {
    /// The node pool the quotas apply to.
    pub node_pool: String,
    /// GPUs, in devices; fractions allowed.
    #[serde(default)]
    pub gpus: ResourceQuota,
    /// CPU, in millicores.
    #[serde(default)]
    pub cpu_millicores: ResourceQuota,
    /// Memory, in bytes.
    #[serde(default)]
    pub memory_bytes: ResourceQuota,
    /// Queue priority: higher gets over-quota resources first and is reclaimed from last.
    #[serde(default = "default_priority")]
    pub priority: i32,
}

fn default_priority() -> i32 {
    DEFAULT_QUEUE_PRIORITY
}

impl NodePoolQuota {
    /// Nothing deserved, no limits, default priority, in `node_pool`.
    #[must_use]
    pub fn new(node_pool: impl Into<String>) -> Self {
        Self {
            node_pool: node_pool.into(),
            gpus: ResourceQuota::default(),
            cpu_millicores: ResourceQuota::default(),
            memory_bytes: ResourceQuota::default(),
            priority: DEFAULT_QUEUE_PRIORITY,
        }
    }

    /// Sets the GPU quota.
    #[must_use]
    pub fn with_gpus(mut self, quota: ResourceQuota) -> Self {
        self.gpus = quota;
        self
    }

    fn check(&self, c: &mut Checker) {
        if self.node_pool.is_empty() {
            c.at(
                "nodePool",
                "must not be empty; name the node pool these quotas apply to",
            );
        }
        c.field("gpus", |c| self.gpus.check(c));
        c.field("cpuMillicores", |c| self.cpu_millicores.check(c));
        c.field("memoryBytes", |c| self.memory_bytes.check(c));
    }
}

/// Checks one entry of a quota list and that its node pool has not appeared before.
fn check_quota_entry<'a>(quota: &'a NodePoolQuota, seen: &mut BTreeSet<&'a str>, c: &mut Checker) {
    quota.check(c);
    if !quota.node_pool.is_empty() && !seen.insert(quota.node_pool.as_str()) {
        c.at(
            "nodePool",
            format!(
                "`{}` has quotas twice; merge them into one entry",
                quota.node_pool
            ),
        );
    }
}

/// A project: the unit that owns workloads and quotas (a KAI leaf queue per node pool).
///
/// ```
/// use runai_core::cluster::{NodePoolQuota, Project, ResourceQuota};
/// let project = Project::new("1", "team-a")
///     .in_department("2")
///     .with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(2.0)));
/// assert_eq!(project.quota("default").unwrap().gpus.deserved, 2.0);
/// assert_eq!(project.namespace_or_default(), "runai-team-a");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// Project ID.
    pub id: ProjectId,
    /// Project name, an RFC 1123 label.
    pub name: String,
    /// The parent department (Run:ai's `parentId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    /// Quotas per node pool; a pool without an entry gives the project nothing deserved there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<NodePoolQuota>,
    /// Node pools the project's workloads try, in order, when they name none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_node_pools: Vec<String>,
    /// Kubernetes namespace of the project's workloads; `runai-<name>` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Project {
    /// A project with no department, quotas or node pool preference.
    #[must_use]
    pub fn new(id: impl Into<ProjectId>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            department_id: None,
            quotas: Vec::new(),
            default_node_pools: Vec::new(),
            namespace: None,
        }
    }

    /// Sets the parent department.
    #[must_use]
    pub fn in_department(mut self, department: impl Into<DepartmentId>) -> Self {
        self.department_id = Some(department.into());
        self
    }

    /// Adds the quotas of one node pool.
    #[must_use]
    pub fn with_quota(mut self, quota: NodePoolQuota) -> Self {
        self.quotas.push(quota);
        self
    }

    /// The quotas in `node_pool`, if the project has any there.
    #[must_use]
    pub fn quota(&self, node_pool: &str) -> Option<&NodePoolQuota> {
        self.quotas.iter().find(|q| q.node_pool == node_pool)
    }

    /// The namespace, or Run:ai's default `runai-<project name>`.
    #[must_use]
    pub fn namespace_or_default(&self) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| format!("runai-{}", self.name))
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        if self.id.as_str().is_empty() {
            c.at("id", "must not be empty");
        }
        c.dns_label("name", Some(&self.name));
        c.dns_label("namespace", self.namespace.as_ref());
        let mut seen = BTreeSet::new();
        each_indexed(c, "quotas", &self.quotas, |_, quota, c| {
            check_quota_entry(quota, &mut seen, c);
        });
    }
}

/// A department: a group of projects with its own quotas (a KAI parent queue per node pool).
///
/// ```
/// use runai_core::cluster::{Department, NodePoolQuota, ResourceQuota};
/// let dept = Department::new("2", "research").with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(16.0)));
/// assert_eq!(dept.quota("default").unwrap().gpus.deserved, 16.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Department {
    /// Department ID.
    pub id: DepartmentId,
    /// Department name, an RFC 1123 label.
    pub name: String,
    /// Quotas per node pool, shared by the department's projects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<NodePoolQuota>,
}

impl Department {
    /// A department with no quotas.
    #[must_use]
    pub fn new(id: impl Into<DepartmentId>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            quotas: Vec::new(),
        }
    }

    /// Adds the quotas of one node pool.
    #[must_use]
    pub fn with_quota(mut self, quota: NodePoolQuota) -> Self {
        self.quotas.push(quota);
        self
    }

    /// The quotas in `node_pool`, if the department has any there.
    #[must_use]
    pub fn quota(&self, node_pool: &str) -> Option<&NodePoolQuota> {
        self.quotas.iter().find(|q| q.node_pool == node_pool)
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        if self.id.as_str().is_empty() {
            c.at("id", "must not be empty");
        }
        c.dns_label("name", Some(&self.name));
        let mut seen = BTreeSet::new();
        each_indexed(c, "quotas", &self.quotas, |_, quota, c| {
            check_quota_entry(quota, &mut seen, c);
        });
    }
}

impl_validate!(Project, Department);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Validate;

    fn paths(errors: &crate::error::ValidationErrors) -> Vec<&str> {
        errors.violations().iter().map(|v| v.path.as_str()).collect()
    }

    #[test]
    fn missing_fields_take_kai_defaults() {
        let quota: NodePoolQuota =
            serde_json::from_value(serde_json::json!({"nodePool": "default", "gpus": {"deserved": 1.5}}))
                .unwrap();
        assert_eq!(quota.priority, 100);
        assert_eq!(quota.gpus.over_quota_weight, 1.0);
        assert_eq!(quota.gpus.limit, None);
        assert_eq!(quota.cpu_millicores, ResourceQuota::default());
    }

    #[test]
    fn quota_rules() {
        let mut bad = NodePoolQuota::new("h100");
        bad.gpus = ResourceQuota::deserved(-1.0);
        bad.cpu_millicores = ResourceQuota::deserved(4000.0).with_limit(2000.0);
        bad.memory_bytes = ResourceQuota::deserved(0.0).with_weight(f64::NAN);
        let project = Project::new("1", "team-a")
            .with_quota(bad)
            .with_quota(NodePoolQuota::new("h100"));
        let errors = project.validate().unwrap_err();
        assert_eq!(
            paths(&errors),
            [
                "quotas[0].gpus.deserved",
                "quotas[0].cpuMillicores.limit",
                "quotas[0].memoryBytes.overQuotaWeight",
                "quotas[1].nodePool"
            ]
        );
        assert!(errors.violations()[1].message.contains("deserved quota (4000)"));
    }

    #[test]
    fn project_rules() {
        let mut project = Project::new("", "Team A");
        project.namespace = Some("ns_1".into());
        assert_eq!(
            paths(&project.validate().unwrap_err()),
            ["id", "name", "namespace"]
        );
        assert!(Department::new("2", "research").validate().is_ok());
    }
}
