//! Validation reports every violation at once, each with its JSON path and a sentence that
//! says what to do. The messages are pinned with snapshots so wording changes are reviewed.

use runai_core::{
    DistributedInferenceCreationRequest, InferenceCreationRequest, NimServiceCreateRequest, Validate, parse,
};

fn messages(errors: &runai_core::ValidationErrors) -> String {
    errors.to_string()
}

const VALID: &str = r#"{
    "name": "llama-3-8b",
    "projectId": "1",
    "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
    "spec": {
        "image": "vllm/vllm-openai:v0.11.0",
        "servingPort": {"container": 8000, "authorizationType": "authenticatedUsers"},
        "compute": {"gpuDevicesRequest": 1, "gpuRequestType": "portion", "gpuPortionRequest": 0.5},
        "autoscaling": {"minReplicas": 0, "maxReplicas": 4, "metric": "concurrency", "metricThreshold": 8,
                        "scaleToZeroRetentionSeconds": 600}
    }
}"#;

#[test]
fn a_valid_request_passes() {
    let request: InferenceCreationRequest = parse::strict(VALID).unwrap();
    request.validate().unwrap();
}

#[test]
fn five_mistakes_give_five_errors_with_their_paths() {
    let request: InferenceCreationRequest = parse::strict(
        r#"{
        "name": "Llama_3",
        "projectId": "1",
        "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
        "spec": {
            "image": "vllm/vllm-openai:v0.11.0",
            "servingPort": {"container": 70000},
            "compute": {"gpuDevicesRequest": 1, "gpuPortionRequest": 1.5},
            "autoscaling": {"minReplicas": 3, "maxReplicas": 2, "metric": "concurrency", "metricThreshold": 4,
                            "scaleDownDelaySeconds": 7200}
        }
    }"#,
    )
    .unwrap();
    let errors = request.validate().unwrap_err();
    let paths: Vec<&str> = errors.violations().iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "name",
            "spec.compute.gpuPortionRequest",
            "spec.servingPort.container",
            "spec.autoscaling.scaleDownDelaySeconds",
            "spec.autoscaling.maxReplicas",
        ]
    );
    insta::assert_snapshot!(messages(&errors));
}

#[test]
fn a_misspelled_field_is_named_with_a_suggestion() {
    let err = parse::strict::<InferenceCreationRequest>(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000},
                     "autoscaling": {"minReplica": 1, "maxReplicas": 2}, "enviromentVariables": []}}"#,
    )
    .unwrap_err();
    match &err {
        runai_core::ParseError::UnknownFields(fields) => {
            let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(paths, ["spec.autoscaling.minReplica", "spec.enviromentVariables"]);
            assert_eq!(fields[0].suggestion.as_deref(), Some("minReplicas"));
            assert_eq!(fields[1].suggestion.as_deref(), Some("environmentVariables"));
        }
        other => panic!("expected unknown fields, got {other:?}"),
    }
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn unknown_fields_inside_lists_carry_the_index() {
    let err = parse::strict::<InferenceCreationRequest>(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"environmentVariables": [{"name": "A", "value": "1"}, {"name": "B", "valeu": "2"}]}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown field `spec.environmentVariables[1].valeu`; did you mean `value`?"
    );
}

#[test]
fn lenient_parsing_ignores_what_strict_refuses() {
    let json = r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
                   "spec": {"image": "x", "futureField": {"a": 1}}}"#;
    assert!(parse::strict::<InferenceCreationRequest>(json).is_err());
    let request: InferenceCreationRequest = parse::lenient(json).unwrap();
    assert_eq!(request.spec.unwrap().image.as_deref(), Some("x"));
}

