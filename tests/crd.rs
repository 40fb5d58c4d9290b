//! The `InferenceWorkload` custom resource definition is a valid Kubernetes object and its
//! schema is structural, so an API server will accept it.

use kube::CustomResourceExt;
use runai::core::crd::{InferenceWorkload, InferenceWorkloadStatus};
use runai::core::{InferenceSpec, Phase};
use serde_json::Value;

const K8S_DEFINITIONS: &str =
    "../shared/schemas/kubernetes-json-schema/v1.33.0-local-strict/_definitions.json";
const CRD_DEFINITION: &str =
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition";

fn crd_json() -> Value {
    serde_json::to_value(InferenceWorkload::crd()).unwrap()
}

#[test]
fn crd_validates_against_the_kubernetes_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(K8S_DEFINITIONS);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} is not present", path.display());
        return;
    };
    let mut definitions: Value = serde_json::from_str(&text).unwrap();
    definitions["$ref"] = Value::String(format!("#/$defs/{CRD_DEFINITION}"));
    let validator = jsonschema::validator_for(&definitions).unwrap();
    let crd = crd_json();
    let errors: Vec<String> = validator
        .iter_errors(&crd)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // The strict schema refuses what Kubernetes would refuse.
    let mut broken = crd;
    broken["spec"]["scope"] = Value::String("Galaxy".into());
    broken["spec"]["unexpected"] = Value::Bool(true);
    assert!(!validator.is_valid(&broken));
}

#[test]
fn crd_names_and_columns() {
    let crd = InferenceWorkload::crd();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("inferenceworkloads.serving.runai.dev")
    );
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.short_names, Some(vec!["iw".to_owned()]));
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(
        version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some()
    );
    let columns: Vec<&str> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["Phase", "Ready", "Revision", "URL", "Age"]);
}

/// Kubernetes requires a structural schema: every node states its type, except where
/// `x-kubernetes-preserve-unknown-fields` or `x-kubernetes-int-or-string` says otherwise.
#[test]
fn crd_schema_is_structural() {
    fn walk(node: &Value, path: &str, problems: &mut Vec<String>) {
        let Value::Object(map) = node else { return };
        let exempt = map.contains_key("x-kubernetes-preserve-unknown-fields")
            || map.contains_key("x-kubernetes-int-or-string");
        if !map.contains_key("type") && !exempt {
            problems.push(format!("{path}: no type"));
        }
        for key in ["$ref", "definitions", "$defs"] {
            if map.contains_key(key) {
                problems.push(format!("{path}: `{key}` is not allowed"));
            }
        }
        if let Some(Value::Object(props)) = map.get("properties") {
            for (name, child) in props {
                walk(child, &format!("{path}.{name}"), problems);
            }
        }
        if let Some(items) = map.get("items") {
            walk(items, &format!("{path}[]"), problems);
        }
        if let Some(extra @ Value::Object(_)) = map.get("additionalProperties") {
            walk(extra, &format!("{path}{{}}"), problems);
        }
    }
    let crd = crd_json();
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let mut problems = Vec::new();
    walk(schema, "", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
    // The spec is the wire spec: the same field names as the REST API.
    let spec = &schema["properties"]["spec"]["properties"];
    for field in [
        "image",
        "servingPort",
        "autoscaling",
        "compute",
        "environmentVariables",
        "nodePools",
    ] {
        assert!(spec.get(field).is_some(), "spec.{field} missing from the CRD");
    }
}

#[test]
fn a_custom_resource_round_trips_through_json() {
    let mut workload =
        InferenceWorkload::new("llama-3-8b", InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000));
    workload.status = Some(InferenceWorkloadStatus {
        phase: Some(Phase::Running),
        ready_replicas: Some(1),
        url: Some("http://llama-3-8b.team-a.example.com".into()),
        ..InferenceWorkloadStatus::default()
    });
    let json = serde_json::to_value(&workload).unwrap();
    assert_eq!(json["apiVersion"], "serving.runai.dev/v1alpha1");
    assert_eq!(json["kind"], "InferenceWorkload");
    assert_eq!(json["spec"]["servingPort"]["container"], 8000);
    assert_eq!(json["status"]["phase"], "Running");
    let back: InferenceWorkload = serde_json::from_value(json).unwrap();
    assert_eq!(back.spec, workload.spec);
    assert_eq!(back.status, workload.status);
}
