//! The Kubernetes backend: renders each revision with this module's renderers and applies it
//! with server-side apply (field manager `runai`), so a re-apply of the same spec is a no-op
//! and a new revision is a rolling update the serving kind carries out; deletes with
//! foreground propagation; reads status back as Run:ai phases.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, WatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use runai_core::{InferenceSpec, spec::AutoScaling};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::interface::{ResourceInterface, to_json};
use super::queue::Queue;
use super::{RenderTarget, knative, kserve, lws, nim, status};
use crate::backend::{Backend, BackendError, Deployment, RevisionStatus, WorkloadSpec};
use crate::gateway::WorkloadKey;

/// The kind single-node inference runs as.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub enum SingleNodeKind {
    /// A Knative `Service` (Run:ai's default).
    #[default]
    Knative,
    /// A KServe `InferenceService`.
    KServe,
    /// A kind described by a [`ResourceInterface`].
    Described(Arc<ResourceInterface>),
}

/// How the Kubernetes backend renders and labels what it applies.
///
/// ```
/// use runai_serve::backend::kubernetes::{KubernetesConfig, SingleNodeKind};
/// let config = KubernetesConfig::default().single_node(SingleNodeKind::KServe).queue("inference");
/// assert_eq!(config.field_manager, "runai");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KubernetesConfig {
    /// The kind single-node inference runs as.
    pub single_node: SingleNodeKind,
    /// The namespace of every workload; `runai-{project}` when unset.
    pub namespace: Option<String>,
    /// The KAI queue of every workload; the project's name when unset.
    pub queue: Option<String>,
    /// The node label that names a node's pool.
    pub node_pool_label: String,
    /// The server-side apply field manager.
    pub field_manager: String,
    /// An owner every applied object names (for example the custom resource the workload
    /// came from), so Kubernetes collects them with it. It must live in the same namespace.
    pub owner: Option<OwnerReference>,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        Self {
            single_node: SingleNodeKind::Knative,
            namespace: None,
            queue: None,
            node_pool_label: "run.ai/node-pool".to_owned(),
            field_manager: "runai".to_owned(),
            owner: None,
        }
    }
}

impl KubernetesConfig {
    /// Runs single-node inference as `kind`.
    #[must_use]
    pub fn single_node(mut self, kind: SingleNodeKind) -> Self {
        self.single_node = kind;
        self
    }

    /// Puts every workload in `namespace`.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Schedules every workload in the KAI queue `queue`.
    #[must_use]
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Names `owner` as the owner of every applied object.
    #[must_use]
    pub fn owner(mut self, owner: OwnerReference) -> Self {
        self.owner = Some(owner);
        self
    }
}

/// The kinds a workload can be applied as.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Knative,
    KServe,
    LeaderWorkerSet,
    Nim,
    Described(Arc<ResourceInterface>),
}

impl Kind {
    fn api_resource(&self) -> ApiResource {
        let typed = |group: &str, version: &str, kind: &str, plural: &str| {
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
        };
        match self {
            Self::Knative => typed("serving.knative.dev", "v1", "Service", "services"),
            Self::KServe => typed(
                "serving.kserve.io",
                "v1beta1",
                "InferenceService",
                "inferenceservices",
            ),
            Self::LeaderWorkerSet => typed(
                "leaderworkerset.x-k8s.io",
                "v1",
                "LeaderWorkerSet",
                "leaderworkersets",
            ),
            Self::Nim => typed("apps.nvidia.com", "v1alpha1", "NIMService", "nimservices"),
            Self::Described(interface) => interface.api_resource(),
        }
    }

    fn name(&self) -> String {
        match self {
            Self::Knative => "Knative Service".to_owned(),
            Self::KServe => "KServe InferenceService".to_owned(),
            Self::LeaderWorkerSet => "LeaderWorkerSet".to_owned(),
            Self::Nim => "NIMService".to_owned(),
            Self::Described(interface) => interface.kind.clone(),
        }
    }
}

fn knative_revisions() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("serving.knative.dev", "v1", "Revision"),
        "revisions",
    )
}

/// Runs workloads on a Kubernetes cluster through kube's client.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use runai_serve::backend::kubernetes::{KubernetesBackend, KubernetesConfig};
/// use runai_serve::backend::{Backend, Deployment};
/// use runai_serve::gateway::WorkloadKey;
/// let client = kube::Client::try_default().await?;
/// let backend = KubernetesBackend::new(client, KubernetesConfig::default());
/// let spec = runai_core::InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000);
/// backend.apply(&Deployment::new(WorkloadKey::new("team-a", "llama"), "rev-1", spec, 1)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KubernetesBackend {
    client: kube::Client,
    config: Arc<KubernetesConfig>,
    changes: Arc<watch::Sender<u64>>,
    /// The kind each workload was applied as, so status and delete go straight to it.
    kinds: Arc<Mutex<HashMap<WorkloadKey, Kind>>>,
}

