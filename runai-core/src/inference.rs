//! Standard (single-node) inference workloads: the create request, the spec, the response
//! and the rolling-update request of `/api/v1/workloads/inferences`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{ClusterId, ProjectId};
use crate::spec::pod::PodFields;
use crate::spec::{
    Annotation, AutoScaling, Compute, EnvironmentVariable, ExposedUrl, ImagePullPolicy, ImagePullSecret,
    Label, NodeAffinityRequired, PodAffinity, Port, Preemptibility, PriorityClass, Probes, RelatedUrl,
    Security, ServingConfiguration, ServingPort, Storage, Toleration, check_node_pools, check_priority,
};
use crate::validate::{Checker, check_dns1035_label, impl_validate};
use crate::workload::WorkloadResponse;

/// The body of `POST /api/v1/workloads/inferences`.
///
/// ```
/// use runai_core::{parse, InferenceCreationRequest, Validate};
/// let request: InferenceCreationRequest = parse::strict(r#"{
///     "name": "llama-3-8b",
///     "projectId": "1",
///     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
///     "spec": {
///         "image": "vllm/vllm-openai:v0.11.0",
///         "servingPort": {"container": 8000},
///         "compute": {"gpuDevicesRequest": 1}
///     }
/// }"#).unwrap();
/// assert!(request.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InferenceCreationRequest {
    /// Workload name: a DNS label (lower-case letters, digits, '-'), at most 63 characters.
    pub name: String,
    /// Append random characters to `name` to make it unique (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_given_name_as_prefix: Option<bool>,
    /// The project the workload runs in.
    pub project_id: ProjectId,
    /// The cluster the workload runs on.
    pub cluster_id: ClusterId,
    /// A template whose values fill the fields left unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// What to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<InferenceSpec>,
}

/// The spec of a standard inference workload.
///
/// ```
/// use runai_core::{InferenceSpec, Validate};
/// let spec = InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000);
/// assert!(spec.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "kube", derive(kube::CustomResource))]
#[cfg_attr(
    feature = "kube",
    kube(
        group = "serving.runai.dev",
        version = "v1alpha1",
        kind = "InferenceWorkload",
        plural = "inferenceworkloads",
        shortname = "iw",
        namespaced,
        status = "crate::crd::InferenceWorkloadStatus",
        printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
        printcolumn = r#"{"name":"Ready","type":"integer","jsonPath":".status.readyReplicas"}"#,
        printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.readyRevision"}"#,
        printcolumn = r#"{"name":"URL","type":"string","jsonPath":".status.url"}"#,
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct InferenceSpec {
    /// Kubernetes annotations for the pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<Annotation>>,
    /// Arguments to the command, as one string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// Workload category for reporting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Command overriding the image entrypoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// GPU, CPU and memory per replica.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute: Option<Compute>,
    /// Create a home directory for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_home_dir: Option<bool>,
    /// Environment variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<EnvironmentVariable>>,
    /// Tool URLs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_urls: Option<Vec<ExposedUrl>>,
    /// Container image. Required by the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When to pull the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,
    /// Registry credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<ImagePullSecret>>,
    /// Kubernetes labels for the pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
    /// Nodes the pods may run on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_affinity_required: Option<NodeAffinityRequired>,
    /// Node pools in order of preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pools: Option<Vec<String>>,
    /// A node type (node label value) the pods must run on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// Keep pods in one topology domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_affinity: Option<PodAffinity>,
    /// Additional exposed ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<Port>>,
    /// Whether the pods may be preempted (derived from `priorityClass` when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemptibility: Option<Preemptibility>,
    /// Priority class (inference defaults to `very-high`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class: Option<PriorityClass>,
    /// Readiness probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    /// Links shown next to the workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_urls: Option<Vec<RelatedUrl>>,
    /// Security context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// The serving port and its access policy. Required by the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving_port: Option<ServingPort>,
    /// Volumes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    /// Taints the pods tolerate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Working directory of the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Replica bounds and scaling metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoScaling>,
    /// Initialization and request timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving_configuration: Option<ServingConfiguration>,
}

impl InferenceSpec {
    /// A spec that serves `image` on container port `port`.
    #[must_use]
    pub fn new(image: impl Into<String>, port: i32) -> Self {
        Self {
            image: Some(image.into()),
            serving_port: Some(ServingPort {
                container: Some(port),
                ..ServingPort::default()
            }),
            ..Self::default()
        }
    }

    /// The spec with Run:ai's documented defaults applied: autoscaling bounds, threshold
    /// percentage, priority class `very-high` and its preemptibility. Parsing never applies
    /// defaults; this is the one place that does.
    ///
    /// ```
    /// use runai_core::{InferenceSpec, spec::{Preemptibility, PriorityClass}};
    /// let spec = InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000).with_defaults();
    /// assert_eq!(spec.autoscaling.unwrap().max_replicas, Some(1));
    /// assert_eq!(spec.priority_class, Some(PriorityClass::VeryHigh));
    /// assert_eq!(spec.preemptibility, Some(Preemptibility::NonPreemptible));
    /// ```
    #[must_use]
    pub fn with_defaults(&self) -> Self {
        let priority_class = self.priority_class.clone().unwrap_or(PriorityClass::VeryHigh);
        let preemptibility = self
            .preemptibility
            .or_else(|| priority_class.default_preemptibility());
        Self {
            autoscaling: Some(self.autoscaling.clone().unwrap_or_default().with_defaults()),
            priority_class: Some(priority_class),
            preemptibility,
            ..self.clone()
        }
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        self.pod_fields().check(c);
        match &self.serving_port {
            None => c.at(
                "servingPort",
                "is required; give the container port the model server listens on",
            ),
            Some(port) => c.field("servingPort", |c| port.check(c)),
        }
        c.each("ports", self.ports.as_ref(), Port::check);
        c.each("exposedUrls", self.exposed_urls.as_ref(), ExposedUrl::check);
        c.opt("autoscaling", self.autoscaling.as_ref(), AutoScaling::check);
        c.opt(
            "servingConfiguration",
            self.serving_configuration.as_ref(),
            ServingConfiguration::check,
        );
        check_node_pools(c, self.node_pools.as_ref());
        check_priority(c, self.priority_class.as_ref());
    }

    fn pod_fields(&self) -> PodFields<'_> {
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
            storage: self.storage.as_ref(),
            tolerations: self.tolerations.as_ref(),
        }
    }
}

