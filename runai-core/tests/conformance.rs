//! Conformance of the wire models with the public Run:ai control-plane OpenAPI document.
//!
//! Every fixture under `tests/fixtures` is checked against the schema it claims to be, made
//! strict (misspelt or unknown field names fail; see `support/openapi.rs`). Request fixtures are
//! then parsed with [`runai_core::parse::strict`], response fixtures with
//! [`runai_core::parse::lenient`]; the parsed value is serialised again, must still conform, and
//! must equal the fixture, so no field is lost, renamed or re-spelt on the way through the types.
//! Sweeps over the fixtures then try every documented enum value and leave out every optional
//! field, and each model's own JSON Schema is compared with the document (field names,
//! required fields, enum values), which reaches fields no fixture holds.
//!
//! The document is not part of this repository. Point `RUNAI_OPENAPI_SPEC` at it:
//!
//! ```text
//! RUNAI_OPENAPI_SPEC=/path/to/runai-openapi.json cargo test -p runai-core --test conformance
//! ```
//!
//! Without the variable the tests print a notice and pass.

mod support;

use runai_core::token::{OAuth2Error, OAuth2TokenResponse, TokenRequest, TokenResponse};
use runai_core::{
    AccessKeyCreationRequest, AccessKeyList, AccessKeyPostResponse, ApiError, ClusterList,
    DistributedInference, DistributedInferenceCreationRequest, DistributedInferenceUpdateRequest,
    HttpResponse, Inference, InferenceCreationRequest, InferenceUpdateRequest, MetricsResponse,
    NimServiceCreateRequest, NimServiceResponse, NimServiceUpdateRequest, NodePoolList, ProjectList,
    RevisionList, ServiceAccountCreationRequest, ServiceAccountList, ServiceAccountPostResponse, Workload,
    WorkloadList,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use support::openapi::{Direction, Locator, OpenApi, compile, sites, violations};
use support::{all_fixtures, json_differences, read_fixture, shape_differences, spec_or_skip};

/// One fixture, the schema it must conform to, and how it goes through the Rust model.
struct Case {
    fixture: &'static str,
    schema: Locator,
    /// Parses the fixture text into the model and serialises it back.
    round_trip: fn(&str) -> Result<Value, String>,
    /// The model's own JSON Schema.
    model: fn() -> Value,
}

/// `case!(fixture, schema locator, strict::<Model>)`, or `lenient::<Model>` for a response.
macro_rules! case {
    ($fixture:literal, $schema:expr, $parse:ident::<$model:ty>) => {
        Case {
            fixture: $fixture,
            schema: $schema,
            round_trip: $parse::<$model>,
            model: model_schema::<$model>,
        }
    };
}

fn model_schema<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// Parses as a user-submitted document: unknown fields are errors.
fn strict<T: DeserializeOwned + JsonSchema + Serialize>(text: &str) -> Result<Value, String> {
    let parsed: T = runai_core::parse::strict(text).map_err(|e| format!("strict parse: {e}"))?;
    serde_json::to_value(&parsed).map_err(|e| format!("serialise: {e}"))
}

/// Parses as a server response: unknown fields are ignored.
fn lenient<T: DeserializeOwned + Serialize>(text: &str) -> Result<Value, String> {
    let parsed: T = runai_core::parse::lenient(text).map_err(|e| format!("lenient parse: {e}"))?;
    serde_json::to_value(&parsed).map_err(|e| format!("serialise: {e}"))
}

const fn component(name: &'static str) -> Locator {
    Locator::Component(name)
}

const REQUESTS: &[Case] = &[
    case!(
        "requests/inference-create-full.json",
        component("InferenceCreationRequest"),
        strict::<InferenceCreationRequest>
    ),
    case!(
        "requests/inference-create-minimal.json",
        component("InferenceCreationRequest"),
        strict::<InferenceCreationRequest>
    ),
    case!(
        "requests/inference-create-memory.json",
        component("InferenceCreationRequest"),
        strict::<InferenceCreationRequest>
    ),
    case!(
        "requests/inference-update.json",
        component("InferenceUpdateRequest"),
        strict::<InferenceUpdateRequest>
    ),
    case!(
        "requests/distributed-inference-create.json",
        component("DistributedInferenceCreationRequest"),
        strict::<DistributedInferenceCreationRequest>
    ),
    case!(
        "requests/distributed-inference-update.json",
        component("UpdateRequest"),
        strict::<DistributedInferenceUpdateRequest>
    ),
    case!(
        "requests/nim-service-create.json",
        component("NimServiceCreateRequest"),
        strict::<NimServiceCreateRequest>
    ),
    case!(
        "requests/nim-service-update.json",
        component("NimServiceUpdateRequest"),
        strict::<NimServiceUpdateRequest>
    ),
    case!(
        "requests/token-v1.json",
        component("TokenRequest"),
        strict::<TokenRequest>
    ),
    case!(
        "requests/token-v1-app-token.json",
        component("TokenRequest"),
        strict::<TokenRequest>
    ),
    case!(
        "requests/token-v1-exchange.json",
        component("TokenRequest"),
        strict::<TokenRequest>
    ),
    case!(
        "requests/token-v1-external.json",
        component("TokenRequest"),
        strict::<TokenRequest>
    ),
    case!(
        "requests/token-v1-password.json",
        component("TokenRequest"),
        strict::<TokenRequest>
    ),
    case!(
        "requests/token-v1-refresh.json",
        component("TokenRequest"),
        strict::<TokenRequest>
    ),
    case!(
        "requests/service-account-create.json",
        Locator::RequestBody {
            path: "/api/v1/service-accounts",
            method: "post"
        },
        strict::<ServiceAccountCreationRequest>
    ),
    case!(
        "requests/access-key-create.json",
        Locator::RequestBody {
            path: "/api/v1/access-keys",
            method: "post"
        },
        strict::<AccessKeyCreationRequest>
    ),
];

const RESPONSES: &[Case] = &[
    case!(
        "responses/inference.json",
        component("Inference1"),
        lenient::<Inference>
    ),
    case!(
        "responses/distributed-inference.json",
        component("DistributedInference"),
        lenient::<DistributedInference>
    ),
    case!(
        "responses/nim-service.json",
        component("NimServiceResponse"),
        lenient::<NimServiceResponse>
    ),
    case!(
        "responses/token-v1.json",
        component("TokenResponse"),
        lenient::<TokenResponse>
    ),
    case!(
        "responses/token-v2.json",
        component("OAuth2TokenResponse"),
        lenient::<OAuth2TokenResponse>
    ),
    case!(
        "responses/oauth2-error.json",
        component("OAuth2Error"),
        lenient::<OAuth2Error>
    ),
    case!(
        "responses/workloads-list.json",
        Locator::Response {
            path: "/api/v1/workloads",
            method: "get",
            status: "200"
        },
        lenient::<WorkloadList>
    ),
    case!(
        "responses/revisions-list.json",
        Locator::Response {
            path: "/api/v1/workloads/inferences/{workloadId}/revisions",
            method: "get",
            status: "200"
        },
        lenient::<RevisionList>
    ),
    case!(
        "responses/metrics.json",
        component("MetricsResponse"),
        lenient::<MetricsResponse>
    ),
    case!("responses/error.json", component("Error"), lenient::<ApiError>),
    case!(
        "responses/delete-accepted.json",
        component("HttpResponse"),
        lenient::<HttpResponse>
    ),
    case!(
        "responses/service-account-created.json",
        Locator::Response {
            path: "/api/v1/service-accounts",
            method: "post",
            status: "201"
        },
        lenient::<ServiceAccountPostResponse>
    ),
    case!(
        "responses/service-accounts-list.json",
        Locator::Response {
            path: "/api/v1/service-accounts",
            method: "get",
            status: "200"
        },
        lenient::<ServiceAccountList>
    ),
    case!(
        "responses/access-key-created.json",
        Locator::Response {
            path: "/api/v1/access-keys",
            method: "post",
            status: "201"
        },
        lenient::<AccessKeyPostResponse>
    ),
    case!(
        "responses/access-keys-list.json",
        Locator::Response {
            path: "/api/v1/access-keys",
            method: "get",
            status: "200"
        },
        lenient::<AccessKeyList>
    ),
    case!(
        "responses/clusters-list.json",
        Locator::Response {
            path: "/api/v1/clusters",
            method: "get",
            status: "200"
        },
        lenient::<ClusterList>
    ),
    case!(
        "responses/node-pools-list.json",
        Locator::Response {
            path: "/api/v1/node-pools",
            method: "get",
            status: "200"
        },
        lenient::<NodePoolList>
    ),
    case!(
        "responses/projects-list.json",
        Locator::Response {
            path: "/api/v1/org-unit/projects",
            method: "get",
            status: "200"
        },
        lenient::<ProjectList>
    ),
];

/// Both tables, each case with the direction its document travels.
fn all_cases() -> impl Iterator<Item = (&'static Case, Direction)> {
    REQUESTS
        .iter()
        .map(|case| (case, Direction::Request))
        .chain(RESPONSES.iter().map(|case| (case, Direction::Response)))
}

fn validator(spec: &OpenApi, case: &Case, direction: Direction) -> jsonschema::Validator {
    spec.validator(case.schema, direction)
        .unwrap_or_else(|e| panic!("{}: {e}", case.fixture))
}

/// Fails the test with every collected problem, so one run shows all of them.
fn assert_no_failures(what: &str, failures: &[String]) {
    assert!(failures.is_empty(), "{what}:\n\n{}", failures.join("\n\n"));
}

#[test]
fn fixtures_conform_to_their_schemas() {
    let Some(spec) = spec_or_skip() else { return };
    let mut failures = Vec::new();
    for (case, direction) in all_cases() {
        let (_, fixture) = read_fixture(case.fixture);
        let errors = violations(&validator(spec, case, direction), &fixture);
        if !errors.is_empty() {
            failures.push(format!(
                "{} does not conform to {}:\n  {}",
                case.fixture,
                case.schema,
                errors.join("\n  ")
            ));
        }
    }
    assert_no_failures("fixtures that do not conform to the OpenAPI document", &failures);
}

/// Parses `document` with the case's model, serialises it again, validates the output and
/// compares it with `document`: every problem found, none when the round trip is lossless.
fn round_trip_problems(case: &Case, validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    let output = match (case.round_trip)(&document.to_string()) {
        Ok(output) => output,
        Err(e) => return vec![e],
    };
    let mut problems = violations(validator, &output);
    problems.extend(
        json_differences(document, &output)
            .into_iter()
            .map(|d| format!("round trip {d}")),
    );
    problems
}

fn round_trip(spec: &OpenApi, case: &Case, direction: Direction) -> Option<String> {
    let (_, fixture) = read_fixture(case.fixture);
    let problems = round_trip_problems(case, &validator(spec, case, direction), &fixture);
    (!problems.is_empty())
        .then(|| format!("{} ({}):\n  {}", case.fixture, case.schema, problems.join("\n  ")))
}

#[test]
fn requests_round_trip_through_strict_parsing() {
    let Some(spec) = spec_or_skip() else { return };
    let failures: Vec<String> = REQUESTS
        .iter()
        .filter_map(|case| round_trip(spec, case, Direction::Request))
        .collect();
    assert_no_failures("request models that lose or change fields", &failures);
}

#[test]
fn responses_round_trip_through_lenient_parsing() {
    let Some(spec) = spec_or_skip() else { return };
    let failures: Vec<String> = RESPONSES
        .iter()
        .filter_map(|case| round_trip(spec, case, Direction::Response))
        .collect();
    assert_no_failures("response models that lose or change fields", &failures);
}

/// One field renamed in a fixture: (fixture, JSON pointer of the object, old name, new name).
const MISSPELLINGS: &[(&str, &str, &str, &str)] = &[
    (
        "requests/inference-create-full.json",
        "/spec/autoscaling",
        "minReplicas",
        "minReplica",
    ),
    (
        "requests/inference-create-full.json",
        "",
        "clusterId",
        "clusterID",
    ),
    (
        "requests/inference-create-full.json",
        "/spec/storage/pvc/0",
        "claimName",
        "claimname",
    ),
    (
        "requests/distributed-inference-create.json",
        "/spec/leader/compute",
        "gpuPortionRequest",
        "gpuPortion",
    ),
    (
        "requests/nim-service-create.json",
        "/spec/servingPort",
        "grpcPort",
        "gRPCPort",
    ),
    (
        "responses/workloads-list.json",
        "/workloads/1",
        "phaseMessage",
        "phaseMesage",
    ),
    (
        "responses/inference.json",
        "/spec/servingPort",
        "authorizedUsers",
        "authorisedUsers",
    ),
];

fn rename(document: &mut Value, pointer: &str, from: &str, to: &str) {
    let object = document
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {pointer:?}"));
    let value = object
        .remove(from)
        .unwrap_or_else(|| panic!("no field {from} at {pointer:?}"));
    object.insert(to.to_owned(), value);
}

#[test]
fn a_misspelt_field_fails_schema_validation() {
    let Some(spec) = spec_or_skip() else { return };
    let mut failures = Vec::new();
    for &(fixture, pointer, from, to) in MISSPELLINGS {
        let (case, direction) = all_cases()
            .find(|(case, _)| case.fixture == fixture)
            .unwrap_or_else(|| panic!("{fixture} is not in the tables"));
        let (_, mut document) = read_fixture(fixture);
        rename(&mut document, pointer, from, to);
        let errors = violations(&validator(spec, case, direction), &document);
        if !errors.iter().any(|e| e.contains(&format!("'{to}'"))) {
            failures.push(format!(
                "{fixture}: {pointer}/{to} was not reported; errors: {errors:?}"
            ));
        }
    }
    assert_no_failures("misspellings the schemas accept", &failures);

    // The strict parser refuses the same typo, naming it.
    let (_, mut document) = read_fixture("requests/inference-create-full.json");
    rename(&mut document, "/spec/autoscaling", "minReplicas", "minReplica");
    let err = strict::<InferenceCreationRequest>(&document.to_string()).expect_err("a misspelt field");
    assert!(err.contains("minReplica"), "{err}");
}

#[test]
fn every_fixture_is_checked() {
    let listed: Vec<&str> = all_cases().map(|(case, _)| case.fixture).collect();
    let unlisted: Vec<String> = all_fixtures()
        .into_iter()
        .filter(|f| !listed.contains(&f.as_str()))
        .collect();
    assert!(unlisted.is_empty(), "fixtures no test reads: {unlisted:?}");
    for (i, fixture) in listed.iter().enumerate() {
        assert!(!listed[..i].contains(fixture), "{fixture} is listed twice");
    }
}

#[test]
fn a_workload_parses_on_its_own() {
    // `Workload` is the item type of the list, usable on its own.
    let Some(spec) = spec_or_skip() else { return };
    let (_, list) = read_fixture("responses/workloads-list.json");
    let validator = spec
        .validator(component("Workload"), Direction::Response)
        .expect("the Workload schema converts");
    let mut failures = Vec::new();
    for (i, item) in list["workloads"]
        .as_array()
        .expect("a workloads array")
        .iter()
        .enumerate()
    {
        let output = match lenient::<Workload>(&item.to_string()) {
            Ok(output) => output,
            Err(e) => {
                failures.push(format!("workloads[{i}]: {e}"));
                continue;
            }
        };
        failures.extend(
            violations(&validator, &output)
                .into_iter()
                .map(|e| format!("workloads[{i}] {e}")),
        );
        failures.extend(
            json_differences(item, &output)
                .into_iter()
                .map(|d| format!("workloads[{i}] {d}")),
        );
    }
    assert_no_failures("Workload round trip", &failures);
}

/// Runs `vary` over every fixture with its converted schema and collects what it reports.
fn sweep(
    spec: &OpenApi,
    mut vary: impl FnMut(&Case, &jsonschema::Validator, &Value, &Value) -> Vec<String>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (case, direction) in all_cases() {
        let schema = spec
            .schema(case.schema, direction)
            .unwrap_or_else(|e| panic!("{}: {e}", case.fixture));
        let validator = compile(&schema).unwrap_or_else(|e| panic!("{}: {e}", case.fixture));
        let (_, fixture) = read_fixture(case.fixture);
        failures.extend(
            vary(case, &validator, &schema, &fixture)
                .into_iter()
                .map(|f| format!("{}{f}", case.fixture)),
        );
    }
    failures
}

#[test]
fn every_enum_value_round_trips() {
    // The fixtures hold one value of each enum; the models must know every spelling the
    // document allows, wherever that enum is used.
    let Some(spec) = spec_or_skip() else { return };
    let failures = sweep(spec, |case, validator, schema, fixture| {
        let mut failures = Vec::new();
        for site in sites(schema, fixture) {
            for value in site
                .allowed
                .iter()
                .filter(|v| fixture.pointer(&site.pointer) != Some(*v))
            {
                let mut document = fixture.clone();
                *document
                    .pointer_mut(&site.pointer)
                    .expect("a site of the fixture") = value.clone();
                let problems = round_trip_problems(case, validator, &document);
                if !problems.is_empty() {
                    failures.push(format!(" {} = {value}: {}", site.pointer, problems.join("; ")));
                }
            }
        }
        failures
    });
    assert_no_failures("enum values the models do not round-trip", &failures);
}

#[test]
fn every_optional_field_may_be_left_out() {
    // A field the document does not require must not be required by the models either.
    let Some(spec) = spec_or_skip() else { return };
    let failures = sweep(spec, |case, validator, schema, fixture| {
        let mut failures = Vec::new();
        for site in sites(schema, fixture).into_iter().filter(|s| s.optional) {
            let (parent, name) = site.pointer.rsplit_once('/').expect("a member has a parent");
            let name = name.replace("~1", "/").replace("~0", "~");
            let mut document = fixture.clone();
            let members = document
                .pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .expect("an object");
            members.remove(&name);
            let problems = round_trip_problems(case, validator, &document);
            if !problems.is_empty() {
                failures.push(format!(" without {}: {}", site.pointer, problems.join("; ")));
            }
        }
        failures
    });
    assert_no_failures("optional fields the models require", &failures);
}

#[test]
fn models_have_the_documented_fields() {
    // Field names, required fields and enum spellings of each model's own schema, compared with
    // the document, including fields and values no fixture holds.
    let Some(spec) = spec_or_skip() else { return };
    let mut failures = Vec::new();
    let mut compared: Vec<String> = Vec::new();
    for (case, direction) in all_cases() {
        let key = format!("{} as {direction:?}", case.schema);
        if compared.contains(&key) {
            continue;
        }
        let documented = spec
            .schema(case.schema, direction)
            .unwrap_or_else(|e| panic!("{}: {e}", case.fixture));
        let differences = shape_differences(&documented, &(case.model)());
        if !differences.is_empty() {
            failures.push(format!(
                "{} (model of {}):\n  {}",
                case.schema,
                case.fixture,
                differences.join("\n  ")
            ));
        }
        compared.push(key);
    }
    assert_no_failures("models that differ from the documented shapes", &failures);
}
