//! The pod every kind wraps: one container from the spec (command, environment, port, probe,
//! resources, security, mounts), its volumes, GPU-sharing annotations, and the scheduling
//! fields (KAI scheduler and queue, priority class, node affinity, tolerations).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapKeySelector, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, ObjectFieldSelector, PersistentVolumeClaimVolumeSource,
    PodSpec, Probe, ResourceRequirements, SecretKeySelector, SecretVolumeSource, SecurityContext, Toleration,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runai_core::InferenceSpec;
use runai_core::spec::{
    Annotation, Compute, EnvironmentVariable, GpuRequestType, ImagePullSecret, Label, MatchOperator,
    NodeAffinityRequired, PriorityClass, ProbeScheme, ServingProtocol, TolerationEffect,
};
use serde::Serialize;

use super::{KAI_SCHEDULER, Placement, RenderError, RenderTarget};
use crate::backend::words::split_words;

/// The name of the serving container.
pub(crate) const CONTAINER: &str = "main";

/// The wire spelling of a Run:ai enum value.
pub(crate) fn wire<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The rendered pod, and the annotations its template carries.
pub(crate) struct RenderedPod {
    pub(crate) spec: PodSpec,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) labels: BTreeMap<String, String>,
}

/// Renders the pod of a standard inference spec; `kind` names the target in errors.
pub(crate) fn pod(
    target: &RenderTarget,
    spec: &InferenceSpec,
    placement: &Placement,
    kind: &'static str,
) -> Result<RenderedPod, RenderError> {
    let workload = &target.workload;
    let image = spec.image.clone().ok_or(RenderError::Missing {
        workload: workload.clone(),
        field: "spec.image",
        hint: "give the container image of the model server",
    })?;
    let words = |field: &'static str, text: &Option<String>| -> Result<Option<Vec<String>>, RenderError> {
        text.as_deref()
            .map(|t| {
                split_words(t).map_err(|reason| RenderError::Invalid {
                    workload: workload.clone(),
                    field,
                    reason,
                })
            })
            .transpose()
    };
    let (volumes, mounts) = volumes(target, spec, kind)?;
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(image),
        image_pull_policy: spec.image_pull_policy.as_ref().map(wire),
        command: words("spec.command", &spec.command)?,
        args: words("spec.args", &spec.args)?,
        working_dir: spec.working_dir.clone(),
        env: env(target, spec)?,
        ports: serving_port(spec),
        readiness_probe: readiness(spec),
        resources: resources(spec),
        security_context: security(spec),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        ..Container::default()
    };
    let mut labels = target.labels();
    labels.insert(super::KAI_QUEUE_LABEL.to_owned(), target.queue());
    extend_labels(&mut labels, spec.labels.as_deref());
    let mut annotations = gpu_sharing(spec);
    extend_annotations(&mut annotations, spec.annotations.as_deref());
    let pull_secrets = pull_secret_names(spec.image_pull_secrets.as_deref())
        .into_iter()
        .map(|name| k8s_openapi::api::core::v1::LocalObjectReference { name })
        .collect::<Vec<_>>();
    let pod = PodSpec {
        containers: vec![container],
        scheduler_name: Some(KAI_SCHEDULER.to_owned()),
        priority_class_name: Some(priority_class_name(spec.priority_class.as_ref())),
        affinity: affinity(target, spec, placement),
        tolerations: tolerations(spec),
        image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
        volumes: (!volumes.is_empty()).then_some(volumes),
        ..PodSpec::default()
    };
    Ok(RenderedPod {
        spec: pod,
        annotations,
        labels,
    })
}

/// Labels the spec sets (and does not exclude), over those already in `labels`.
pub(crate) fn extend_labels(labels: &mut BTreeMap<String, String>, given: Option<&[Label]>) {
    for label in given.into_iter().flatten() {
        if let (Some(name), Some(value), false) = (&label.name, &label.value, label.exclude == Some(true)) {
            labels.insert(name.clone(), value.clone());
        }
    }
}

