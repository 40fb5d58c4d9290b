//! Distributed (multi-node) inference: a leader pod plus workers per replica, run as a
//! LeaderWorkerSet, at `/api/v1/workloads/distributed-inferences`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{ClusterId, ProjectId};
use crate::inference::{check_project_and_cluster, check_workload_name, is_uuid};
use crate::spec::pod::PodFields;
use crate::spec::{
    Annotation, AuthorizationType, Compute, ConfigMapVolume, EmptyDirVolume, EnvironmentVariable,
    ImagePullPolicy, ImagePullSecret, Label, NodeAffinityRequired, PodAffinity, Preemptibility,
    PriorityClass, Probes, PvcVolume, SecretVolume, Security, Storage, Toleration, check_access,
    check_node_pools, check_priority,
};
use crate::validate::{Checker, impl_validate};
use crate::workload::WorkloadResponse;

/// The most replicas and workers per replica the API accepts.
///
/// ```
/// use runai_core::{DistributedInferenceUpdateRequest, Validate, distributed::MAX_GROUP_COUNT};
/// assert!(DistributedInferenceUpdateRequest::replicas(MAX_GROUP_COUNT + 1).validate().is_err());
/// ```
pub const MAX_GROUP_COUNT: i32 = 1000;

/// The body of `POST /api/v1/workloads/distributed-inferences`.
///
/// ```
/// use runai_core::{parse, DistributedInferenceCreationRequest, Validate};
/// let request: DistributedInferenceCreationRequest = parse::strict(r#"{
///     "name": "llama-405b", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
///     "spec": {
///         "workers": 1,
///         "servingPort": {"port": 8000},
///         "leader": {"image": "vllm/vllm-openai:v0.11.0", "compute": {"gpuDevicesRequest": 8}},
///         "worker": {"image": "vllm/vllm-openai:v0.11.0", "compute": {"gpuDevicesRequest": 8}}
///     }
/// }"#).unwrap();
/// assert!(request.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistributedInferenceCreationRequest {
    /// Workload name: a DNS label, at most 63 characters.
    pub name: String,
    /// Append random characters to `name` (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_given_name_as_prefix: Option<bool>,
    /// The project.
    pub project_id: ProjectId,
    /// The cluster.
    pub cluster_id: ClusterId,
    /// A template whose values fill the fields left unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// What to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<DistributedInferenceSpec>,
}

/// The spec of a distributed inference workload.
///
/// ```
/// use runai_core::DistributedInferenceSpec;
/// let spec = DistributedInferenceSpec { workers: Some(3), ..Default::default() };
/// assert_eq!(spec.group_size(), 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistributedInferenceSpec {
    /// Workload category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Node pools in order of preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pools: Option<Vec<String>>,
    /// Whether the pods may be preempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemptibility: Option<Preemptibility>,
    /// Priority class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class: Option<PriorityClass>,
    /// What happens to a group when one of its pods restarts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// The leader's serving port and its access policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving_port: Option<DistributedServingPort>,
    /// When workers start relative to the leader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_policy: Option<StartupPolicy>,
    /// Workers per replica, 0..=1000 (default 0: the leader alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<i32>,
    /// Leader-plus-workers groups, 0..=1000 (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The leader pod. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<LeaderWorkerSpec>,
    /// The worker pods; required when `workers` > 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<LeaderWorkerSpec>,
}

impl DistributedInferenceSpec {
    /// Pods per replica: the leader plus its workers.
    #[must_use]
    pub fn group_size(&self) -> u32 {
        1 + self.workers.map_or(0, |w| u32::try_from(w).unwrap_or(0))
    }