#[test]
fn wrong_types_name_the_field() {
    let err = parse::strict::<InferenceCreationRequest>(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"autoscaling": {"minReplicas": "two"}}}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!(err.to_string());
    let err = parse::strict::<InferenceCreationRequest>(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"imagePullPolicy": "Sometimes"}}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!(err.to_string());
    let err =
        parse::strict::<InferenceCreationRequest>("{\"name\": \"llama\",\n \"projectId\": }").unwrap_err();
    assert!(
        matches!(err, runai_core::ParseError::Syntax { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn autoscaling_rules() {
    let request: InferenceCreationRequest = parse::strict(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000},
                     "autoscaling": {"minReplicas": 0, "maxReplicas": 3, "metric": "latency",
                                     "metricThresholdPercentage": 150, "initialReplicas": 5,
                                     "activationReplicas": 0, "concurrencyHardLimit": -1}}}"#,
    )
    .unwrap();
    insta::assert_snapshot!(messages(&request.validate().unwrap_err()));
}

#[test]
fn metric_is_required_between_bounds_and_custom_names_are_checked() {
    let request: InferenceCreationRequest = parse::strict(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000},
                     "autoscaling": {"minReplicas": 1, "maxReplicas": 3}}}"#,
    )
    .unwrap();
    let errors = request.validate().unwrap_err();
    assert!(errors.has_path("spec.autoscaling.metric"), "{errors}");

    // 0..1 follows network activity and needs no metric.
    let request: InferenceCreationRequest = parse::strict(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000},
                     "autoscaling": {"minReplicas": 0, "maxReplicas": 1}}}"#,
    )
    .unwrap();
    request.validate().unwrap();

    let request: InferenceCreationRequest = parse::strict(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000},
                     "autoscaling": {"minReplicas": 1, "maxReplicas": 3, "metric": "vllm-queue"}}}"#,
    )
    .unwrap();
    insta::assert_snapshot!(messages(&request.validate().unwrap_err()));
}

#[test]
fn gpu_rules() {
    let request: InferenceCreationRequest = parse::strict(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000},
                     "compute": {"gpuDevicesRequest": 2, "gpuRequestType": "memory", "gpuMemoryRequest": "20G",
                                 "gpuMemoryLimit": "10G", "cpuCoreRequest": 4, "cpuCoreLimit": 2,
                                 "cpuMemoryRequest": "lots"}}}"#,
    )
    .unwrap();
    insta::assert_snapshot!(messages(&request.validate().unwrap_err()));
}

#[test]
fn access_policy_rules() {
    let both: InferenceCreationRequest = parse::strict(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"image": "vllm/vllm-openai:v0.11.0",
                     "servingPort": {"container": 8000, "authorizationType": "authorizedUsersOrGroups",
                                     "authorizedUsers": ["alice@example.com"], "authorizedGroups": ["ml"]}}}"#,
    )
    .unwrap();
    let neither: InferenceCreationRequest = parse::strict(
        r#"{"name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"image": "vllm/vllm-openai:v0.11.0",
                     "servingPort": {"container": 8000, "authorizationType": "authorizedUsersOrGroups"}}}"#,
    )
    .unwrap();
    insta::assert_snapshot!(format!(
        "{}\n---\n{}",
        messages(&both.validate().unwrap_err()),
        messages(&neither.validate().unwrap_err())
    ));
}

#[test]
fn names_ids_and_the_rest() {
    let request = parse::strict::<InferenceCreationRequest>(
        r#"{"name": "a-very-long-name-that-will-not-fit-once-a-suffix-is-added-to-it", "useGivenNameAsPrefix": true,
            "projectId": "", "clusterId": "not-a-uuid",
            "spec": {"servingPort": {"container": 8000},
                     "environmentVariables": [{"name": "A", "value": "1", "secret": {"name": "s", "key": "k"}},
                                              {"name": "A", "value": "2"}],
                     "priorityClass": "urgent", "nodePools": ["a", "a"],
                     "tolerations": [{"operator": "Exists", "value": "x"}],
                     "probes": {"readiness": {"periodSeconds": 0, "handler": {"httpGet": {"path": "health", "port": 8000}}}},
                     "storage": {"pvc": [{"path": "/models", "ephemeral": true, "existingPvc": true}],
                                 "configMapVolume": [{"configMap": "cm", "mountPath": "relative", "defaultMode": "644"}]},
                     "serving_configuration": null}}"#,
    );
    // The stray snake_case field is refused before validation runs.
    assert!(request.is_err());

    let request: InferenceCreationRequest = parse::strict(
        r#"{"name": "a-very-long-name-that-will-not-fit-once-a-suffix-is-added-to-it", "useGivenNameAsPrefix": true,
            "projectId": "", "clusterId": "not-a-uuid",
            "spec": {"servingPort": {"container": 8000},
                     "environmentVariables": [{"name": "A", "value": "1", "secret": {"name": "s", "key": "k"}},
                                              {"name": "A", "value": "2"}],
                     "priorityClass": "urgent", "nodePools": ["a", "a"],
                     "tolerations": [{"operator": "Exists", "value": "x"}],
                     "probes": {"readiness": {"periodSeconds": 0, "handler": {"httpGet": {"path": "health", "port": 8000}}}},
                     "storage": {"pvc": [{"path": "/models", "ephemeral": true, "existingPvc": true}],
                                 "configMapVolume": [{"configMap": "cm", "mountPath": "relative", "defaultMode": "644"}]}}}"#,
    )
    .unwrap();
    insta::assert_snapshot!(messages(&request.validate().unwrap_err()));
}