impl InferenceCreationRequest {
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

/// Characters the control plane appends when `useGivenNameAsPrefix` is true.
pub(crate) const GENERATED_SUFFIX_LEN: usize = 6;

/// Checks a workload name: an RFC 1035 label, since it names the Kubernetes Service.
pub(crate) fn check_workload_name(c: &mut Checker, name: &str, as_prefix: bool) {
    let limit = if as_prefix { 63 - GENERATED_SUFFIX_LEN } else { 63 };
    if let Err(why) = check_dns1035_label(name) {
        c.at("name", why);
    } else if name.len() > limit {
        c.at(
            "name",
            format!(
                "must be at most {limit} characters when useGivenNameAsPrefix is true, got {}",
                name.len()
            ),
        );
    }
}

/// Checks the project and (where the request carries one) cluster identifiers.
pub(crate) fn check_project_and_cluster(c: &mut Checker, project: &ProjectId, cluster: Option<&ClusterId>) {
    if project.as_str().is_empty() {
        c.at(
            "projectId",
            "is required; find it with GET /api/v1/org-unit/projects",
        );
    }
    if let Some(cluster) = cluster
        && !is_uuid(cluster.as_str())
    {
        c.at(
            "clusterId",
            format!("`{cluster}` is not a cluster UUID; find it with GET /api/v1/clusters"),
        );
    }
}

/// Whether `text` is a UUID in the canonical 8-4-4-4-12 hex form.
pub(crate) fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|ch| ch.is_ascii_hexdigit()))
}

/// The response of create, get and patch on `/api/v1/workloads/inferences`: metadata plus an
/// echo of the spec. It carries no URL and no conditions; see [`crate::Workload`] for those.
///
/// ```
/// use runai_core::{parse, Inference, Phase};
/// let inference: Inference = parse::lenient(r#"{
///     "name": "llama-3-8b", "requestedName": "llama-3-8b",
///     "workloadId": "a3c2bd2c-7c6b-4a0e-9d5e-1c2f7b8e9a10", "projectId": "1",
///     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "createdBy": "alice@example.com",
///     "createdAt": "2026-11-20T10:00:00Z", "desiredPhase": "Running", "actualPhase": "Creating",
///     "spec": {"image": "vllm/vllm-openai:v0.11.0"}
/// }"#).unwrap();
/// assert_eq!(inference.meta.actual_phase, Some(Phase::Creating));
/// assert_eq!(inference.spec.unwrap().image.as_deref(), Some("vllm/vllm-openai:v0.11.0"));
/// ```
pub type Inference = WorkloadResponse<InferenceSpec>;