    /// The spec with the documented defaults applied (`workers` 0, `replicas` 1, startup
    /// `LeaderCreated`, restart `RecreateGroupOnPodRestart`, priority `very-high`).
    ///
    /// ```
    /// use runai_core::{DistributedInferenceSpec, distributed::StartupPolicy};
    /// let spec = DistributedInferenceSpec::default().with_defaults();
    /// assert_eq!(spec.replicas, Some(1));
    /// assert_eq!(spec.startup_policy, Some(StartupPolicy::LeaderCreated));
    /// ```
    #[must_use]
    pub fn with_defaults(&self) -> Self {
        let priority_class = self.priority_class.clone().unwrap_or(PriorityClass::VeryHigh);
        Self {
            workers: Some(self.workers.unwrap_or(0)),
            replicas: Some(self.replicas.unwrap_or(1)),
            startup_policy: Some(self.startup_policy.unwrap_or(StartupPolicy::LeaderCreated)),
            restart_policy: Some(
                self.restart_policy
                    .unwrap_or(RestartPolicy::RecreateGroupOnPodRestart),
            ),
            preemptibility: self
                .preemptibility
                .or_else(|| priority_class.default_preemptibility()),
            priority_class: Some(priority_class),
            serving_port: self.serving_port.as_ref().map(|port| DistributedServingPort {
                protocol: Some(port.protocol.unwrap_or_default()),
                authorization_type: Some(port.authorization_type.unwrap_or_default()),
                expose_externally: Some(port.expose_externally.unwrap_or(true)),
                ..port.clone()
            }),
            ..self.clone()
        }
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        c.range("workers", self.workers, 0, MAX_GROUP_COUNT);
        c.range("replicas", self.replicas, 0, MAX_GROUP_COUNT);
        match &self.serving_port {
            None => c.at("servingPort", "is required; give the port the leader serves on"),
            Some(port) => c.field("servingPort", |c| port.check(c)),
        }
        match &self.leader {
            None => c.at(
                "leader",
                "is required; describe the leader pod (image, compute, ...)",
            ),
            Some(leader) => c.field("leader", |c| leader.check(c)),
        }
        match (&self.worker, self.workers.unwrap_or(0)) {
            (None, workers) if workers > 0 => {
                c.at(
                    "worker",
                    format!("is required when workers is {workers}; describe the worker pod"),
                );
            }
            (Some(worker), _) => c.field("worker", |c| worker.check(c)),
            _ => {}
        }
        check_node_pools(c, self.node_pools.as_ref());
        check_priority(c, self.priority_class.as_ref());
    }
}

/// When workers start relative to the leader.
///
/// ```
/// use runai_core::distributed::StartupPolicy;
/// assert_eq!(serde_json::to_string(&StartupPolicy::LeaderReady).unwrap(), r#""LeaderReady""#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StartupPolicy {
    /// Workers start once the leader pod exists (the default).
    #[default]
    LeaderCreated,
    /// Workers start once the leader is ready.
    LeaderReady,
}

/// What happens to a group when one of its pods restarts.
///
/// ```
/// use runai_core::distributed::RestartPolicy;
/// assert_eq!(serde_json::to_string(&RestartPolicy::None).unwrap(), r#""None""#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RestartPolicy {
    /// Recreate the whole group (the default).
    #[default]
    RecreateGroupOnPodRestart,
    /// Restart only the pod.
    None,
}

/// The only protocol a distributed serving port speaks.
///
/// ```
/// use runai_core::distributed::DistributedProtocol;
/// assert_eq!(serde_json::to_string(&DistributedProtocol::Http).unwrap(), r#""http""#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DistributedProtocol {
    /// HTTP.
    #[default]
    Http,
}

/// Volumes a leader or worker pod can mount: a subset of [`Storage`].
///
/// ```
/// use runai_core::{distributed::DistributedStorage, spec::PvcVolume};
/// let storage = DistributedStorage {
///     pvc: Some(vec![PvcVolume { claim_name: Some("weights".into()), existing_pvc: Some(true), path: Some("/models".into()), ..Default::default() }]),
///     ..Default::default()
/// };
/// assert_eq!(serde_json::to_value(&storage).unwrap()["pvc"][0]["claimName"], "weights");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistributedStorage {
    /// Persistent volume claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvc: Option<Vec<PvcVolume>>,
    /// Config maps mounted as files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_volume: Option<Vec<ConfigMapVolume>>,
    /// Secrets mounted as files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_volume: Option<Vec<SecretVolume>>,
    /// Scratch space that lives as long as the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_dir_volume: Option<Vec<EmptyDirVolume>>,
}

