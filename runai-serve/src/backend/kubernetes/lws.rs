//! Multi-node (distributed) inference as a `LeaderWorkerSet` (`leaderworkerset.x-k8s.io/v1`),
//! as Run:ai deploys it: one group per replica, each a leader and `workers` workers started
//! and restarted together, gang-scheduled by KAI.
//!
//! | Run:ai field | LeaderWorkerSet |
//! | --- | --- |
//! | `replicas` | `spec.replicas` (groups) |
//! | `workers` | `spec.leaderWorkerTemplate.size` = `workers` + 1 |
//! | `leader` | `spec.leaderWorkerTemplate.leaderTemplate` |
//! | `worker` | `spec.leaderWorkerTemplate.workerTemplate` (the leader's pod when there are no workers) |
//! | `servingPort.port` | the leader container's port |
//! | `startupPolicy` | `spec.startupPolicy` |
//! | `restartPolicy` | `spec.leaderWorkerTemplate.restartPolicy` |
//! | `priorityClass`, `nodePools` | every pod's `priorityClassName` and node affinity |
//! | `preemptibility` | the `kai.scheduler/preemptibility` label |
//! | placement topology | `kai.scheduler/topology`, `kai.scheduler/topology-required-placement`, `kai.scheduler/topology-preferred-placement` |
//!
//! Rollouts replace one group at a time and bring the new group up before the old one goes
//! (`maxSurge` 1, `maxUnavailable` 0): a model that spans several nodes takes minutes to load,
//! and serving capacity should not drop while it does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runai_core::distributed::{LeaderWorkerSpec, RestartPolicy, StartupPolicy};
use runai_core::spec::{ServingPort, ServingProtocol, Storage};
use runai_core::{DistributedInferenceSpec, InferenceSpec};
use serde::{Deserialize, Serialize};

use super::pod::pod;
use super::pod_group::{PodGroup, PodGroupSpec, TopologyConstraint};
use super::{Placement, RenderError, RenderTarget};

const KIND: &str = "LeaderWorkerSet";
/// The label that carries a workload's preemptibility to KAI.
pub const KAI_PREEMPTIBILITY_LABEL: &str = "kai.scheduler/preemptibility";
/// The label that tells a group's leader pods from its workers.
pub const ROLE_LABEL: &str = "run.ai/role";

/// A `LeaderWorkerSet` (the fields this renderer sets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderWorkerSet {
    /// `leaderworkerset.x-k8s.io/v1`.
    pub api_version: String,
    /// `LeaderWorkerSet`.
    pub kind: String,
    /// Name, namespace, labels, KAI topology annotations.
    pub metadata: ObjectMeta,
    /// The groups.
    pub spec: LeaderWorkerSetSpec,
}

/// A `LeaderWorkerSet`'s spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderWorkerSetSpec {
    /// Groups.
    pub replicas: i32,
    /// What one group runs.
    pub leader_worker_template: LeaderWorkerTemplate,
    /// How groups are replaced on an update.
    pub rollout_strategy: RolloutStrategy,
    /// `LeaderCreated` or `LeaderReady`: when workers start.
    pub startup_policy: String,
}

/// One group: its size and the leader's and workers' pods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderWorkerTemplate {
    /// Pods per group, the leader included.
    pub size: i32,
    /// The leader's pod (the workers' pod when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_template: Option<PodTemplateSpec>,
    /// The workers' pod.
    pub worker_template: PodTemplateSpec,
    /// `RecreateGroupOnPodRestart` or `None`.
    pub restart_policy: String,
}

/// How groups are replaced on an update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    /// `RollingUpdate`, the only strategy.
    #[serde(rename = "type")]
    pub type_: String,
    /// Surge and unavailability, in groups.
    pub rolling_update_configuration: RollingUpdateConfiguration,
}

/// Groups above the desired count, and groups below it, allowed during a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateConfiguration {
    /// Extra groups allowed while rolling.
    pub max_surge: IntOrString,
    /// Groups allowed to be missing while rolling.
    pub max_unavailable: IntOrString,
}