/// Annotations the spec sets (and does not exclude), over those already in `annotations`.
pub(crate) fn extend_annotations(annotations: &mut BTreeMap<String, String>, given: Option<&[Annotation]>) {
    for annotation in given.into_iter().flatten() {
        if let (Some(name), Some(value), false) = (
            &annotation.name,
            &annotation.value,
            annotation.exclude == Some(true),
        ) {
            annotations.insert(name.clone(), value.clone());
        }
    }
}

/// The names of the image pull secrets the spec does not exclude.
pub(crate) fn pull_secret_names(secrets: Option<&[ImagePullSecret]>) -> Vec<String> {
    secrets
        .into_iter()
        .flatten()
        .filter(|s| s.exclude != Some(true))
        .filter_map(|s| s.name.clone())
        .collect()
}

/// The pods' priority class: Run:ai's priority classes keep their names; inference defaults
/// to `very-high`.
pub(crate) fn priority_class_name(class: Option<&PriorityClass>) -> String {
    class.map_or_else(|| "very-high".to_owned(), wire)
}

/// Environment variables: literal values and references to secrets, config maps and pod
/// fields.
fn env(target: &RenderTarget, spec: &InferenceSpec) -> Result<Option<Vec<EnvVar>>, RenderError> {
    env_vars(target, spec.environment_variables.as_deref(), "pod")
}

/// [`env`] of any list of Run:ai environment variables; `kind` names the target in errors.
pub(crate) fn env_vars(
    target: &RenderTarget,
    variables: Option<&[EnvironmentVariable]>,
    kind: &'static str,
) -> Result<Option<Vec<EnvVar>>, RenderError> {
    let mut out = Vec::new();
    for variable in variables.into_iter().flatten() {
        if variable.exclude == Some(true) {
            continue;
        }
        let Some(name) = variable.name.clone() else {
            continue;
        };
        let source = if let Some(secret) = &variable.secret {
            Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.name.clone().unwrap_or_default(),
                    key: secret.key.clone().unwrap_or_default(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            })
        } else if let Some(map) = &variable.config_map {
            Some(EnvVarSource {
                config_map_key_ref: Some(ConfigMapKeySelector {
                    name: map.name.clone().unwrap_or_default(),
                    key: map.key.clone().unwrap_or_default(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            })
        } else if let Some(field) = &variable.pod_field_ref {
            Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: field.path.clone().unwrap_or_default(),
                    api_version: None,
                }),
                ..EnvVarSource::default()
            })
        } else if variable.user_credential.is_some() {
            return Err(RenderError::Unsupported {
                workload: target.workload.clone(),
                field: format!("spec.environmentVariables[{name}].userCredential"),
                kind,
                reason: "user credentials are resolved by the Run:ai control plane; put the value in a secret and reference it".to_owned(),
            });
        } else {
            None
        };
        out.push(EnvVar {
            name,
            value: if source.is_none() {
                variable.value.clone()
            } else {
                None
            },
            value_from: source,
        });
    }
    Ok((!out.is_empty()).then_some(out))
}

fn serving_port(spec: &InferenceSpec) -> Option<Vec<ContainerPort>> {
    let port = spec.serving_port.as_ref()?;
    // Knative and KServe name the port by protocol: `h2c` for gRPC, `http1` otherwise.
    let name = match port.protocol {
        Some(ServingProtocol::Grpc) => "h2c",
        _ => "http1",
    };
    Some(vec![ContainerPort {
        container_port: port.container?,
        name: Some(name.to_owned()),
        ..ContainerPort::default()
    }])
}

fn readiness(spec: &InferenceSpec) -> Option<Probe> {
    let probe = spec.probes.as_ref()?.readiness.as_ref()?;
    http_probe(
        probe,
        spec.serving_port
            .as_ref()
            .and_then(|p| p.container)
            .unwrap_or(8080),
    )
}

