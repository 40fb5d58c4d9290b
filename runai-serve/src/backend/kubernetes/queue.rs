//! KAI-Scheduler `Queue`s (`scheduling.run.ai/v2`, cluster-scoped) for Run:ai departments and
//! projects: a department is a parent queue, each of its projects a leaf queue under it, and
//! pods name their leaf queue in the `kai.scheduler/queue` label.
//!
//! | Run:ai field | Queue |
//! | --- | --- |
//! | project or department name, node pool | `metadata.name` ([`queue_name`]) |
//! | project or department name | `spec.displayName` (`{name} ({pool})` outside the default pool) |
//! | the project's department | `spec.parentQueue`: the department's queue in the same pool |
//! | `quotas[].priority` | `spec.priority` |
//! | `quotas[].gpus.{deserved, overQuotaWeight, limit}` | `spec.resources.gpu.{quota, overQuotaWeight, limit}` (devices) |
//! | `quotas[].cpuMillicores.*` | `spec.resources.cpu.*` (millicores) |
//! | `quotas[].memoryBytes.*` | `spec.resources.memory.*` (MB of 10^6 bytes, [`megabytes`]) |
//! | no `limit` | `limit: -1` (no limit) |
//! | (always) | labels `app.kubernetes.io/managed-by: runai`, `run.ai/project` or `run.ai/department`, `run.ai/node-pool` |
//!
//! # One queue per node pool
//!
//! A Run:ai quota is per node pool, a KAI queue has one set of quotas, so each owner gets one
//! queue per pool it has quotas in, plus always one for the pool `default`: that queue keeps
//! the owner's bare name, which is the queue [`RenderTarget::queue`](super::RenderTarget::queue)
//! puts pods in when nothing else is said. A workload placed in another pool belongs in that
//! pool's queue: set the render target's queue to [`queue_name`]`(project, pool)`.
//!
//! Every field is written out, limits included: KAI's documentation disagrees with itself on
//! what an unset limit means, and `-1` (no limit) is unambiguous. A deserved quota is never
//! `-1` (unlimited) because Run:ai quotas are amounts.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use runai_core::Validate;
use runai_core::cluster::{Department, NodePoolQuota, Project, ResourceQuota};
use serde::{Deserialize, Serialize};

/// The node pool whose queue keeps the project's or department's bare name.
///
/// ```
/// use runai_serve::backend::kubernetes::queue::{queue_name, DEFAULT_NODE_POOL};
/// assert_eq!(queue_name("team-a", DEFAULT_NODE_POOL)?, "team-a");
/// # Ok::<(), runai_serve::backend::kubernetes::queue::QueueError>(())
/// ```
pub const DEFAULT_NODE_POOL: &str = "default";
/// What KAI reads as "no limit".
///
/// ```
/// use runai_core::cluster::Project;
/// use runai_serve::backend::kubernetes::queue::{project_queues, NO_LIMIT};
/// let queues = project_queues(&Project::new("7", "sandbox"), None)?;
/// assert_eq!(queues[0].spec.resources.gpu.limit, NO_LIMIT);
/// # Ok::<(), runai_serve::backend::kubernetes::queue::QueueError>(())
/// ```
pub const NO_LIMIT: f64 = -1.0;
/// The longest queue name: pods carry it as a label value.
const MAX_NAME_LEN: usize = 63;

/// A project or department that cannot become KAI queues, and what to do about it.
///
/// It is not a [`RenderError`](super::RenderError): that one names a workload, and a queue
/// belongs to a project or department.
///
/// ```
/// use runai_serve::backend::kubernetes::queue::{queue_name, QueueError};
/// let QueueError::Invalid { field, .. } = queue_name("team_a", "default").unwrap_err() else { unreachable!() };
/// assert_eq!(field, "name");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A name, a quota, or the project's relation to its department is not valid.
    #[error("{owner}: `{field}`: {reason}")]
    Invalid {
        /// The project or department, for example `project team-a`.
        owner: String,
        /// The field's path in the project or department.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },
}