impl std::fmt::Debug for KubernetesBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl KubernetesBackend {
    /// A backend applying through `client`.
    #[must_use]
    pub fn new(client: kube::Client, config: KubernetesConfig) -> Self {
        Self {
            client,
            config: Arc::new(config),
            changes: Arc::new(watch::channel(0).0),
            kinds: Arc::default(),
        }
    }

    /// Watches every kind this backend applies (objects labelled
    /// `app.kubernetes.io/managed-by=runai`, in all namespaces) and announces each change on
    /// [`Backend::changes`], reconnecting after errors (a kind whose CRD is not installed is
    /// looked for again every few seconds). The task ends once the backend is dropped.
    #[must_use]
    pub fn watch_cluster(&self) -> tokio::task::JoinHandle<()> {
        let mut kinds = vec![Kind::Knative, Kind::KServe, Kind::LeaderWorkerSet, Kind::Nim];
        if let SingleNodeKind::Described(interface) = &self.config.single_node {
            kinds.push(Kind::Described(Arc::clone(interface)));
        }
        let client = self.client.clone();
        let changes = Arc::downgrade(&self.changes);
        tokio::spawn(async move {
            let watches = kinds.into_iter().map(|kind| {
                let api: Api<DynamicObject> = Api::all_with(client.clone(), &kind.api_resource());
                let changes = std::sync::Weak::clone(&changes);
                async move {
                    let params = WatchParams::default().labels("app.kubernetes.io/managed-by=runai");
                    loop {
                        if let Ok(events) = api.watch(&params, "0").await {
                            let mut events = std::pin::pin!(events);
                            while let Some(Ok(_)) = events.next().await {
                                let Some(changes) = changes.upgrade() else { return };
                                changes.send_modify(|n| *n += 1);
                            }
                        }
                        if changes.upgrade().is_none() {
                            return;
                        }
                        // A kind that is not installed fails at once; look again later.
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                }
            });
            futures_util::future::join_all(watches).await;
        })
    }

    /// Applies KAI queues (rendered by [`queue`](super::queue)) with server-side apply; they
    /// are cluster-scoped, so they carry no owner reference.
    ///
    /// ```no_run
    /// # async fn run(backend: runai_serve::backend::kubernetes::KubernetesBackend) -> Result<(), Box<dyn std::error::Error>> {
    /// use runai_core::cluster::{NodePoolQuota, Project, ResourceQuota};
    /// use runai_serve::backend::kubernetes::queue;
    /// let project = Project::new("1", "team-a")
    ///     .with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(8.0)));
    /// backend.apply_queues(&queue::project_queues(&project, None)?).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`BackendError::Kubernetes`] naming the queue the API server refused.
    pub async fn apply_queues(&self, queues: &[Queue]) -> Result<(), BackendError> {
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("scheduling.run.ai", "v2", "Queue"),
            "queues",
        );
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let params = PatchParams::apply(&self.config.field_manager).force();
        for queue in queues {
            let name = queue.metadata.name.clone().unwrap_or_default();
            api.patch(&name, &params, &Patch::Apply(&to_json(queue)))
                .await
                .map_err(|e| api_error(format!("applying KAI queue {name}"), e))?;
        }
        self.announce();
        Ok(())
    }

    fn target(&self, workload: &WorkloadKey, revision: &str) -> RenderTarget {
        let mut target = RenderTarget::new(workload.clone(), revision);
        target.namespace.clone_from(&self.config.namespace);
        target.queue.clone_from(&self.config.queue);
        target.node_pool_label.clone_from(&self.config.node_pool_label);
        target
    }

    fn api(&self, kind: &Kind, workload: &WorkloadKey) -> Api<DynamicObject> {
        let namespace = self.target(workload, "").namespace();
        Api::namespaced_with(self.client.clone(), &namespace, &kind.api_resource())
    }

    fn single_node_kind(&self) -> Kind {
        match &self.config.single_node {
            SingleNodeKind::Knative => Kind::Knative,
            SingleNodeKind::KServe => Kind::KServe,
            SingleNodeKind::Described(interface) => Kind::Described(Arc::clone(interface)),
        }
    }