/// Renders `spec` as the `LeaderWorkerSet` of `target`'s workload.
///
/// ```
/// use runai_serve::backend::kubernetes::{lws, Placement, RenderTarget};
/// use runai_serve::gateway::WorkloadKey;
/// let spec: runai_core::DistributedInferenceSpec = serde_json::from_value(serde_json::json!({
///     "workers": 1, "replicas": 2, "servingPort": {"port": 8000},
///     "leader": {"image": "vllm/vllm-openai:v0.11.0", "compute": {"gpuDevicesRequest": 8}},
///     "worker": {"image": "vllm/vllm-openai:v0.11.0", "compute": {"gpuDevicesRequest": 8}}
/// }))?;
/// let target = RenderTarget::new(WorkloadKey::new("team-a", "llama-405b"), "rev-1");
/// let set = lws::render(&target, &spec, &Placement::default())?;
/// assert_eq!(set.spec.leader_worker_template.size, 2);
/// assert_eq!(set.spec.replicas, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`RenderError`] when the spec has no leader, a pod has no image, or uses what a pod cannot
/// express.
pub fn render(
    target: &RenderTarget,
    spec: &DistributedInferenceSpec,
    placement: &Placement,
) -> Result<LeaderWorkerSet, RenderError> {
    let spec = spec.with_defaults();
    let leader = spec.leader.as_ref().ok_or_else(|| RenderError::Missing {
        workload: target.workload.clone(),
        field: "spec.leader",
        hint: "describe the leader pod (image, compute, ...)",
    })?;
    let size = i32::try_from(spec.group_size()).map_err(|_| RenderError::Invalid {
        workload: target.workload.clone(),
        field: "spec.workers",
        reason: "too many workers".to_owned(),
    })?;
    let leader_pod = template(target, &spec, leader, Role::Leader, placement)?;
    let (leader_template, worker_template) = match (&spec.worker, size > 1) {
        (Some(worker), true) => (
            Some(leader_pod),
            template(target, &spec, worker, Role::Worker, placement)?,
        ),
        (None, true) => {
            return Err(RenderError::Missing {
                workload: target.workload.clone(),
                field: "spec.worker",
                hint: "describe the worker pod, or set workers to 0",
            });
        }
        // A group of one is only a leader; LWS takes the leader's pod from the worker template.
        (_, false) => (None, leader_pod),
    };
    let mut metadata = target.object_meta();
    if let Some(labels) = metadata.labels.as_mut() {
        labels.extend(kai_labels(target, &spec));
    }
    let annotations = topology_annotations(placement);
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Ok(LeaderWorkerSet {
        api_version: "leaderworkerset.x-k8s.io/v1".to_owned(),
        kind: KIND.to_owned(),
        metadata,
        spec: LeaderWorkerSetSpec {
            replicas: spec.replicas.unwrap_or(1),
            leader_worker_template: LeaderWorkerTemplate {
                size,
                leader_template,
                worker_template,
                restart_policy: match spec.restart_policy {
                    Some(RestartPolicy::None) => "None",
                    _ => "RecreateGroupOnPodRestart",
                }
                .to_owned(),
            },
            rollout_strategy: RolloutStrategy {
                type_: "RollingUpdate".to_owned(),
                rolling_update_configuration: RollingUpdateConfiguration {
                    max_surge: IntOrString::Int(1),
                    max_unavailable: IntOrString::Int(0),
                },
            },
            startup_policy: match spec.startup_policy {
                Some(StartupPolicy::LeaderReady) => "LeaderReady",
                _ => "LeaderCreated",
            }
            .to_owned(),
        },
    })
}