/// A KAI `Queue` (the fields this renderer sets).
///
/// ```
/// use runai_core::cluster::Project;
/// use runai_serve::backend::kubernetes::queue::project_queues;
/// let queue = &project_queues(&Project::new("7", "sandbox"), None)?[0];
/// assert_eq!((queue.api_version.as_str(), queue.kind.as_str()), ("scheduling.run.ai/v2", "Queue"));
/// assert_eq!(queue.metadata.namespace, None);
/// # Ok::<(), runai_serve::backend::kubernetes::queue::QueueError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    /// `scheduling.run.ai/v2`.
    pub api_version: String,
    /// `Queue`.
    pub kind: String,
    /// Name and labels; queues are cluster-scoped, so no namespace.
    pub metadata: ObjectMeta,
    /// Quotas, parent and priority.
    pub spec: QueueSpec,
}

/// A queue's spec.
///
/// ```
/// use runai_core::cluster::{Department, Project};
/// use runai_serve::backend::kubernetes::queue::project_queues;
/// let research = Department::new("2", "research");
/// let spec = &project_queues(&Project::new("1", "team-a").in_department("2"), Some(&research))?[0].spec;
/// assert_eq!(spec.parent_queue.as_deref(), Some("research"));
/// assert_eq!(spec.priority, 100);
/// # Ok::<(), runai_serve::backend::kubernetes::queue::QueueError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSpec {
    /// The name people see.
    pub display_name: String,
    /// The parent queue (a project's department); top-level queues have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_queue: Option<String>,
    /// Higher gets over-quota resources first and is reclaimed from last.
    pub priority: i32,
    /// Quotas of each resource.
    pub resources: QueueResources,
}

/// The quotas of each resource, in KAI's units.
///
/// ```
/// use runai_core::cluster::{NodePoolQuota, Project, ResourceQuota};
/// use runai_serve::backend::kubernetes::queue::project_queues;
/// let mut quota = NodePoolQuota::new("default");
/// quota.cpu_millicores = ResourceQuota::deserved(4000.0);
/// quota.memory_bytes = ResourceQuota::deserved(16e9);
/// let resources = &project_queues(&Project::new("1", "team-a").with_quota(quota), None)?[0].spec.resources;
/// assert_eq!((resources.cpu.quota, resources.memory.quota), (4000.0, 16000.0));
/// # Ok::<(), runai_serve::backend::kubernetes::queue::QueueError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueResources {
    /// GPUs, in devices (fractions allowed).
    pub gpu: QueueResource,
    /// CPU, in millicores.
    pub cpu: QueueResource,
    /// Memory, in MB (10^6 bytes).
    pub memory: QueueResource,
}

/// Deserved quota, over-quota weight and limit of one resource.
///
/// ```
/// use runai_serve::backend::kubernetes::queue::QueueResource;
/// let gpu = QueueResource { quota: 2.0, over_quota_weight: 1.0, limit: -1.0 };
/// assert_eq!(serde_json::to_value(gpu)?, serde_json::json!({"quota": 2.0, "overQuotaWeight": 1.0, "limit": -1.0}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueResource {
    /// Guaranteed amount.
    pub quota: f64,
    /// Share of what is left beyond the deserved quotas.
    pub over_quota_weight: f64,
    /// Most the queue may use; [`NO_LIMIT`] for no limit.
    pub limit: f64,
}