/// A Run:ai HTTP probe as a Kubernetes probe, on `default_port` when the probe names none.
pub(crate) fn http_probe(probe: &runai_core::spec::Probe, default_port: i32) -> Option<Probe> {
    let get = probe.handler.as_ref()?.http_get.as_ref()?;
    Some(Probe {
        http_get: Some(HTTPGetAction {
            path: get.path.clone(),
            port: IntOrString::Int(get.port.unwrap_or(default_port)),
            host: get.host.clone(),
            scheme: get.scheme.map(|s| match s {
                ProbeScheme::Http => "HTTP".to_owned(),
                ProbeScheme::Https => "HTTPS".to_owned(),
            }),
            http_headers: None,
        }),
        initial_delay_seconds: probe.initial_delay_seconds,
        period_seconds: probe.period_seconds,
        timeout_seconds: probe.timeout_seconds,
        success_threshold: probe.success_threshold,
        failure_threshold: probe.failure_threshold,
        ..Probe::default()
    })
}

/// CPU and memory requests and limits, whole GPUs as `nvidia.com/gpu`, extended resources.
/// GPU fractions and GPU memory go to annotations instead ([`gpu_sharing`]).
fn resources(spec: &InferenceSpec) -> Option<ResourceRequirements> {
    compute_resources(spec.compute.as_ref()?)
}

/// [`resources`] of a [`Compute`].
pub(crate) fn compute_resources(compute: &Compute) -> Option<ResourceRequirements> {
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    let cores = |c: f64| Quantity(format!("{}m", (c * 1000.0).round() as i64));
    if let Some(c) = compute.cpu_core_request {
        requests.insert("cpu".to_owned(), cores(c));
    }
    if let Some(c) = compute.cpu_core_limit {
        limits.insert("cpu".to_owned(), cores(c));
    }
    if let Some(m) = &compute.cpu_memory_request {
        requests.insert("memory".to_owned(), Quantity(m.as_str().to_owned()));
    }
    if let Some(m) = &compute.cpu_memory_limit {
        limits.insert("memory".to_owned(), Quantity(m.as_str().to_owned()));
    }
    if let Some(devices) = compute.gpu_devices_request.filter(|&d| d > 0)
        && !shares_gpus(compute)
    {
        limits.insert("nvidia.com/gpu".to_owned(), Quantity(devices.to_string()));
    }
    for extended in compute.extended_resources.iter().flatten() {
        if let (Some(resource), Some(quantity), false) = (
            &extended.resource,
            &extended.quantity,
            extended.exclude == Some(true),
        ) {
            limits.insert(resource.clone(), Quantity(quantity.as_str().to_owned()));
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return None;
    }
    Some(ResourceRequirements {
        requests: (!requests.is_empty()).then_some(requests),
        limits: (!limits.is_empty()).then_some(limits),
        ..ResourceRequirements::default()
    })
}

/// Whether the spec asks for a share of devices (a portion or an amount of GPU memory)
/// rather than whole devices.
pub(crate) fn shares_gpus(compute: &Compute) -> bool {
    compute.gpu_portion_request.is_some()
        || compute.gpu_memory_request.is_some()
        || matches!(
            compute.gpu_request_type,
            Some(GpuRequestType::Portion | GpuRequestType::Memory)
        )
}

/// KAI's GPU-sharing annotations: `gpu-fraction` (a share of each device), `gpu-memory`
/// (MiB of each device), and `gpu-fraction-num-devices` when the share spans several.
fn gpu_sharing(spec: &InferenceSpec) -> BTreeMap<String, String> {
    gpu_sharing_annotations(spec.compute.as_ref())
}

/// [`gpu_sharing`] of a [`Compute`].
pub(crate) fn gpu_sharing_annotations(compute: Option<&Compute>) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    let Some(compute) = compute.filter(|c| shares_gpus(c)) else {
        return annotations;
    };
    if let Some(portion) = compute.gpu_portion_request {
        annotations.insert("gpu-fraction".to_owned(), portion.to_string());
    } else if let Some(bytes) = compute
        .gpu_memory_request
        .as_ref()
        .and_then(runai_core::Quantity::value)
    {
        let mebibytes = (bytes / (1024.0 * 1024.0)).round() as i64;
        annotations.insert("gpu-memory".to_owned(), mebibytes.to_string());
    }
    if let Some(devices) = compute.gpu_devices_request.filter(|&d| d > 1) {
        annotations.insert("gpu-fraction-num-devices".to_owned(), devices.to_string());
    }
    annotations
}