impl From<&DistributedStorage> for Storage {
    fn from(storage: &DistributedStorage) -> Self {
        Self {
            pvc: storage.pvc.clone(),
            config_map_volume: storage.config_map_volume.clone(),
            secret_volume: storage.secret_volume.clone(),
            empty_dir_volume: storage.empty_dir_volume.clone(),
            ..Self::default()
        }
    }
}

/// Who may call a distributed inference: as [`AuthorizationType`] without
/// `authorizedUsersOrGroups`.
///
/// ```
/// use runai_core::distributed::DistributedAuthorizationType;
/// let t: DistributedAuthorizationType = serde_json::from_str(r#""authorizedGroups""#).unwrap();
/// assert_eq!(t, DistributedAuthorizationType::AuthorizedGroups);
/// assert!(serde_json::from_str::<DistributedAuthorizationType>(r#""authorizedUsersOrGroups""#).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DistributedAuthorizationType {
    /// Anyone (the default).
    #[default]
    Public,
    /// Any authenticated user or service account.
    AuthenticatedUsers,
    /// Only the listed users and service accounts.
    AuthorizedUsers,
    /// Only members of the listed groups.
    AuthorizedGroups,
}

impl From<DistributedAuthorizationType> for AuthorizationType {
    fn from(kind: DistributedAuthorizationType) -> Self {
        match kind {
            DistributedAuthorizationType::Public => Self::Public,
            DistributedAuthorizationType::AuthenticatedUsers => Self::AuthenticatedUsers,
            DistributedAuthorizationType::AuthorizedUsers => Self::AuthorizedUsers,
            DistributedAuthorizationType::AuthorizedGroups => Self::AuthorizedGroups,
        }
    }
}

/// The leader's serving port and who may call it.
///
/// ```
/// use runai_core::distributed::DistributedServingPort;
/// let port = DistributedServingPort { port: Some(8000), expose_externally: Some(false), ..Default::default() };
/// assert_eq!(serde_json::to_value(&port).unwrap()["exposeExternally"], false);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistributedServingPort {
    /// Container port, 1..=65535.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Always `http`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<DistributedProtocol>,
    /// Who may call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_type: Option<DistributedAuthorizationType>,
    /// Users allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_users: Option<Vec<String>>,
    /// Groups allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_groups: Option<Vec<String>>,
    /// Reachable from outside the cluster (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_externally: Option<bool>,
    /// A custom external URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_url: Option<String>,
}

impl DistributedServingPort {
    fn check(&self, c: &mut Checker) {
        match self.port {
            None => c.at(
                "port",
                "is required; give the port the leader serves on (1-65535)",
            ),
            some => c.range("port", some, 1, 65535),
        }
        let kind = self.authorization_type.unwrap_or_default().into();
        check_access(
            c,
            kind,
            self.authorized_users.as_ref(),
            self.authorized_groups.as_ref(),
        );
        if self.exposed_url.is_some() && self.expose_externally == Some(false) {
            c.at("exposedUrl", "cannot be set when exposeExternally is false");
        }
    }
}

/// The pod template of a leader or of the workers.
///
/// ```
/// use runai_core::{distributed::LeaderWorkerSpec, spec::Compute};
/// let leader = LeaderWorkerSpec { image: Some("vllm/vllm-openai:v0.11.0".into()), compute: Some(Compute::gpus(8)), ..Default::default() };
/// assert_eq!(serde_json::to_value(&leader).unwrap()["compute"]["gpuDevicesRequest"], 8);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaderWorkerSpec {
    /// Kubernetes annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<Annotation>>,
    /// Arguments to the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// Command overriding the entrypoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// GPU, CPU and memory of the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute: Option<Compute>,
    /// Create a home directory for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_home_dir: Option<bool>,
    /// Environment variables; `LWS_LEADER_ADDRESS` and `LWS_GROUP_SIZE` are added by the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<EnvironmentVariable>>,
    /// Container image. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When to pull the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,
    /// Registry credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<ImagePullSecret>>,
    /// Kubernetes labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
    /// Nodes the pod may run on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_affinity_required: Option<NodeAffinityRequired>,
    /// Node type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// Pod affinity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_affinity: Option<PodAffinity>,
    /// Readiness probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    /// Security context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// Volumes (claims, config maps, secrets and scratch space only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<DistributedStorage>,
    /// Taints tolerated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
}