/// The name of the queue of a project or department in a node pool: the name alone in the
/// pool `default`, `{name}.{pool}` in any other.
///
/// Both parts must be RFC 1123 labels (lower-case letters, digits and `-`), so they contain no
/// `.` and the name is unambiguous: with `-` as separator, project `team-a` in pool `h100`
/// and project `team-a-h100` in the default pool would share the queue `team-a-h100`. The
/// result is a DNS subdomain, as a Kubernetes object name must be, and at most 63
/// characters, as the pods' `kai.scheduler/queue` label value must be.
///
/// ```
/// use runai_serve::backend::kubernetes::queue::queue_name;
/// assert_eq!(queue_name("team-a", "default")?, "team-a");
/// assert_eq!(queue_name("team-a", "h100")?, "team-a.h100");
/// assert!(queue_name("Team_A", "default").is_err());
/// assert!(queue_name("team-a", "h100.pool").is_err());
/// # Ok::<(), runai_serve::backend::kubernetes::queue::QueueError>(())
/// ```
///
/// # Errors
/// [`QueueError::Invalid`] when a part is not an RFC 1123 label or the name is longer than 63
/// characters.
pub fn queue_name(project_or_department: &str, node_pool: &str) -> Result<String, QueueError> {
    let invalid = |field: &str, reason: String| QueueError::Invalid {
        owner: project_or_department.to_owned(),
        field: field.to_owned(),
        reason,
    };
    check_label(project_or_department).map_err(|why| invalid("name", why))?;
    if node_pool == DEFAULT_NODE_POOL {
        return Ok(project_or_department.to_owned());
    }
    check_label(node_pool).map_err(|why| invalid("nodePool", why))?;
    let name = format!("{project_or_department}.{node_pool}");
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(
            "nodePool",
            format!(
                "the queue name `{name}` is {} characters, over the {MAX_NAME_LEN} a pod label value allows; shorten the name or the node pool",
                name.len()
            ),
        ));
    }
    Ok(name)
}

/// Bytes as KAI's memory unit, MB of 10^6 bytes, rounded up to a whole MB: a workload that
/// asks for exactly the quota in bytes still fits in it.
///
/// ```
/// use runai_serve::backend::kubernetes::queue::megabytes;
/// // 24 GiB is 25,769,803,776 bytes: 25769.8 MB, rounded up.
/// assert_eq!(megabytes(24.0 * 1024.0 * 1024.0 * 1024.0), 25770.0);
/// assert_eq!(megabytes(2e9), 2000.0);
/// assert_eq!(megabytes(1.1e9), 1100.0);
/// assert_eq!(megabytes(1.0), 1.0);
/// assert_eq!(megabytes(0.0), 0.0);
/// ```
#[must_use]
pub fn megabytes(bytes: f64) -> f64 {
    // Whole bytes in integers, so that exact multiples of 10^6 do not pick up a float error
    // and round up a whole MB (1.1e9 / 1e6 is 1100.0000000000002 in floats).
    let whole_bytes = bytes.max(0.0).ceil() as u128;
    whole_bytes.div_ceil(1_000_000) as f64
}

/// The queues of a department: one per node pool it has quotas in, and one for the pool
/// `default`; top-level queues (no parent).
///
/// ```
/// use runai_core::cluster::{Department, NodePoolQuota, ResourceQuota};
/// use runai_serve::backend::kubernetes::queue::department_queues;
/// let research = Department::new("2", "research")
///     .with_quota(NodePoolQuota::new("h100").with_gpus(ResourceQuota::deserved(16.0)));
/// let queues = department_queues(&research)?;
/// let names: Vec<_> = queues.iter().map(|q| q.metadata.name.clone().unwrap()).collect();
/// assert_eq!(names, ["research", "research.h100"]);
/// assert_eq!(queues[1].spec.resources.gpu.quota, 16.0);
/// assert_eq!(queues[1].spec.resources.gpu.limit, -1.0);
/// # Ok::<(), runai_serve::backend::kubernetes::queue::QueueError>(())
/// ```
///
/// # Errors
/// [`QueueError::Invalid`] when the department is not valid (its name, a negative or
/// non-finite quota, a limit under the deserved quota, a pool listed twice) or a queue name
/// would not be (see [`queue_name`]).
pub fn department_queues(department: &Department) -> Result<Vec<Queue>, QueueError> {
    let owner = format!("department {}", department.name);
    check_valid(&owner, department)?;
    pools(&department.quotas)
        .into_iter()
        .map(|quota| {
            queue(
                &owner,
                &department.name,
                ("run.ai/department", &department.name),
                &quota,
                None,
            )
        })
        .collect()
}