fn security(spec: &InferenceSpec) -> Option<SecurityContext> {
    let security = spec.security.as_ref()?;
    let added: Vec<String> = security.capabilities.iter().flatten().map(wire).collect();
    Some(SecurityContext {
        run_as_user: security.run_as_uid,
        run_as_group: security.run_as_gid,
        run_as_non_root: security.run_as_non_root,
        read_only_root_filesystem: security.read_only_root_filesystem,
        capabilities: (!added.is_empty()).then_some(Capabilities {
            add: Some(added),
            drop: None,
        }),
        ..SecurityContext::default()
    })
}

/// Required node affinity: the spec's own terms, the chosen (or allowed) node pools, and the
/// nodes of the placement, all ANDed into each term.
fn affinity(target: &RenderTarget, spec: &InferenceSpec, placement: &Placement) -> Option<Affinity> {
    node_affinity(
        target,
        spec.node_pools.as_deref(),
        spec.node_affinity_required.as_ref(),
        placement,
    )
}

/// [`affinity`] from the node pools and required node affinity of any spec.
pub(crate) fn node_affinity(
    target: &RenderTarget,
    node_pools: Option<&[String]>,
    required: Option<&NodeAffinityRequired>,
    placement: &Placement,
) -> Option<Affinity> {
    let mut common = Vec::new();
    let pools: Vec<String> = match &placement.node_pool {
        Some(pool) => vec![pool.clone()],
        None => node_pools.map(<[String]>::to_vec).unwrap_or_default(),
    };
    if !pools.is_empty() {
        common.push(NodeSelectorRequirement {
            key: target.node_pool_label.clone(),
            operator: "In".to_owned(),
            values: Some(pools),
        });
    }
    if !placement.nodes.is_empty() {
        common.push(NodeSelectorRequirement {
            key: "kubernetes.io/hostname".to_owned(),
            operator: "In".to_owned(),
            values: Some(placement.nodes.clone()),
        });
    }
    let own: Vec<Vec<NodeSelectorRequirement>> = required
        .into_iter()
        .flat_map(|a| a.node_selector_terms.iter().flatten())
        .map(|term| {
            term.match_expressions
                .iter()
                .flatten()
                .map(|e| NodeSelectorRequirement {
                    key: e.key.clone(),
                    operator: match e.operator {
                        MatchOperator::In => "In",
                        MatchOperator::NotIn => "NotIn",
                        MatchOperator::Exists => "Exists",
                        MatchOperator::DoesNotExist => "DoesNotExist",
                        MatchOperator::Gt => "Gt",
                        MatchOperator::Lt => "Lt",
                    }
                    .to_owned(),
                    values: e.values.clone(),
                })
                .collect()
        })
        .collect();
    let terms: Vec<NodeSelectorTerm> = if own.is_empty() {
        if common.is_empty() {
            return None;
        }
        vec![NodeSelectorTerm {
            match_expressions: Some(common),
            match_fields: None,
        }]
    } else {
        own.into_iter()
            .map(|mut expressions| {
                expressions.extend(common.iter().cloned());
                NodeSelectorTerm {
                    match_expressions: Some(expressions),
                    match_fields: None,
                }
            })
            .collect()
    };
    Some(Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: terms,
            }),
            preferred_during_scheduling_ignored_during_execution: None,
        }),
        ..Affinity::default()
    })
}

fn tolerations(spec: &InferenceSpec) -> Option<Vec<Toleration>> {
    toleration_list(spec.tolerations.as_deref())
}

