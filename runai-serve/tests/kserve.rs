//! The KServe `InferenceService` renderer: specs render to objects that the upstream KServe
//! CRD schema accepts (closed objects), with the Run:ai fields mapped as documented and a
//! reviewed snapshot per spec.
#![cfg(feature = "kube")]

use std::sync::LazyLock;

use runai_core::InferenceSpec;
use runai_serve::backend::kubernetes::{Placement, RenderError, RenderTarget, kserve};
use runai_serve::gateway::WorkloadKey;
use serde_json::{Value, json};

mod support {
    pub(crate) mod schema;
}

static VALIDATOR: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| support::schema::crd_validator("serving.kserve.io_inferenceservices.yaml"));

fn target() -> RenderTarget {
    RenderTarget::new(WorkloadKey::new("team-a", "llama"), "rev-2")
}

fn spec(value: Value) -> InferenceSpec {
    serde_json::from_value(value).unwrap()
}

fn matrix() -> Vec<(&'static str, InferenceSpec, Placement, Option<u8>)> {
    vec![
        (
            "kserve_minimal",
            spec(json!({"image": "kserve/huggingfaceserver:v0.15.0", "servingPort": {"container": 8080}})),
            Placement::default(),
            None,
        ),
        (
            "kserve_concurrency_canary",
            spec(json!({
                "image": "vllm/vllm-openai:v0.11.0",
                "args": "--model meta-llama/Llama-3.1-8B-Instruct",
                "servingPort": {"container": 8000},
                "compute": {"gpuDevicesRequest": 1, "cpuMemoryRequest": "24Gi"},
                "autoscaling": {"minReplicas": 0, "maxReplicas": 3, "metric": "concurrency", "metricThreshold": 4, "concurrencyHardLimit": 8},
                "servingConfiguration": {"requestTimeoutSeconds": 300},
                "environmentVariables": [{"name": "HF_TOKEN", "secret": {"name": "hf", "key": "token"}}]
            })),
            Placement::default(),
            Some(20),
        ),
        (
            "kserve_gpu_share_throughput",
            spec(json!({
                "image": "vllm/vllm-openai:v0.11.0",
                "servingPort": {"container": 8000},
                "compute": {"gpuDevicesRequest": 1, "gpuRequestType": "memory", "gpuMemoryRequest": "20Gi"},
                "autoscaling": {"minReplicas": 1, "maxReplicas": 5, "metric": "throughput", "metricThreshold": 30},
                "nodePools": ["l40s"],
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
            })),
            Placement {
                node_pool: None,
                nodes: vec!["node-3".into()],
                ..Placement::default()
            },
            None,
        ),
    ]
}

#[test]
fn every_rendered_inference_service_matches_the_kserve_schema() {
    for (name, spec, placement, canary) in matrix() {
        let service = kserve::render(&target(), &spec, &placement, canary).unwrap();
        let object = serde_json::to_value(&service).unwrap();
        let errors = support::schema::schema_errors(&VALIDATOR, &object);
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{object:#}");
        insta::assert_json_snapshot!(name, object);
    }
    // The validator is closed: a misspelt predictor field fails.
    let service = kserve::render(&target(), &matrix()[1].1, &Placement::default(), None).unwrap();
    let mut object = serde_json::to_value(&service).unwrap();
    object["spec"]["predictor"]["minReplica"] = json!(1);
    assert!(!support::schema::schema_errors(&VALIDATOR, &object).is_empty());
}

#[test]
fn run_ai_fields_map_to_the_predictor() {
    let service = kserve::render(&target(), &matrix()[1].1, &Placement::default(), Some(20)).unwrap();
    let predictor = &service.spec.predictor;
    assert_eq!(
        (predictor.min_replicas, predictor.max_replicas),
        (Some(0), Some(3))
    );
    assert_eq!(predictor.scale_metric.as_deref(), Some("concurrency"));
    assert_eq!(predictor.scale_target, Some(4));
    assert_eq!(predictor.container_concurrency, Some(8));
    assert_eq!(predictor.timeout, Some(300));
    assert_eq!(predictor.canary_traffic_percent, Some(20));
    assert_eq!(
        predictor.labels.as_ref().unwrap()["kai.scheduler/queue"],
        "team-a"
    );
    assert_eq!(predictor.pod.scheduler_name.as_deref(), Some("kai-scheduler"));
    // GPU memory is KAI's annotation, in MiB.
    let shared = kserve::render(&target(), &matrix()[2].1, &matrix()[2].2, None).unwrap();
    assert_eq!(shared.spec.predictor.annotations.unwrap()["gpu-memory"], "20480");
    assert_eq!(shared.spec.predictor.scale_metric.as_deref(), Some("rps"));
}

#[test]
fn metrics_kserve_cannot_scale_on_are_refused() {
    let latency = spec(json!({
        "image": "x", "servingPort": {"container": 8000},
        "autoscaling": {"minReplicas": 1, "maxReplicas": 3, "metric": "latency", "metricThreshold": 200}
    }));
    let error = kserve::render(&target(), &latency, &Placement::default(), None).unwrap_err();
    assert!(matches!(error, RenderError::Unsupported { .. }), "{error}");
    assert!(error.to_string().contains("Knative"), "{error}");
}
