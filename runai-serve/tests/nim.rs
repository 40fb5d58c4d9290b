//! The `NIMService` renderer: specs render to objects that the NIM operator's v3.1.2 CRD schema
//! accepts (closed objects), with the Run:ai fields mapped as documented, a reviewed snapshot
//! per spec, and the combinations the CRD's CEL rules forbid refused before they reach it.
#![cfg(feature = "kube")]

use std::sync::LazyLock;

use runai_core::NimServiceSpec;
use runai_serve::backend::kubernetes::{Placement, RenderError, RenderTarget, nim};
use runai_serve::gateway::WorkloadKey;
use serde_json::{Value, json};

mod support {
    pub(crate) mod schema;
}

const CRD: &str = "apps.nvidia.com_nimservices.yaml";

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| support::schema::crd_validator(CRD));

/// The CRD's `openAPIV3Schema`, for its CEL rules (`x-kubernetes-validations`), which a JSON
/// Schema validator skips.
static CEL_SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    let path = format!("{}/tests/fixtures/schemas/{CRD}", env!("CARGO_MANIFEST_DIR"));
    let crd: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
});

/// Every CEL rule of the CRD that `object` breaks, as the API server would report it on create.
fn cel_errors(object: &Value) -> Vec<String> {
    match kube::core::cel::Validator::new().validate(&CEL_SCHEMA, object, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn target() -> RenderTarget {
    RenderTarget::new(WorkloadKey::new("team-a", "llama"), "rev-3")
}

fn spec(value: Value) -> NimServiceSpec {
    serde_json::from_value(value).unwrap()
}

fn minimal() -> Value {
    json!({
        "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0",
        "ngcAuthSecret": "ngc-api-key",
        "servingPort": {"port": 8000},
        "compute": {"gpuDevicesRequest": 1},
        "modelStore": {"nimCache": {"name": "llama-3-1-8b-cache", "profile": "tensorrt_llm-h100-fp8-tp1-pp1-throughput"}}
    })
}

fn with(mut base: Value, changes: Value) -> Value {
    if let (Some(base), Value::Object(changes)) = (base.as_object_mut(), changes) {
        base.extend(changes);
    }
    base
}

fn matrix() -> Vec<(&'static str, NimServiceSpec, Placement)> {
    vec![
        ("nim_minimal_cache", spec(minimal()), Placement::default()),
        (
            "nim_autoscaled",
            spec(json!({
                "image": "nvcr.io/nim/meta/llama-3.1-70b-instruct:1.8.0",
                "imagePullPolicy": "IfNotPresent",
                "imagePullSecrets": [{"name": "ngc-registry"}, {"name": "old-registry", "exclude": true}],
                "ngcAuthSecret": "ngc-api-key",
                "servingPort": {"port": 8000, "grpcPort": 8001, "metricsPort": 9090, "serviceType": "ClusterIP"},
                "compute": {"gpuDevicesRequest": 4, "cpuCoreRequest": 8, "cpuMemoryRequest": "64Gi", "cpuMemoryLimit": "128Gi"},
                "modelStore": {"pvc": {"existingPvc": true, "claimName": "nim-models", "readOnly": true}},
                "autoscaling": {"minReplicas": 2, "maxReplicas": 6, "metric": "gpu_cache_usage_perc", "metricThreshold": 75, "scaleWindowSeconds": 120},
                "environmentVariables": [
                    {"name": "NIM_MAX_MODEL_LEN", "value": "8192"},
                    {"name": "HF_TOKEN", "secret": {"name": "hf", "key": "token"}},
                    {"name": "NIM_LOG_LEVEL", "configMap": {"name": "nim-settings", "key": "log-level"}},
                    {"name": "UNUSED", "value": "x", "exclude": true}
                ],
                "probes": {"readiness": {"initialDelaySeconds": 30, "periodSeconds": 10, "failureThreshold": 6,
                    "handler": {"httpGet": {"path": "/v1/health/ready"}}}},
                "security": {"runAsUid": 1000, "runAsGid": 2000},
                "labels": [{"name": "team", "value": "nlp"}],
                "annotations": [{"name": "prometheus.io/scrape", "value": "true"}]
            })),
            Placement::default(),
        ),
        (
            "nim_fractional_gpu_in_a_pool",
            spec(json!({
                "image": "registry.internal:5000/nim/mistral-7b-instruct:1.2",
                "ngcAuthSecret": "ngc-api-key",
                "servingPort": {"port": 8000, "serviceType": "NodePort"},
                "compute": {"gpuDevicesRequest": 1, "gpuRequestType": "portion", "gpuPortionRequest": 0.5},
                "modelStore": {"pvc": {"claimName": "mistral-cache", "claimInfo": {
                    "size": "100Gi", "storageClass": "fast-rwx", "accessModes": {"readWriteMany": true}}}},
                "replicas": 2,
                "nodePools": ["l40s", "a100"],
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "priorityClass": "high",
                "preemptibility": "preemptible"
            })),
            Placement {
                node_pool: Some("l40s".into()),
                nodes: vec!["node-3".into()],
                ..Placement::default()
            },
        ),
        (
            "nim_multi_node",
            spec(json!({
                "image": "nvcr.io/nim/deepseek-ai/deepseek-r1@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
                "ngcAuthSecret": "ngc-api-key",
                "servingPort": {"port": 8000},
                "compute": {"gpuDevicesRequest": 8},
                "modelStore": {"nimCache": {"name": "deepseek-r1-cache"}},
                "multiNode": {"workers": 1},
                "replicas": 2,
                "nodePools": ["h200"]
            })),
            Placement::default(),
        ),
    ]
}

fn render(spec: &NimServiceSpec) -> Result<nim::NimService, RenderError> {
    nim::render(&target(), spec, &Placement::default())
}

#[test]
fn every_rendered_nim_service_matches_the_nim_operator_schema() {
    for (name, spec, placement) in matrix() {
        let service = nim::render(&target(), &spec, &placement).unwrap();
        let object = serde_json::to_value(&service).unwrap();
        let errors = support::schema::schema_errors(&VALIDATOR, &object);
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{object:#}");
        let errors = cel_errors(&object);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        insta::assert_json_snapshot!(name, object);
    }
}

#[test]
fn the_schema_is_closed_and_requires_the_auth_secret() {
    let object = serde_json::to_value(render(&matrix()[1].1).unwrap()).unwrap();
    let mut typo = object.clone();
    typo["spec"]["scale"]["hpa"]["maxReplica"] = json!(6);
    assert!(!support::schema::schema_errors(&VALIDATOR, &typo).is_empty());
    let mut typo = object.clone();
    typo["spec"]["authSecrets"] = json!("ngc-api-key");
    assert!(!support::schema::schema_errors(&VALIDATOR, &typo).is_empty());
    let mut without_secret = object;
    without_secret["spec"]
        .as_object_mut()
        .unwrap()
        .remove("authSecret");
    let errors = support::schema::schema_errors(&VALIDATOR, &without_secret);
    assert!(errors.iter().any(|e| e.contains("authSecret")), "{errors:#?}");
}

#[test]
fn the_cel_rules_the_renderer_keeps_to_are_enforced() {
    // What the renderer refuses to produce, the CRD's rules would reject.
    let mut scaled = serde_json::to_value(render(&matrix()[1].1).unwrap()).unwrap();
    scaled["spec"]["replicas"] = json!(2);
    let errors = cel_errors(&scaled);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("spec.replicas cannot be set when spec.scale.enabled is true")),
        "{errors:#?}"
    );
    let mut multi = serde_json::to_value(render(&matrix()[3].1).unwrap()).unwrap();
    multi["spec"]["scale"] = scaled["spec"]["scale"].clone();
    let errors = cel_errors(&multi);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("autoScaling must be nil or disabled when multiNode is set")),
        "{errors:#?}"
    );
}