/// The queues of a project: one per node pool it has quotas in, and one for the pool
/// `default`, each under its department's queue in the same pool.
///
/// `department` is the project's department (`departmentId`); the department's queues must
/// exist in every pool the project has quotas in, since a leaf cannot have a missing parent.
///
/// ```
/// use runai_core::cluster::{Department, NodePoolQuota, Project, ResourceQuota};
/// use runai_serve::backend::kubernetes::queue::project_queues;
/// let research = Department::new("2", "research").with_quota(NodePoolQuota::new("default"));
/// let mut quota = NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(2.0).with_limit(4.0));
/// quota.memory_bytes = ResourceQuota::deserved(64e9);
/// let team = Project::new("1", "team-a").in_department("2").with_quota(quota);
/// let queues = project_queues(&team, Some(&research))?;
/// assert_eq!(queues.len(), 1);
/// assert_eq!(queues[0].metadata.name.as_deref(), Some("team-a"));
/// assert_eq!(queues[0].spec.parent_queue.as_deref(), Some("research"));
/// assert_eq!(queues[0].spec.resources.gpu.limit, 4.0);
/// assert_eq!(queues[0].spec.resources.memory.quota, 64000.0);
/// # Ok::<(), runai_serve::backend::kubernetes::queue::QueueError>(())
/// ```
///
/// # Errors
/// [`QueueError::Invalid`] when the project is not valid, `department` is not the project's
/// department (or is missing when the project has one), the department has no quotas in a
/// pool the project uses, the project shares its department's name, or a queue name would not
/// be valid (see [`queue_name`]).
pub fn project_queues(project: &Project, department: Option<&Department>) -> Result<Vec<Queue>, QueueError> {
    let owner = format!("project {}", project.name);
    check_valid(&owner, project)?;
    let error = |field: &str, reason: String| QueueError::Invalid {
        owner: owner.clone(),
        field: field.to_owned(),
        reason,
    };
    let parent = match (&project.department_id, department) {
        (None, None) => None,
        (Some(id), Some(department)) if *id == department.id => Some(department),
        (Some(id), Some(department)) => {
            return Err(error(
                "departmentId",
                format!(
                    "the project is in department {id}, not in {} ({}); pass its own department",
                    department.name, department.id
                ),
            ));
        }
        (Some(id), None) => {
            return Err(error(
                "departmentId",
                format!("the project is in department {id}; pass that department to name the parent queues"),
            ));
        }
        (None, Some(department)) => {
            return Err(error(
                "departmentId",
                format!(
                    "the project has no department, but department {} was given; set the project's departmentId or pass none",
                    department.name
                ),
            ));
        }
    };
    if let Some(department) = parent {
        check_valid(&format!("department {}", department.name), department)?;
        if department.name == project.name {
            return Err(error(
                "name",
                format!(
                    "is also the name of its department, and queues of both share one cluster-wide name; rename the project or the department `{}`",
                    department.name
                ),
            ));
        }
    }
    pools(&project.quotas)
        .into_iter()
        .map(|quota| {
            let parent_queue = parent
                .map(|department| {
                    let in_pool = quota.node_pool == DEFAULT_NODE_POOL
                        || department.quota(&quota.node_pool).is_some();
                    if !in_pool {
                        return Err(error(
                            "quotas",
                            format!(
                                "department {} has no quotas in node pool `{}`, so the project's queue there would have no parent; give the department quotas in that pool (zero is fine)",
                                department.name, quota.node_pool
                            ),
                        ));
                    }
                    queue_name(&department.name, &quota.node_pool)
                        .map_err(|e| with_owner(e, &format!("department {}", department.name)))
                })
                .transpose()?;
            queue(
                &owner,
                &project.name,
                ("run.ai/project", &project.name),
                &quota,
                parent_queue,
            )
        })
        .collect()
}