impl LeaderWorkerSpec {
    fn check(&self, c: &mut Checker) {
        let storage = self.storage.as_ref().map(Storage::from);
        PodFields {
            image: self.image.as_ref(),
            image_required: true,
            command: self.command.as_ref(),
            args: self.args.as_ref(),
            working_dir: self.working_dir.as_ref(),
            node_type: self.node_type.as_ref(),
            compute: self.compute.as_ref(),
            environment_variables: self.environment_variables.as_ref(),
            image_pull_secrets: self.image_pull_secrets.as_ref(),
            labels: self.labels.as_ref(),
            annotations: self.annotations.as_ref(),
            node_affinity_required: self.node_affinity_required.as_ref(),
            pod_affinity: self.pod_affinity.as_ref(),
            probes: self.probes.as_ref(),
            security: self.security.as_ref(),
            storage: storage.as_ref(),
            tolerations: self.tolerations.as_ref(),
        }
        .check(c);
    }
}

impl DistributedInferenceCreationRequest {
    pub(crate) fn check(&self, c: &mut Checker) {
        check_workload_name(c, &self.name, self.use_given_name_as_prefix.unwrap_or(false));
        check_project_and_cluster(c, &self.project_id, Some(&self.cluster_id));
        if let Some(template) = &self.template_id
            && !is_uuid(template)
        {
            c.at("templateId", format!("`{template}` is not a UUID"));
        }
        match &self.spec {
            None => c.at("spec", "is required; it says what to run"),
            Some(spec) => c.field("spec", |c| spec.check(c)),
        }
    }
}

/// The response of create, get and patch on `/api/v1/workloads/distributed-inferences`.
///
/// ```
/// use runai_core::{parse, DistributedInference};
/// let response: DistributedInference = parse::lenient(r#"{
///     "name": "llama-405b", "requestedName": "llama-405b",
///     "workloadId": "a3c2bd2c-7c6b-4a0e-9d5e-1c2f7b8e9a10", "projectId": "1",
///     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "createdBy": "alice@example.com",
///     "createdAt": "2026-11-20T10:00:00Z", "desiredPhase": "Running",
///     "spec": {"workers": 1}
/// }"#).unwrap();
/// assert_eq!(response.meta.name, "llama-405b");
/// assert_eq!(response.spec.unwrap().group_size(), 2);
/// ```
pub type DistributedInference = WorkloadResponse<DistributedInferenceSpec>;

/// The body of `PATCH /api/v1/workloads/distributed-inferences/{workloadId}`: only the
/// number of replicas can change.
///
/// ```
/// use runai_core::{DistributedInferenceUpdateRequest, Validate};
/// let scale = DistributedInferenceUpdateRequest::replicas(3);
/// assert!(scale.validate().is_ok());
/// assert_eq!(serde_json::to_string(&scale).unwrap(), r#"{"spec":{"replicas":3}}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistributedInferenceUpdateRequest {
    /// The change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<DistributedInferenceUpdateSpec>,
}

/// The fields of a distributed-inference update.
///
/// ```
/// use runai_core::DistributedInferenceUpdateSpec;
/// assert_eq!(DistributedInferenceUpdateSpec { replicas: Some(2) }.replicas, Some(2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistributedInferenceUpdateSpec {
    /// Leader-plus-workers groups, 0..=1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

impl DistributedInferenceUpdateRequest {
    /// An update to `replicas` groups.
    #[must_use]
    pub fn replicas(replicas: i32) -> Self {
        Self {
            spec: Some(DistributedInferenceUpdateSpec {
                replicas: Some(replicas),
            }),
        }
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        match self.spec.as_ref().and_then(|s| s.replicas) {
            None => c.at(
                "spec",
                "must set replicas, the only field a distributed inference update may change",
            ),
            some => c.field("spec", |c| c.range("replicas", some, 0, MAX_GROUP_COUNT)),
        }
    }
}

impl_validate!(
    DistributedInferenceCreationRequest,
    DistributedInferenceSpec,
    DistributedInferenceUpdateRequest
);