#[test]
fn run_ai_fields_map_to_the_nim_service() {
    let minimal = render(&matrix()[0].1).unwrap();
    assert_eq!(minimal.api_version, "apps.nvidia.com/v1alpha1");
    assert_eq!(minimal.kind, "NIMService");
    assert_eq!(minimal.metadata.namespace.as_deref(), Some("runai-team-a"));
    assert_eq!(
        minimal.metadata.labels.as_ref().unwrap()["kai.scheduler/queue"],
        "team-a"
    );
    let s = &minimal.spec;
    assert_eq!(
        (s.image.repository.as_str(), s.image.tag.as_str()),
        ("nvcr.io/nim/meta/llama-3.1-8b-instruct", "1.8.0")
    );
    assert_eq!(s.auth_secret, "ngc-api-key");
    assert_eq!(s.replicas, Some(1), "Run:ai's default replicas");
    assert!(s.scale.is_none());
    assert_eq!(s.expose.service.port, 8000);
    assert_eq!(s.storage.nim_cache.as_ref().unwrap().name, "llama-3-1-8b-cache");
    assert_eq!(
        s.resources.as_ref().unwrap().limits.as_ref().unwrap()["nvidia.com/gpu"].0,
        "1"
    );
    assert_eq!(s.scheduler_name, "kai-scheduler");
    assert_eq!(s.priority_class_name, "very-high");
    assert_eq!(s.labels.as_ref().unwrap()["kai.scheduler/queue"], "team-a");
    assert_eq!(s.labels.as_ref().unwrap()["run.ai/revision"], "rev-3");

    let scaled = render(&matrix()[1].1).unwrap().spec;
    assert_eq!(scaled.replicas, None);
    let hpa = &scaled.scale.as_ref().unwrap().hpa;
    assert_eq!((hpa.min_replicas, hpa.max_replicas), (Some(2), 6));
    let pods = hpa.metrics[0].pods.as_ref().unwrap();
    assert_eq!(pods.metric.name, "gpu_cache_usage_perc");
    assert_eq!(pods.target.type_, "AverageValue");
    // 75 percent of a 0..1 ratio.
    assert_eq!(pods.target.average_value.as_ref().unwrap().0, "750m");
    let behavior = hpa.behavior.as_ref().unwrap();
    assert_eq!(
        behavior.scale_down.as_ref().unwrap().stabilization_window_seconds,
        Some(120)
    );
    assert_eq!(
        scaled.image.pull_secrets.as_deref(),
        Some(&["ngc-registry".to_owned()][..])
    );
    let env = scaled.env.as_ref().unwrap();
    assert_eq!(env.len(), 3, "the excluded variable is dropped");
    assert_eq!(
        env[1]
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap()
            .key,
        "token"
    );
    assert_eq!(
        scaled.storage.pvc.as_ref().unwrap().name.as_deref(),
        Some("nim-models")
    );
    assert!(!scaled.storage.pvc.as_ref().unwrap().create);
    assert_eq!(scaled.storage.read_only, Some(true));
    assert_eq!((scaled.user_id, scaled.group_id), (Some(1000), Some(2000)));
    let probe = &scaled.readiness_probe.as_ref().unwrap().probe;
    assert_eq!(
        probe.http_get.as_ref().unwrap().port,
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8000),
        "the serving port when the probe names none"
    );

    let (_, fractional, placement) = &matrix()[2];
    let shared = nim::render(&target(), fractional, placement).unwrap().spec;
    assert_eq!(
        shared.image.repository,
        "registry.internal:5000/nim/mistral-7b-instruct"
    );
    assert_eq!(shared.image.tag, "1.2");
    assert_eq!(shared.annotations.as_ref().unwrap()["gpu-fraction"], "0.5");
    assert!(
        shared.resources.is_none(),
        "a share is KAI's annotation, not a device limit"
    );
    assert_eq!(
        shared.labels.as_ref().unwrap()["kai.scheduler/preemptibility"],
        "preemptible"
    );
    assert_eq!(shared.priority_class_name, "high");
    let pvc = shared.storage.pvc.as_ref().unwrap();
    assert!(pvc.create);
    assert_eq!(pvc.volume_access_mode.as_deref(), Some("ReadWriteMany"));
    let terms = &shared
        .affinity
        .as_ref()
        .unwrap()
        .node_affinity
        .as_ref()
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap()
        .node_selector_terms;
    let expressions = terms[0].match_expressions.as_ref().unwrap();
    assert_eq!(
        expressions[0].values.as_deref(),
        Some(&["l40s".to_owned()][..]),
        "the placement's pool"
    );
    assert_eq!(expressions[1].values.as_deref(), Some(&["node-3".to_owned()][..]));

    let multi = render(&matrix()[3].1).unwrap().spec;
    let parallelism = &multi.multi_node.as_ref().unwrap().parallelism;
    assert_eq!(
        (parallelism.pipeline, parallelism.tensor),
        (2, 8),
        "leader and one worker, 8 GPUs each"
    );
    assert_eq!(multi.replicas, Some(2));
    assert_eq!(
        multi.image.repository,
        "nvcr.io/nim/deepseek-ai/deepseek-r1@sha256"
    );
    assert_eq!(
        format!("{}:{}", multi.image.repository, multi.image.tag),
        "nvcr.io/nim/deepseek-ai/deepseek-r1@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "the operator's repository:tag is the exact digest reference"
    );
}