/// [`tolerations`] of any list of Run:ai tolerations.
pub(crate) fn toleration_list(given: Option<&[runai_core::spec::Toleration]>) -> Option<Vec<Toleration>> {
    let out: Vec<Toleration> = given
        .into_iter()
        .flatten()
        .filter(|t| t.exclude != Some(true))
        .map(|t| Toleration {
            key: t.key.clone(),
            operator: t.operator.as_ref().map(wire),
            value: t.value.clone(),
            // `Any` is Kubernetes' empty effect: every effect.
            effect: t
                .effect
                .as_ref()
                .filter(|e| **e != TolerationEffect::Any)
                .map(wire),
            toleration_seconds: t.seconds,
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// The volumes and mounts of the spec's storage: existing PVCs, config maps, secrets and
/// empty dirs. Kinds of storage a pod cannot name directly are refused with the reason.
fn volumes(
    target: &RenderTarget,
    spec: &InferenceSpec,
    kind: &'static str,
) -> Result<(Vec<Volume>, Vec<VolumeMount>), RenderError> {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let Some(storage) = &spec.storage else {
        return Ok((volumes, mounts));
    };
    let unsupported = |field: &str, reason: &str| RenderError::Unsupported {
        workload: target.workload.clone(),
        field: format!("spec.storage.{field}"),
        kind,
        reason: reason.to_owned(),
    };
    let mut mount =
        |volumes: &mut Vec<Volume>, volume: Volume, path: Option<&String>, read_only: Option<bool>| {
            let name = format!("vol-{}", volumes.len());
            mounts.push(VolumeMount {
                name: name.clone(),
                mount_path: path.cloned().unwrap_or_default(),
                read_only,
                ..VolumeMount::default()
            });
            volumes.push(Volume { name, ..volume });
        };
    for pvc in storage.pvc.iter().flatten().filter(|p| p.exclude != Some(true)) {
        let claim = pvc
            .claim_name
            .clone()
            .filter(|_| pvc.existing_pvc == Some(true))
            .ok_or_else(|| unsupported("pvc", "only existing claims (`existingPvc` with `claimName`) are mounted; create the claim first"))?;
        let volume = Volume {
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim,
                read_only: pvc.read_only,
            }),
            ..Volume::default()
        };
        mount(&mut volumes, volume, pvc.path.as_ref(), pvc.read_only);
    }
    for map in storage
        .config_map_volume
        .iter()
        .flatten()
        .filter(|m| m.exclude != Some(true))
    {
        let volume = Volume {
            config_map: Some(ConfigMapVolumeSource {
                name: map.config_map.clone().unwrap_or_default(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        };
        mount(&mut volumes, volume, map.mount_path.as_ref(), Some(true));
    }
    for secret in storage
        .secret_volume
        .iter()
        .flatten()
        .filter(|s| s.exclude != Some(true))
    {
        let volume = Volume {
            secret: Some(SecretVolumeSource {
                secret_name: secret.secret.clone(),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        };
        mount(&mut volumes, volume, secret.mount_path.as_ref(), Some(true));
    }
    for dir in storage.empty_dir_volume.iter().flatten() {
        let volume = Volume {
            empty_dir: Some(EmptyDirVolumeSource {
                medium: dir.medium.clone(),
                size_limit: dir.size_limit.as_ref().map(|q| Quantity(q.as_str().to_owned())),
            }),
            ..Volume::default()
        };
        mount(&mut volumes, volume, dir.path.as_ref(), None);
    }
    for (field, present) in [
        ("nfs", storage.nfs.as_ref().is_some_and(|v| !v.is_empty())),
        (
            "hostPath",
            storage.host_path.as_ref().is_some_and(|v| !v.is_empty()),
        ),
        ("git", storage.git.as_ref().is_some_and(|v| !v.is_empty())),
        (
            "dataVolume",
            storage.data_volume.as_ref().is_some_and(|v| !v.is_empty()),
        ),
    ] {
        if present {
            return Err(unsupported(
                field,
                "this storage kind is not rendered yet; mount it through an existing PVC",
            ));
        }
    }
    Ok((volumes, mounts))
}