/// The gangs KAI forms for the set: one `PodGroup` per group, named after the group's leader
/// pod (`{workload}-{index}`), with every pod of the group required together. Under
/// `LeaderReady` the workers start only once the leader is ready, so KAI's gang for such a
/// group is still the whole group: its GPUs are reserved before the leader starts loading.
///
/// ```
/// use runai_serve::backend::kubernetes::{lws, Placement, RenderTarget};
/// use runai_serve::gateway::WorkloadKey;
/// let spec: runai_core::DistributedInferenceSpec = serde_json::from_value(serde_json::json!({
///     "workers": 3, "replicas": 2, "servingPort": {"port": 8000},
///     "leader": {"image": "sglang:v0.5"}, "worker": {"image": "sglang:v0.5"}
/// }))?;
/// let target = RenderTarget::new(WorkloadKey::new("team-a", "deepseek"), "rev-1");
/// let groups = lws::pod_groups(&target, &spec, &Placement::default());
/// assert_eq!(groups.len(), 2);
/// assert_eq!(groups[1].metadata.name.as_deref(), Some("deepseek-1"));
/// assert_eq!(groups[1].spec.min_member, Some(4));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn pod_groups(
    target: &RenderTarget,
    spec: &DistributedInferenceSpec,
    placement: &Placement,
) -> Vec<PodGroup> {
    let spec = spec.with_defaults();
    let size = i32::try_from(spec.group_size()).unwrap_or(i32::MAX);
    (0..spec.replicas.unwrap_or(1).max(0))
        .map(|index| {
            let mut metadata = target.object_meta();
            metadata.name = Some(format!("{}-{index}", target.workload.workload));
            if let Some(labels) = metadata.labels.as_mut() {
                labels.insert(
                    "leaderworkerset.sigs.k8s.io/group-index".to_owned(),
                    index.to_string(),
                );
            }
            PodGroup {
                api_version: "scheduling.run.ai/v2alpha2".to_owned(),
                kind: "PodGroup".to_owned(),
                metadata,
                spec: PodGroupSpec {
                    min_member: Some(size),
                    queue: Some(target.queue()),
                    priority_class_name: spec.priority_class.as_ref().map(super::pod::wire),
                    preemptibility: spec.preemptibility.as_ref().map(super::pod::wire),
                    topology_constraint: placement.topology.as_ref().map(TopologyConstraint::from),
                },
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Leader,
    Worker,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::Leader => "leader",
            Self::Worker => "worker",
        }
    }
}

/// The pod template of the leader or the workers.
fn template(
    target: &RenderTarget,
    spec: &DistributedInferenceSpec,
    member: &LeaderWorkerSpec,
    role: Role,
    placement: &Placement,
) -> Result<PodTemplateSpec, RenderError> {
    let as_pod = pod_spec(spec, member, role);
    let rendered = pod(target, &as_pod, placement, KIND).map_err(|e| reroot(e, role))?;
    let mut labels = rendered.labels;
    labels.insert(ROLE_LABEL.to_owned(), role.as_str().to_owned());
    labels.extend(kai_labels(target, spec));
    Ok(PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: (!rendered.annotations.is_empty()).then_some(rendered.annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(rendered.spec),
    })
}

/// A leader or worker as the single-node pod fields the shared pod renderer reads, with the
/// set-wide fields (node pools, priority) and, for the leader, the serving port.
fn pod_spec(spec: &DistributedInferenceSpec, member: &LeaderWorkerSpec, role: Role) -> InferenceSpec {
    let serving_port = match role {
        Role::Leader => spec.serving_port.as_ref().map(|port| ServingPort {
            container: port.port,
            protocol: Some(ServingProtocol::Http),
            ..ServingPort::default()
        }),
        Role::Worker => None,
    };
    InferenceSpec {
        annotations: member.annotations.clone(),
        args: member.args.clone(),
        command: member.command.clone(),
        compute: member.compute.clone(),
        create_home_dir: member.create_home_dir,
        environment_variables: member.environment_variables.clone(),
        image: member.image.clone(),
        image_pull_policy: member.image_pull_policy,
        image_pull_secrets: member.image_pull_secrets.clone(),
        labels: member.labels.clone(),
        node_affinity_required: member.node_affinity_required.clone(),
        node_pools: spec.node_pools.clone(),
        node_type: member.node_type.clone(),
        pod_affinity: member.pod_affinity.clone(),
        priority_class: spec.priority_class.clone(),
        preemptibility: spec.preemptibility,
        probes: member.probes.clone(),
        security: member.security.clone(),
        serving_port,
        storage: member.storage.as_ref().map(Storage::from),
        tolerations: member.tolerations.clone(),
        working_dir: member.working_dir.clone(),
        ..InferenceSpec::default()
    }
}

/// The labels KAI reads from the set and its pods besides the queue: preemptibility.
fn kai_labels(target: &RenderTarget, spec: &DistributedInferenceSpec) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([(super::KAI_QUEUE_LABEL.to_owned(), target.queue())]);
    if let Some(preemptibility) = &spec.preemptibility {
        labels.insert(
            KAI_PREEMPTIBILITY_LABEL.to_owned(),
            super::pod::wire(preemptibility),
        );
    }
    labels
}

/// KAI's pod grouper reads a group's topology constraint from these annotations on the set.
fn topology_annotations(placement: &Placement) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(topology) = &placement.topology {
        out.insert("kai.scheduler/topology".to_owned(), topology.topology.clone());
        if let Some(level) = &topology.required_level {
            out.insert(
                "kai.scheduler/topology-required-placement".to_owned(),
                level.clone(),
            );
        }
        if let Some(level) = &topology.preferred_level {
            out.insert(
                "kai.scheduler/topology-preferred-placement".to_owned(),
                level.clone(),
            );
        }
    }
    out
}

/// An error of the shared pod renderer, with its field under the leader's or the workers'
/// part of the spec.
fn reroot(error: RenderError, role: Role) -> RenderError {
    let moved = |field: &'static str| -> &'static str {
        match (field, role) {
            ("spec.image", Role::Leader) => "spec.leader.image",
            ("spec.image", Role::Worker) => "spec.worker.image",
            ("spec.command", Role::Leader) => "spec.leader.command",
            ("spec.command", Role::Worker) => "spec.worker.command",
            ("spec.args", Role::Leader) => "spec.leader.args",
            ("spec.args", Role::Worker) => "spec.worker.args",
            (other, _) => other,
        }
    };
    match error {
        RenderError::Missing {
            workload,
            field,
            hint,
        } => RenderError::Missing {
            workload,
            field: moved(field),
            hint,
        },
        RenderError::Invalid {
            workload,
            field,
            reason,
        } => RenderError::Invalid {
            workload,
            field: moved(field),
            reason,
        },
        RenderError::Unsupported {
            workload,
            field,
            kind,
            reason,
        } => RenderError::Unsupported {
            workload,
            field: field.replacen("spec.", &format!("spec.{}.", role.as_str()), 1),
            kind,
            reason,
        },
    }
}