/// The quotas of each pool an owner gets a queue in: the pool `default` first (with nothing
/// deserved when the owner has no quotas there), then the others in the owner's order.
fn pools(quotas: &[NodePoolQuota]) -> Vec<NodePoolQuota> {
    let default = quotas
        .iter()
        .find(|q| q.node_pool == DEFAULT_NODE_POOL)
        .cloned()
        .unwrap_or_else(|| NodePoolQuota::new(DEFAULT_NODE_POOL));
    std::iter::once(default)
        .chain(
            quotas
                .iter()
                .filter(|q| q.node_pool != DEFAULT_NODE_POOL)
                .cloned(),
        )
        .collect()
}

/// The queue of `name` (a project or department) in `quota`'s node pool.
fn queue(
    owner: &str,
    name: &str,
    owner_label: (&str, &str),
    quota: &NodePoolQuota,
    parent_queue: Option<String>,
) -> Result<Queue, QueueError> {
    let queue_name = queue_name(name, &quota.node_pool).map_err(|e| with_owner(e, owner))?;
    let labels = BTreeMap::from([
        ("app.kubernetes.io/managed-by".to_owned(), "runai".to_owned()),
        (owner_label.0.to_owned(), owner_label.1.to_owned()),
        ("run.ai/node-pool".to_owned(), quota.node_pool.clone()),
    ]);
    let display_name = if quota.node_pool == DEFAULT_NODE_POOL {
        name.to_owned()
    } else {
        format!("{name} ({})", quota.node_pool)
    };
    Ok(Queue {
        api_version: "scheduling.run.ai/v2".to_owned(),
        kind: "Queue".to_owned(),
        metadata: ObjectMeta {
            name: Some(queue_name),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: QueueSpec {
            display_name,
            parent_queue,
            priority: quota.priority,
            resources: QueueResources {
                gpu: resource(&quota.gpus, |devices| devices),
                cpu: resource(&quota.cpu_millicores, |millicores| millicores),
                memory: resource(&quota.memory_bytes, megabytes),
            },
        },
    })
}

/// `error`, said of `owner` (`project team-a`) rather than of a bare name.
fn with_owner(error: QueueError, owner: &str) -> QueueError {
    match error {
        QueueError::Invalid { field, reason, .. } => QueueError::Invalid {
            owner: owner.to_owned(),
            field,
            reason,
        },
    }
}

/// One resource's quota in KAI's unit (`unit` converts from Run:ai's).
fn resource(quota: &ResourceQuota, unit: fn(f64) -> f64) -> QueueResource {
    QueueResource {
        quota: unit(quota.deserved),
        over_quota_weight: quota.over_quota_weight,
        limit: quota.limit.map_or(NO_LIMIT, unit),
    }
}

/// The owner's own validation, as a render error: the first violation, with a count of the
/// rest.
fn check_valid(owner: &str, value: &impl Validate) -> Result<(), QueueError> {
    let Err(errors) = value.validate() else {
        return Ok(());
    };
    let violations = errors.violations();
    let (field, reason) = violations.first().map_or_else(
        || (String::new(), "is not valid".to_owned()),
        |v| (v.path.clone(), v.message.clone()),
    );
    let more = match violations.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Err(QueueError::Invalid {
        owner: owner.to_owned(),
        field,
        reason: format!("{reason}{more}"),
    })
}

/// An RFC 1123 label: lower-case letters, digits and `-`, starting and ending with a letter or
/// digit, 1 to 63 characters. The error says what a name must look like.
fn check_label(value: &str) -> Result<(), String> {
    let shape =
        "must be 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit";
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{value}` {shape}"))
    }
}