    /// The rendered object of a deployment and the kind it is.
    fn render(&self, deployment: &Deployment) -> Result<(Kind, Value), BackendError> {
        let target = self.target(&deployment.workload, &deployment.revision);
        let placement = &deployment.placement;
        let rendered = match &deployment.spec {
            WorkloadSpec::Inference(spec) => {
                let spec = with_fixed_replicas(spec, deployment.replicas);
                match &self.config.single_node {
                    SingleNodeKind::Knative => (
                        Kind::Knative,
                        to_json(&knative::render(&target, &spec, placement)?),
                    ),
                    SingleNodeKind::KServe => (
                        Kind::KServe,
                        to_json(&kserve::render(&target, &spec, placement, None)?),
                    ),
                    SingleNodeKind::Described(interface) => (
                        Kind::Described(Arc::clone(interface)),
                        interface.render(&target, &spec, placement, deployment.replicas)?,
                    ),
                }
            }
            WorkloadSpec::Distributed(spec) => {
                let mut spec = (**spec).clone();
                spec.replicas = Some(i32::try_from(deployment.replicas).unwrap_or(i32::MAX));
                let set = lws::render(&target, &spec, placement)?;
                (Kind::LeaderWorkerSet, to_json(&set))
            }
            WorkloadSpec::Nim(spec) => {
                let mut spec = (**spec).clone();
                // Without autoscaling the service runs exactly the deployment's replicas.
                if spec.autoscaling.is_none() {
                    spec.replicas = Some(i32::try_from(deployment.replicas).unwrap_or(i32::MAX));
                }
                (Kind::Nim, to_json(&nim::render(&target, &spec, placement)?))
            }
        };
        Ok(rendered)
    }

    /// The kind a workload was applied as: remembered, else looked up in the cluster.
    async fn locate(&self, workload: &WorkloadKey) -> Result<Option<(Kind, Value)>, BackendError> {
        let remembered = self
            .kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(workload)
            .cloned();
        let candidates = match remembered {
            Some(kind) => vec![kind],
            None => vec![self.single_node_kind(), Kind::LeaderWorkerSet, Kind::Nim],
        };
        for kind in candidates {
            let api = self.api(&kind, workload);
            match api.get_opt(&workload.workload).await {
                Ok(Some(object)) => return Ok(Some((kind, to_json(&object)))),
                Ok(None) => {}
                // A kind whose CRD is not installed cannot hold the workload.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => return Err(api_error(format!("reading {} {workload}", kind.name()), source)),
            }
        }
        Ok(None)
    }

    fn announce(&self) {
        self.changes.send_modify(|n| *n += 1);
    }
}

/// The Knative and KServe renderers take their replica counts from the autoscaling fields; a
/// spec without them runs exactly the deployment's replicas.
fn with_fixed_replicas(spec: &InferenceSpec, replicas: u32) -> InferenceSpec {
    let mut spec = spec.clone();
    if spec.autoscaling.is_none() {
        let replicas = i32::try_from(replicas).unwrap_or(i32::MAX);
        spec.autoscaling = Some(AutoScaling {
            min_replicas: Some(replicas),
            max_replicas: Some(replicas.max(1)),
            ..AutoScaling::default()
        });
    }
    spec
}

fn api_error(action: String, source: kube::Error) -> BackendError {
    BackendError::Kubernetes {
        action,
        source: Box::new(source),
    }
}

#[async_trait::async_trait]
impl Backend for KubernetesBackend {
    async fn apply(&self, deployment: &Deployment) -> Result<(), BackendError> {
        let (kind, mut object) = self.render(deployment)?;
        if let Some(owner) = &self.config.owner {
            object["metadata"]["ownerReferences"] = json!([to_json(owner)]);
        }
        let api = self.api(&kind, &deployment.workload);
        let params = PatchParams::apply(&self.config.field_manager).force();
        api.patch(&deployment.workload.workload, &params, &Patch::Apply(&object))
            .await
            .map_err(|e| {
                api_error(
                    format!(
                        "applying {} {} revision {}",
                        kind.name(),
                        deployment.workload,
                        deployment.revision
                    ),
                    e,
                )
            })?;
        self.kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(deployment.workload.clone(), kind);
        self.announce();
        Ok(())
    }

