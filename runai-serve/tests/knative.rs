//! The Knative `Service` renderer: every spec of a matrix renders to an object that the
//! upstream Knative CRD schema accepts (closed objects, so a misspelt field fails), with the
//! Run:ai fields mapped as documented, and a reviewed snapshot per spec.
#![cfg(feature = "kube")]

use std::sync::LazyLock;

use runai_core::InferenceSpec;
use runai_serve::backend::kubernetes::{Placement, RenderError, RenderTarget, knative};
use runai_serve::gateway::WorkloadKey;
use serde_json::{Value, json};

mod support {
    pub(crate) mod schema;
}

static VALIDATOR: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| support::schema::crd_validator("serving.knative.dev_services.yaml"));

fn schema_errors(object: &Value) -> Vec<String> {
    support::schema::schema_errors(&VALIDATOR, object)
}

fn target() -> RenderTarget {
    RenderTarget::new(WorkloadKey::new("team-a", "llama"), "rev-3")
}

fn spec(value: Value) -> InferenceSpec {
    serde_json::from_value(value).unwrap()
}

/// The specs every test renders: from the least a user gives to nearly every field.
fn matrix() -> Vec<(&'static str, InferenceSpec, Placement)> {
    vec![
        (
            "minimal",
            spec(json!({"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000}})),
            Placement::default(),
        ),
        (
            "concurrency_scale_to_zero",
            spec(json!({
                "image": "vllm/vllm-openai:v0.11.0",
                "command": "python3 -m vllm.entrypoints.openai.api_server",
                "args": "--model meta-llama/Llama-3.1-8B-Instruct --port 8000",
                "servingPort": {"container": 8000},
                "autoscaling": {
                    "minReplicas": 0, "maxReplicas": 4, "metric": "concurrency", "metricThreshold": 8,
                    "metricThresholdPercentage": 80, "concurrencyHardLimit": 16,
                    "scaleToZeroRetentionSeconds": 1800
                },
                "servingConfiguration": {"requestTimeoutSeconds": 600},
                "compute": {"gpuDevicesRequest": 1, "cpuCoreRequest": 4, "cpuMemoryRequest": "32G"}
            })),
            Placement::default(),
        ),
        (
            "throughput_with_bursts",
            spec(json!({
                "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:latest",
                "servingPort": {"container": 8000, "protocol": "http"},
                "autoscaling": {
                    "minReplicas": 1, "maxReplicas": 8, "initialReplicas": 2, "activationReplicas": 3,
                    "metric": "throughput", "metricThreshold": 50, "scaleDownDelaySeconds": 300
                }
            })),
            Placement::default(),
        ),
        (
            "latency_metric",
            spec(json!({
                "image": "ghcr.io/huggingface/text-generation-inference:3.0",
                "servingPort": {"container": 80},
                "autoscaling": {"minReplicas": 1, "maxReplicas": 3, "metric": "latency", "metricThreshold": 500}
            })),
            Placement::default(),
        ),
        (
            "fractional_gpu_in_a_pool",
            spec(json!({
                "image": "vllm/vllm-openai:v0.11.0",
                "servingPort": {"container": 8000},
                "compute": {"gpuDevicesRequest": 1, "gpuRequestType": "portion", "gpuPortionRequest": 0.5, "cpuMemoryLimit": "16Gi"},
                "nodePools": ["a100", "h100"],
                "priorityClass": "high",
                "tolerations": [
                    {"name": "gpu", "key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                    {"name": "spot", "key": "spot", "operator": "Equal", "value": "true", "effect": "Any", "seconds": 60}
                ],
                "labels": [{"name": "team", "value": "nlp"}],
                "annotations": [{"name": "owner", "value": "alice"}]
            })),
            Placement {
                node_pool: Some("h100".into()),
                nodes: Vec::new(),
                ..Placement::default()
            },
        ),
        (
            "everything",
            spec(json!({
                "image": "registry.example.com/llm/server:1.2",
                "imagePullPolicy": "IfNotPresent",
                "imagePullSecrets": [{"name": "registry-creds"}],
                "command": "server",
                "args": "--port 9000 --name 'my model'",
                "workingDir": "/srv",
                "servingPort": {"container": 9000, "protocol": "grpc"},
                "compute": {"gpuDevicesRequest": 2, "cpuCoreLimit": 8.5, "extendedResources": [{"resource": "rdma/ib", "quantity": "1"}]},
                "environmentVariables": [
                    {"name": "LOG_LEVEL", "value": "debug"},
                    {"name": "HF_TOKEN", "secret": {"name": "hf", "key": "token"}},
                    {"name": "MODEL", "configMap": {"name": "models", "key": "default"}},
                    {"name": "POD_IP", "podFieldRef": {"path": "status.podIP"}},
                    {"name": "DROPPED", "value": "x", "exclude": true}
                ],
                "probes": {"readiness": {"initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 30,
                    "handler": {"httpGet": {"path": "/health", "port": 9000, "scheme": "HTTP"}}}},
                "security": {"runAsUid": 1000, "runAsGid": 1000, "runAsNonRoot": true, "readOnlyRootFilesystem": true},
                "storage": {
                    "pvc": [{"path": "/models", "existingPvc": true, "claimName": "model-cache", "readOnly": true}],
                    "configMapVolume": [{"configMap": "server-config", "mountPath": "/etc/server"}],
                    "secretVolume": [{"secret": "tls", "mountPath": "/etc/tls"}],
                    "emptyDirVolume": [{"path": "/dev/shm", "medium": "Memory", "sizeLimit": "8Gi"}]
                },
                "nodeAffinityRequired": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-H100-80GB-HBM3"]}
                ]}]},
                "servingConfiguration": {"requestTimeoutSeconds": 120}
            })),
            Placement {
                node_pool: None,
                nodes: vec!["gpu-node-7".into()],
                ..Placement::default()
            },
        ),
    ]
}