#[test]
fn distributed_rules() {
    let request: DistributedInferenceCreationRequest = parse::strict(
        r#"{"name": "llama-405b", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"workers": 2, "replicas": 2000,
                     "servingPort": {"port": 8000, "authorizationType": "authorizedGroups", "authorizedUsers": ["a"]},
                     "leader": {"compute": {"gpuDevicesRequest": 8}}}}"#,
    )
    .unwrap();
    insta::assert_snapshot!(messages(&request.validate().unwrap_err()));

    // What the distributed API does not define does not parse at all.
    let err = parse::strict::<DistributedInferenceCreationRequest>(
        r#"{"name": "l", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
            "spec": {"servingPort": {"authorizationType": "authorizedUsersOrGroups"},
                     "leader": {"storage": {"nfs": []}}}}"#,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "unknown field `spec.leader.storage.nfs`");
}

#[test]
fn nim_rules() {
    let request: NimServiceCreateRequest = parse::strict(
        r#"{"metadata": {"name": "nim-llama", "projectId": "1"},
            "spec": {"image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0", "replicas": 2,
                     "autoscaling": {"minReplicas": 2, "maxReplicas": 1, "scaleWindowSeconds": 10},
                     "multiNode": {"workers": 2},
                     "compute": {"gpuDevicesRequest": 1},
                     "servingPort": {"port": 8000, "exposedProtocol": "grpc"},
                     "modelStore": {"nimCache": {"name": "c"}, "pvc": {"existingPvc": true}}}}"#,
    )
    .unwrap();
    insta::assert_snapshot!(messages(&request.validate().unwrap_err()));
}

#[test]
fn nim_compute_has_no_large_shm() {
    let err = parse::strict::<NimServiceCreateRequest>(
        r#"{"metadata": {"name": "nim", "projectId": "1"}, "spec": {"compute": {"largeShmRequest": true}}}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown field `spec.compute.largeShmRequest`"),
        "{err}"
    );
}

/// The realistic request fixtures of the conformance suite are valid: validation is not
/// stricter than real workloads need.
#[test]
fn realistic_requests_pass_validation() {
    fn check<T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate>(fixture: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/requests")
            .join(fixture);
        let text = std::fs::read_to_string(&path).unwrap();
        let request: T = parse::strict(&text).unwrap();
        if let Err(errors) = request.validate() {
            panic!("{fixture}:\n{errors}");
        }
    }
    check::<InferenceCreationRequest>("inference-create-full.json");
    check::<InferenceCreationRequest>("inference-create-minimal.json");
    check::<InferenceCreationRequest>("inference-create-memory.json");
    check::<runai_core::InferenceUpdateRequest>("inference-update.json");
    check::<DistributedInferenceCreationRequest>("distributed-inference-create.json");
    check::<runai_core::DistributedInferenceUpdateRequest>("distributed-inference-update.json");
    check::<NimServiceCreateRequest>("nim-service-create.json");
    check::<runai_core::NimServiceUpdateRequest>("nim-service-update.json");
}