    async fn scale(&self, workload: &WorkloadKey, revision: &str, replicas: u32) -> Result<(), BackendError> {
        let Some((kind, object)) = self.locate(workload).await? else {
            return Err(BackendError::UnknownRevision {
                workload: workload.clone(),
                revision: revision.to_owned(),
            });
        };
        if status::revision_label(&object) != revision {
            return Err(BackendError::UnknownRevision {
                workload: workload.clone(),
                revision: revision.to_owned(),
            });
        }
        let api = self.api(&kind, workload);
        let action = || format!("scaling {} {workload} to {replicas}", kind.name());
        let spec_replicas = json!({"spec": {"replicas": replicas}});
        // Kinds with a scale subresource scale through it; others get a merge patch of the
        // field that holds their replica count.
        let merge_patch = match &kind {
            Kind::LeaderWorkerSet => None,
            Kind::Described(interface) if interface.scale_subresource => None,
            Kind::Described(interface) => {
                let mut patch = json!({});
                super::interface::set(&mut patch, &interface.replicas, json!(replicas)).map_err(|what| {
                    BackendError::Unsupported {
                        workload: workload.clone(),
                        what,
                    }
                })?;
                Some(patch)
            }
            Kind::Nim if object.pointer("/spec/scale/enabled") != Some(&Value::Bool(true)) => {
                Some(spec_replicas.clone())
            }
            Kind::Knative | Kind::KServe | Kind::Nim => {
                return Err(BackendError::Unsupported {
                    workload: workload.clone(),
                    what: format!(
                        "scaling a {} by hand (its autoscaler owns the replica count; change autoscaling.minReplicas and maxReplicas and apply)",
                        kind.name()
                    ),
                });
            }
        };
        let params = PatchParams::default();
        match merge_patch {
            None => api
                .patch_scale(&workload.workload, &params, &Patch::Merge(&spec_replicas))
                .await
                .map(drop),
            Some(patch) => api
                .patch(&workload.workload, &params, &Patch::Merge(&patch))
                .await
                .map(drop),
        }
        .map_err(|e| api_error(action(), e))?;
        self.announce();
        Ok(())
    }

    async fn delete(&self, workload: &WorkloadKey, revision: Option<&str>) -> Result<(), BackendError> {
        let Some((kind, object)) = self.locate(workload).await? else {
            return Ok(());
        };
        let deleted = match (revision, &kind) {
            // One Knative revision among the service's: delete that Revision object.
            (Some(revision), Kind::Knative) if status::revision_label(&object) != revision => {
                let api: Api<DynamicObject> = Api::namespaced_with(
                    self.client.clone(),
                    &self.target(workload, revision).namespace(),
                    &knative_revisions(),
                );
                let name = format!("{}-{revision}", workload.workload);
                api.delete(&name, &DeleteParams::foreground()).await.map(|_| ())
            }
            // Another revision of a kind that holds one: it is gone already.
            (Some(revision), _) if status::revision_label(&object) != revision => Ok(()),
            _ => {
                let api = self.api(&kind, workload);
                api.delete(&workload.workload, &DeleteParams::foreground())
                    .await
                    .map(|_| ())
            }
        };
        match deleted {
            Ok(()) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(source) => return Err(api_error(format!("deleting {} {workload}", kind.name()), source)),
        }
        if revision.is_none() {
            self.kinds
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(workload);
        }
        self.announce();
        Ok(())
    }

    async fn status(&self, workload: &WorkloadKey) -> Result<Vec<RevisionStatus>, BackendError> {
        let Some((kind, object)) = self.locate(workload).await? else {
            return Ok(Vec::new());
        };
        let url = object
            .pointer("/status/url")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut statuses = match &kind {
            Kind::Knative => {
                let api: Api<DynamicObject> = Api::namespaced_with(
                    self.client.clone(),
                    &self.target(workload, "").namespace(),
                    &knative_revisions(),
                );
                let params = ListParams::default()
                    .labels(&format!("serving.knative.dev/service={}", workload.workload));
                let revisions = api
                    .list(&params)
                    .await
                    .map_err(|e| api_error(format!("listing the Knative revisions of {workload}"), e))?;
                let mut statuses: Vec<RevisionStatus> = revisions
                    .items
                    .iter()
                    .map(|r| status::knative_revision(&workload.workload, &to_json(r)))
                    .collect();
                if statuses.is_empty() {
                    // Knative has not created the revision yet.
                    statuses.push(RevisionStatus {
                        revision: status::revision_label(&object),
                        phase: runai_core::Phase::Creating,
                        ..RevisionStatus::default()
                    });
                }
                statuses
            }
            Kind::KServe => vec![status::inference_service(&object)],
            Kind::LeaderWorkerSet => vec![status::leader_worker_set(&object)],
            Kind::Nim => vec![status::nim_service(&object)],
            Kind::Described(interface) => vec![status::described(interface, &object)],
        };
        if let Some(url) = url {
            for status in statuses
                .iter_mut()
                .filter(|s| s.ready > 0 || s.phase.is_serving())
            {
                status.endpoints = vec![url.clone()];
            }
        }
        Ok(statuses)
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}