#[test]
fn every_rendered_service_matches_the_knative_schema() {
    for (name, spec, placement) in matrix() {
        let service = knative::render(&target(), &spec, &placement).unwrap();
        let object = serde_json::to_value(&service).unwrap();
        let errors = schema_errors(&object);
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{object:#}");
        insta::assert_json_snapshot!(name, object);
    }
}

#[test]
fn the_validator_is_closed_so_a_misspelt_field_fails() {
    let service = knative::render(&target(), &matrix()[1].1, &Placement::default()).unwrap();
    let mut object = serde_json::to_value(&service).unwrap();
    object["spec"]["template"]["spec"]["containerConcurency"] = json!(4);
    assert!(!schema_errors(&object).is_empty());
    let mut object = serde_json::to_value(&service).unwrap();
    object["spec"]["template"]["spec"]["containers"][0]["lifecycle"] = json!({});
    assert!(
        !schema_errors(&object).is_empty(),
        "Knative allows no container lifecycle"
    );
}

#[test]
fn run_ai_fields_map_to_knative_as_documented() {
    let service = knative::render(&target(), &matrix()[1].1, &Placement::default()).unwrap();
    assert_eq!(service.metadata.name.as_deref(), Some("llama"));
    assert_eq!(service.metadata.namespace.as_deref(), Some("runai-team-a"));
    let template = &service.spec.template;
    assert_eq!(template.metadata.name.as_deref(), Some("llama-rev-3"));
    let annotations = template.metadata.annotations.clone().unwrap();
    for (key, value) in [
        ("class", "kpa.autoscaling.knative.dev"),
        ("metric", "concurrency"),
        ("target", "8"),
        ("target-utilization-percentage", "80"),
        ("min-scale", "0"),
        ("max-scale", "4"),
        ("scale-to-zero-pod-retention-period", "1800s"),
    ] {
        assert_eq!(
            annotations[&format!("autoscaling.knative.dev/{key}")],
            value,
            "{key}"
        );
    }
    assert_eq!(template.spec.container_concurrency, Some(16));
    assert_eq!(template.spec.timeout_seconds, Some(600));
    let pod = &template.spec.pod;
    assert_eq!(pod.scheduler_name.as_deref(), Some("kai-scheduler"));
    assert_eq!(
        template.metadata.labels.as_ref().unwrap()["kai.scheduler/queue"],
        "team-a"
    );
    let container = &pod.containers[0];
    assert_eq!(
        container.command.as_deref().unwrap(),
        ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    );
    let limits = container.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert_eq!(limits["nvidia.com/gpu"].0, "1");

    // Throughput is the KPA's rps; an activation scale of 3 is kept.
    let throughput = knative::render(&target(), &matrix()[2].1, &Placement::default()).unwrap();
    let annotations = throughput.spec.template.metadata.annotations.unwrap();
    assert_eq!(annotations["autoscaling.knative.dev/metric"], "rps");
    assert_eq!(annotations["autoscaling.knative.dev/activation-scale"], "3");
    assert_eq!(annotations["autoscaling.knative.dev/scale-down-delay"], "300s");

    // A GPU share is KAI's annotation, not a device limit; the chosen pool is required.
    let shared = knative::render(&target(), &matrix()[4].1, &matrix()[4].2).unwrap();
    let template = shared.spec.template;
    assert_eq!(template.metadata.annotations.unwrap()["gpu-fraction"], "0.5");
    let container = &template.spec.pod.containers[0];
    let limits = container.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert!(!limits.contains_key("nvidia.com/gpu"), "{limits:?}");
    let affinity = serde_json::to_value(template.spec.pod.affinity.unwrap()).unwrap();
    let term =
        &affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0];
    assert_eq!(
        term["matchExpressions"][0],
        json!({"key": "run.ai/node-pool", "operator": "In", "values": ["h100"]})
    );
}

#[test]
fn what_a_pod_cannot_express_is_refused_with_the_field() {
    let missing_image = spec(json!({"servingPort": {"container": 8000}}));
    let error = knative::render(&target(), &missing_image, &Placement::default()).unwrap_err();
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.image",
                ..
            }
        ),
        "{error}"
    );
    let nfs = spec(
        json!({"image": "x", "storage": {"nfs": [{"server": "10.0.0.1", "path": "/x", "mountPath": "/x"}]}}),
    );
    let error = knative::render(&target(), &nfs, &Placement::default()).unwrap_err();
    assert!(error.to_string().contains("spec.storage.nfs"), "{error}");
    let new_claim =
        spec(json!({"image": "x", "storage": {"pvc": [{"path": "/d", "claimInfo": {"size": "10Gi"}}]}}));
    let error = knative::render(&target(), &new_claim, &Placement::default()).unwrap_err();
    assert!(error.to_string().contains("existingPvc"), "{error}");
    let quote = spec(json!({"image": "x", "command": "python3 -c 'print(1)"}));
    let error = knative::render(&target(), &quote, &Placement::default()).unwrap_err();
    assert!(error.to_string().contains("spec.command"), "{error}");
}