/// The body of `PATCH /api/v1/workloads/inferences/{workloadId}`: a rolling update that
/// creates a new revision.
///
/// ```
/// use runai_core::{InferenceUpdateRequest, InferenceUpdateSpec, Validate};
/// let update = InferenceUpdateRequest {
///     spec: Some(InferenceUpdateSpec { image: Some("vllm/vllm-openai:v0.11.1".into()), ..Default::default() }),
/// };
/// assert!(update.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InferenceUpdateRequest {
    /// The fields to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<InferenceUpdateSpec>,
}

/// The fields a rolling update may change. The serving port, storage, security, labels,
/// annotations, tolerations, ports and URLs cannot change after creation.
///
/// ```
/// use runai_core::InferenceUpdateSpec;
/// let spec = InferenceUpdateSpec { command: Some("vllm serve".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&spec).unwrap()["command"], "vllm serve");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InferenceUpdateSpec {
    /// Arguments to the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// Workload category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Command overriding the entrypoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// GPU, CPU and memory per replica.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute: Option<Compute>,
    /// Create a home directory for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_home_dir: Option<bool>,
    /// Environment variables (replaces the list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<EnvironmentVariable>>,
    /// Container image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When to pull the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,
    /// Registry credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<ImagePullSecret>>,
    /// Nodes the pods may run on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_affinity_required: Option<NodeAffinityRequired>,
    /// Node pools in order of preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pools: Option<Vec<String>>,
    /// Node type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// Pod affinity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_affinity: Option<PodAffinity>,
    /// Preemptibility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemptibility: Option<Preemptibility>,
    /// Priority class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class: Option<PriorityClass>,
    /// Readiness probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    /// Working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Replica bounds and scaling metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoScaling>,
    /// Timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving_configuration: Option<ServingConfiguration>,
}

impl InferenceUpdateSpec {
    /// Applies this update to `spec`: every field set here replaces the one there.
    ///
    /// ```
    /// use runai_core::{InferenceSpec, InferenceUpdateSpec};
    /// let spec = InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000);
    /// let update = InferenceUpdateSpec { image: Some("vllm/vllm-openai:v0.11.1".into()), ..Default::default() };
    /// assert_eq!(update.apply_to(&spec).image.as_deref(), Some("vllm/vllm-openai:v0.11.1"));
    /// ```
    #[must_use]
    pub fn apply_to(&self, spec: &InferenceSpec) -> InferenceSpec {
        let mut next = spec.clone();
        macro_rules! replace {
            ($($field:ident),+) => {$(
                if let Some(value) = &self.$field {
                    next.$field = Some(value.clone());
                }
            )+};
        }
        replace!(
            args,
            category,
            command,
            compute,
            create_home_dir,
            environment_variables,
            image,
            image_pull_policy,
            image_pull_secrets,
            node_affinity_required,
            node_pools,
            node_type,
            pod_affinity,
            preemptibility,
            priority_class,
            probes,
            working_dir,
            autoscaling,
            serving_configuration
        );
        next
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        let pod = PodFields {
            image: self.image.as_ref(),
            command: self.command.as_ref(),
            args: self.args.as_ref(),
            working_dir: self.working_dir.as_ref(),
            node_type: self.node_type.as_ref(),
            compute: self.compute.as_ref(),
            environment_variables: self.environment_variables.as_ref(),
            image_pull_secrets: self.image_pull_secrets.as_ref(),
            node_affinity_required: self.node_affinity_required.as_ref(),
            pod_affinity: self.pod_affinity.as_ref(),
            probes: self.probes.as_ref(),
            ..PodFields::default()
        };
        pod.check(c);
        c.opt("autoscaling", self.autoscaling.as_ref(), AutoScaling::check);
        c.opt(
            "servingConfiguration",
            self.serving_configuration.as_ref(),
            ServingConfiguration::check,
        );
        check_node_pools(c, self.node_pools.as_ref());
        check_priority(c, self.priority_class.as_ref());
    }
}

impl InferenceUpdateRequest {
    pub(crate) fn check(&self, c: &mut Checker) {
        match &self.spec {
            None => c.at("spec", "is required; list the fields to change"),
            Some(spec) => c.field("spec", |c| spec.check(c)),
        }
    }
}

impl_validate!(
    InferenceCreationRequest,
    InferenceSpec,
    InferenceUpdateRequest,
    InferenceUpdateSpec
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(is_uuid("71f69d83-ba66-4822-adf5-55ce55efd210"));
        assert!(!is_uuid("71f69d83-ba66-4822-adf5-55ce55efd21"));
        assert!(!is_uuid("71f69d83ba664822adf555ce55efd210"));
        assert!(!is_uuid("71f69d83-ba66-4822-adf5-55ce55efd21g"));
    }
}
