//! Whatever document arrives, parsing, validation and defaults return a result: never a
//! panic. Documents are random JSON trees whose keys are mostly real field names, so the
//! generator reaches deep into the models.

use proptest::prelude::*;
use runai_core::{
    DistributedInferenceCreationRequest, InferenceCreationRequest, NimServiceCreateRequest, Validate, parse,
};
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "name",
    "projectId",
    "clusterId",
    "spec",
    "metadata",
    "image",
    "servingPort",
    "container",
    "port",
    "protocol",
    "authorizationType",
    "authorizedUsers",
    "authorizedGroups",
    "autoscaling",
    "minReplicas",
    "maxReplicas",
    "initialReplicas",
    "activationReplicas",
    "metric",
    "metricThreshold",
    "metricThresholdPercentage",
    "scaleToZeroRetentionSeconds",
    "scaleDownDelaySeconds",
    "concurrencyHardLimit",
    "compute",
    "gpuDevicesRequest",
    "gpuRequestType",
    "gpuPortionRequest",
    "gpuPortionLimit",
    "gpuMemoryRequest",
    "gpuMemoryLimit",
    "cpuCoreRequest",
    "cpuCoreLimit",
    "cpuMemoryRequest",
    "cpuMemoryLimit",
    "extendedResources",
    "environmentVariables",
    "value",
    "secret",
    "key",
    "storage",
    "pvc",
    "path",
    "claimName",
    "existingPvc",
    "claimInfo",
    "size",
    "tolerations",
    "operator",
    "effect",
    "seconds",
    "probes",
    "readiness",
    "handler",
    "httpGet",
    "priorityClass",
    "nodePools",
    "workers",
    "replicas",
    "leader",
    "worker",
    "modelStore",
    "nimCache",
    "multiNode",
    "nodeAffinityRequired",
    "nodeSelectorTerms",
    "matchExpressions",
    "values",
    "security",
    "runAsUid",
    "supplementalGroups",
    "unexpected",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-2.0e9f64..2.0e9).prop_map(|f| json!(f)),
        prop_oneof![
            Just("concurrency".to_owned()),
            Just("portion".to_owned()),
            Just("memory".to_owned()),
            Just("1e400".to_owned()),
            Just("10Gi".to_owned()),
            Just("very-high".to_owned()),
            Just("Exists".to_owned()),
            Just("authorizedUsersOrGroups".to_owned()),
            Just("71f69d83-ba66-4822-adf5-55ce55efd210".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

fn exercise<T>(value: &Value)
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate,
{
    let text = value.to_string();
    let _ = parse::strict::<T>(&text);
    if let Ok(parsed) = parse::lenient::<T>(&text) {
        let _ = parsed.validate();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_documents_never_panic(doc in document()) {
        exercise::<InferenceCreationRequest>(&doc);
        exercise::<DistributedInferenceCreationRequest>(&doc);
        exercise::<NimServiceCreateRequest>(&doc);
        if let Ok(request) = parse::lenient::<InferenceCreationRequest>(&doc.to_string())
            && let Some(spec) = request.spec
        {
            let _ = spec.with_defaults().autoscaling.unwrap_or_default().resolve();
        }
    }

    #[test]
    fn documents_shaped_like_a_request_never_panic(spec in document(), name in ".{0,70}") {
        let doc = json!({"name": name, "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "spec": spec});
        exercise::<InferenceCreationRequest>(&doc);
        exercise::<DistributedInferenceCreationRequest>(&doc);
    }
}