#[test]
fn concurrency_scales_on_requests_in_flight() {
    let scaled = render(&spec(with(
        minimal(),
        json!({"autoscaling": {"maxReplicas": 3, "metric": "concurrency", "metricThreshold": 16}}),
    )))
    .unwrap();
    let object = serde_json::to_value(&scaled).unwrap();
    assert!(support::schema::schema_errors(&VALIDATOR, &object).is_empty());
    assert!(cel_errors(&object).is_empty());
    assert_eq!(
        object["spec"]["scale"],
        json!({"enabled": true, "hpa": {
            "minReplicas": 1, "maxReplicas": 3,
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": "num_requests_running"},
                "target": {"type": "AverageValue", "averageValue": "16"}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}}})
    );
}

#[test]
fn a_missing_auth_secret_is_refused_with_a_hint() {
    let mut value = minimal();
    value.as_object_mut().unwrap().remove("ngcAuthSecret");
    let error = render(&spec(value)).unwrap_err();
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.ngcAuthSecret",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("NGC_API_KEY"), "{error}");
}

#[test]
fn combinations_the_crd_forbids_are_refused() {
    let autoscaling = json!({"maxReplicas": 3, "metric": "concurrency", "metricThreshold": 4});
    let both = spec(with(
        minimal(),
        json!({"replicas": 2, "autoscaling": autoscaling}),
    ));
    let error = render(&both).unwrap_err();
    assert!(
        matches!(
            error,
            RenderError::Invalid {
                field: "spec.replicas",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("minReplicas"), "{error}");

    let multi = spec(with(
        minimal(),
        json!({"multiNode": {"workers": 2}, "autoscaling": autoscaling}),
    ));
    let error = render(&multi).unwrap_err();
    assert!(
        matches!(
            error,
            RenderError::Invalid {
                field: "spec.autoscaling",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("multiNode"), "{error}");
}

#[test]
fn what_the_operator_cannot_express_is_refused() {
    let refused = |changes: Value| render(&spec(with(minimal(), changes))).unwrap_err();
    for metric in ["throughput", "latency"] {
        let error =
            refused(json!({"autoscaling": {"maxReplicas": 3, "metric": metric, "metricThreshold": 10}}));
        assert!(matches!(error, RenderError::Unsupported { .. }), "{error}");
        assert!(error.to_string().contains(metric), "{error}");
    }
    let error = refused(json!({"autoscaling": {"metric": "concurrency", "metricThreshold": 10}}));
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.autoscaling.maxReplicas",
                ..
            }
        ),
        "{error}"
    );
    let error = refused(
        json!({"multiNode": {"workers": 1}, "compute": {"gpuDevicesRequest": 1, "gpuPortionRequest": 0.5}}),
    );
    assert!(matches!(error, RenderError::Unsupported { .. }), "{error}");
    let error = refused(json!({"multiNode": {"workers": 1}, "compute": {"cpuCoreRequest": 4}}));
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.compute.gpuDevicesRequest",
                ..
            }
        ),
        "{error}"
    );
    let error = refused(json!({"modelStore": null}));
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.modelStore",
                ..
            }
        ),
        "{error}"
    );
    let error = refused(
        json!({"modelStore": {"nimCache": {"name": "a"}, "pvc": {"existingPvc": true, "claimName": "b"}}}),
    );
    assert!(
        matches!(
            error,
            RenderError::Invalid {
                field: "spec.modelStore",
                ..
            }
        ),
        "{error}"
    );
    let error = refused(json!({"servingPort": null}));
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.servingPort.port",
                ..
            }
        ),
        "{error}"
    );
    let error = refused(
        json!({"environmentVariables": [{"name": "TOKEN", "userCredential": {"name": "creds", "key": "token"}}]}),
    );
    assert!(
        matches!(
            error,
            RenderError::Unsupported {
                kind: "NIMService",
                ..
            }
        ),
        "{error}"
    );
    let error = refused(json!({"image": "nvcr.io/nim/llama:"}));
    assert!(
        matches!(
            error,
            RenderError::Invalid {
                field: "spec.image",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn images_split_into_repository_and_tag() {
    let cases = [
        (
            "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0",
            Some(("nvcr.io/nim/meta/llama-3.1-8b-instruct", "1.8.0")),
        ),
        ("host:5000/nim/llama:1.0", Some(("host:5000/nim/llama", "1.0"))),
        ("host:5000/nim/llama", Some(("host:5000/nim/llama", "latest"))),
        ("llama", Some(("llama", "latest"))),
        ("nim/llama@sha256:abc123", Some(("nim/llama@sha256", "abc123"))),
        (
            "host:5000/nim/llama:1.0@sha256:abc123",
            Some(("host:5000/nim/llama:1.0@sha256", "abc123")),
        ),
        ("nim/llama@sha256", None),
        ("nim/llama@sha256:", None),
        ("@sha256:abc", None),
        (":1.0", None),
        ("", None),
    ];
    for (image, expected) in cases {
        let split = nim::split_image(image);
        assert_eq!(
            split.as_ref().map(|(r, t)| (r.as_str(), t.as_str())),
            expected,
            "{image}"
        );
    }
}
