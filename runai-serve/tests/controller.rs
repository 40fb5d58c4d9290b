//! The `InferenceWorkload` controller and its leader election against a mocked API server
//! (kube's client over a `tower-test` service): every request is checked (method, path,
//! query, content type, the body fields that matter) and answered as the API server would.
//! A reconcile that sent a request the test does not expect would wait for an answer
//! forever, so `within` fails it; one that sent fewer would leave `answer` waiting.
#![cfg(feature = "kube")]

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::client::Body;
use kube::runtime::controller::Action;
use runai_core::crd::InferenceWorkload;
use runai_serve::controller::{
    Context, ControllerConfig, ControllerError, FINALIZER, LeaderElector, LeaseConfig, LeaseState,
    error_policy, reconcile, revision_name,
};
use serde_json::{Value, json};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn mock() -> (kube::Client, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (kube::Client::new(service, "default"), handle)
}

fn context(client: kube::Client) -> Arc<Context> {
    Arc::new(Context::new(
        client,
        ControllerConfig::default().instance("controller-0"),
    ))
}

/// A request the client sent: method, path, query, content type and JSON body.
#[derive(Debug)]
struct Sent {
    method: String,
    path: String,
    query: String,
    content_type: String,
    body: Value,
}

impl Sent {
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// Takes the next request, answers it with `code` and `answer`, and returns it.
async fn answer(handle: &mut Handle, code: u16, answer: Value) -> Sent {
    let (request, respond) = tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .expect("the client sent no request")
        .expect("the client is gone");
    let (parts, body) = request.into_parts();
    let bytes = body.collect_bytes().await.unwrap();
    let sent = Sent {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        content_type: parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        body: if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        },
    };
    let response = Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&answer).unwrap()))
        .unwrap();
    respond.send_response(response);
    sent
}

/// Runs a test body, failing it (instead of hanging) when the code under test waits for an
/// answer the test never gives.
async fn within<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), body)
        .await
        .expect("still waiting for an API answer the test did not give")
}

fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": reason, "reason": reason, "code": code})
}

const WORKLOADS: &str = "/apis/serving.runai.dev/v1alpha1/namespaces/team-a/inferenceworkloads/llama";
const SERVICE: &str = "/apis/serving.knative.dev/v1/namespaces/team-a/services/llama";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/team-a/events";
const UID: &str = "0b4e9a3c-1111-4000-8000-00000000abcd";

/// The custom resource as the API server would hand it to the controller.
fn workload(spec: Value, finalizers: &[&str]) -> InferenceWorkload {
    let mut object = json!({
        "apiVersion": "serving.runai.dev/v1alpha1",
        "kind": "InferenceWorkload",
        "metadata": {"name": "llama", "namespace": "team-a", "uid": UID, "generation": 3,
                     "resourceVersion": "100", "finalizers": finalizers},
    });
    object["spec"] = spec;
    serde_json::from_value(object).unwrap()
}

fn valid_spec() -> Value {
    json!({
        "image": "vllm/vllm-openai:v0.11.0",
        "servingPort": {"container": 8000},
        "autoscaling": {"minReplicas": 1, "maxReplicas": 3, "metric": "concurrency", "metricThreshold": 8}
    })
}

fn with_json_metadata(object: &InferenceWorkload) -> Value {
    serde_json::to_value(object).unwrap()
}

#[tokio::test]
async fn the_first_reconcile_adds_the_finalizer() {
    let (client, mut api) = mock();
    let object = workload(valid_spec(), &[]);
    let mut reply = with_json_metadata(&object);
    reply["metadata"]["finalizers"] = json!([FINALIZER]);
    let (action, sent) = within(async {
        tokio::join!(
            reconcile(Arc::new(object), context(client)),
            answer(&mut api, 200, reply)
        )
    })
    .await;
    // Nothing is applied yet: the update that adds the finalizer triggers the next reconcile.
    assert_eq!(action.unwrap(), Action::await_change());
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("PATCH", WORKLOADS));
    assert_eq!(sent.content_type, "application/json-patch+json");
    assert_eq!(
        sent.body,
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}
        ])
    );
}

/// The Knative service as the API server returns it once `revision` is applied.
fn service(revision: &str) -> Value {
    json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "llama", "namespace": "team-a", "uid": "6f1c1c52-0000-4000-8000-000000000001",
                     "resourceVersion": "7", "labels": {"run.ai/revision": revision}},
        "status": {"url": "http://llama.team-a.example.com"}
    })
}

fn ready_revisions(revision: &str) -> Value {
    json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "RevisionList", "metadata": {"resourceVersion": "9"},
        "items": [{
            "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": format!("llama-{revision}"), "namespace": "team-a"},
            "status": {"desiredReplicas": 1, "actualReplicas": 1, "conditions": [{"type": "Ready", "status": "True"}]}
        }]
    })
}

/// Answers the apply, the service read and the revision list of one reconcile.
async fn answer_apply_and_status(api: &mut Handle, revision: &str) -> (Sent, Sent, Sent) {
    let apply = answer(api, 200, service(revision)).await;
    let get = answer(api, 200, service(revision)).await;
    let list = answer(api, 200, ready_revisions(revision)).await;
    (apply, get, list)
}

#[tokio::test]
async fn a_reconcile_applies_the_spec_and_writes_the_status_once() {
    let (client, mut api) = mock();
    let context = context(client);
    let object = workload(valid_spec(), &[FINALIZER]);
    let revision = revision_name(&object.spec);

    let (action, (apply, get, list, status_patch, event)) = within(async {
        tokio::join!(reconcile(Arc::new(object.clone()), Arc::clone(&context)), async {
            let (apply, get, list) = answer_apply_and_status(&mut api, &revision).await;
            let mut stored = with_json_metadata(&object);
            let status_patch = answer(&mut api, 200, stored.clone()).await;
            stored["status"] = status_patch.body["status"].clone();
            let event = answer(
                &mut api,
                201,
                json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": "llama.1", "namespace": "team-a"}}),
            )
            .await;
            (apply, get, list, status_patch, event)
        })
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(context.config().refresh_serving));

    // The apply: server-side, forced, as the backend's field manager, owned by the resource.
    assert_eq!((apply.method.as_str(), apply.path.as_str()), ("PATCH", SERVICE));
    assert_eq!(apply.content_type, "application/apply-patch+yaml");
    assert_eq!(apply.param("fieldManager"), Some("runai"));
    assert_eq!(apply.param("force"), Some("true"));
    assert_eq!(apply.body["kind"], "Service");
    assert_eq!(apply.body["metadata"]["namespace"], "team-a");
    assert_eq!(
        apply.body["metadata"]["labels"]["run.ai/revision"],
        revision.as_str()
    );
    assert_eq!(apply.body["metadata"]["labels"]["run.ai/project"], "team-a");
    let owner = &apply.body["metadata"]["ownerReferences"][0];
    assert_eq!(owner["apiVersion"], "serving.runai.dev/v1alpha1");
    assert_eq!(owner["kind"], "InferenceWorkload");
    assert_eq!(owner["name"], "llama");
    assert_eq!(owner["uid"], UID);
    assert_eq!(owner["controller"], true);
    assert_eq!(
        apply.body["spec"]["template"]["metadata"]["name"],
        format!("llama-{revision}")
    );
    assert_eq!(
        apply.body["spec"]["template"]["spec"]["containers"][0]["image"],
        "vllm/vllm-openai:v0.11.0"
    );

    // The status read: the service, then its revisions.
    assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", SERVICE));
    assert_eq!(list.method, "GET");
    assert_eq!(
        list.path,
        "/apis/serving.knative.dev/v1/namespaces/team-a/revisions"
    );
    assert_eq!(
        list.param("labelSelector"),
        Some("serving.knative.dev%2Fservice%3Dllama")
    );

    // The status write: server-side apply of the status subresource.
    assert_eq!(status_patch.method, "PATCH");
    assert_eq!(status_patch.path, format!("{WORKLOADS}/status"));
    assert_eq!(status_patch.content_type, "application/apply-patch+yaml");
    assert_eq!(status_patch.param("fieldManager"), Some("runai-controller"));
    assert_eq!(status_patch.param("force"), Some("true"));
    let written = &status_patch.body;
    assert_eq!(written["apiVersion"], "serving.runai.dev/v1alpha1");
    assert_eq!(written["kind"], "InferenceWorkload");
    let written = &written["status"];
    assert_eq!(written["observedGeneration"], 3);
    assert_eq!(written["phase"], "Running");
    assert_eq!(written["currentRevision"], revision.as_str());
    assert_eq!(written["readyRevision"], revision.as_str());
    assert_eq!(written["replicas"], 1);
    assert_eq!(written["readyReplicas"], 1);
    assert_eq!(written["url"], "http://llama.team-a.example.com");
    let ready = written["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["status"], "True");
    assert_eq!(ready["reason"], "Running");
    assert!(ready["lastTransitionTime"].as_str().unwrap().ends_with('Z'));

    // The phase changed, so an event says so.
    assert_eq!((event.method.as_str(), event.path.as_str()), ("POST", EVENTS));
    assert_eq!(event.body["type"], "Normal");
    assert_eq!(event.body["reason"], "PhaseChanged");
    assert_eq!(event.body["note"], "phase none -> Running");
    assert_eq!(event.body["regarding"]["kind"], "InferenceWorkload");
    assert_eq!(event.body["regarding"]["name"], "llama");
    assert_eq!(event.body["reportingController"], "runai-controller");
    assert_eq!(event.body["reportingInstance"], "controller-0");

    // A later look at an unchanged cluster applies again (a no-op for the API server) and
    // writes nothing: the status is equal, and no event is recorded.
    let mut seen = object.clone();
    seen.status = Some(serde_json::from_value(status_patch.body["status"].clone()).unwrap());
    let (action, (apply, _, _)) = within(async {
        tokio::join!(
            reconcile(Arc::new(seen), Arc::clone(&context)),
            answer_apply_and_status(&mut api, &revision)
        )
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(context.config().refresh_serving));
    assert_eq!((apply.method.as_str(), apply.path.as_str()), ("PATCH", SERVICE));

    let metrics = context.metrics().encode();
    assert!(
        metrics.contains(r#"runai_controller_reconciles_total{result="ok"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_new_revision_rolls_out_while_the_old_one_serves() {
    let (client, mut api) = mock();
    let context = context(client);
    let mut old_spec = valid_spec();
    old_spec["image"] = json!("vllm/vllm-openai:v0.10.0");
    let old = revision_name(&serde_json::from_value(old_spec).unwrap());
    let mut object = workload(valid_spec(), &[FINALIZER]);
    object.metadata.generation = Some(4);
    object.status = Some(
        serde_json::from_value(json!({
            "phase": "Running", "currentRevision": old, "readyRevision": old, "observedGeneration": 3,
            "url": "http://llama.team-a.example.com", "replicas": 1, "readyReplicas": 1
        }))
        .unwrap(),
    );
    let new = revision_name(&object.spec);
    assert_ne!(old, new);
    let revisions = json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "RevisionList", "metadata": {"resourceVersion": "9"},
        "items": [
            {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
             "metadata": {"name": format!("llama-{old}"), "namespace": "team-a"},
             "status": {"desiredReplicas": 1, "actualReplicas": 1, "conditions": [{"type": "Ready", "status": "True"}]}},
            {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
             "metadata": {"name": format!("llama-{new}"), "namespace": "team-a"},
             "status": {"desiredReplicas": 1, "actualReplicas": 0,
                        "conditions": [{"type": "Ready", "status": "Unknown", "reason": "Deploying"}]}}
        ]
    });
    let (action, (apply, status_patch, event)) = within(async {
        tokio::join!(reconcile(Arc::new(object.clone()), Arc::clone(&context)), async {
            let apply = answer(&mut api, 200, service(&new)).await;
            let get = answer(&mut api, 200, service(&new)).await;
            assert_eq!(get.path, SERVICE);
            let list = answer(&mut api, 200, revisions).await;
            assert_eq!(
                list.param("labelSelector"),
                Some("serving.knative.dev%2Fservice%3Dllama")
            );
            let status_patch = answer(&mut api, 200, with_json_metadata(&object)).await;
            let event = answer(&mut api, 201, json!({})).await;
            (apply, status_patch, event)
        })
    })
    .await;
    // Not settled: look again soon.
    assert_eq!(
        action.unwrap(),
        Action::requeue(context.config().refresh_progressing)
    );
    assert_eq!(
        apply.body["spec"]["template"]["metadata"]["name"],
        format!("llama-{new}")
    );
    assert_eq!(status_patch.path, format!("{WORKLOADS}/status"));
    let written = &status_patch.body["status"];
    assert_eq!(written["phase"], "Updating");
    assert_eq!(written["phaseMessage"], "Deploying");
    assert_eq!(written["observedGeneration"], 4);
    assert_eq!(written["currentRevision"], new.as_str());
    assert_eq!(written["readyRevision"], old.as_str());
    assert_eq!(written["url"], "http://llama.team-a.example.com");
    assert_eq!(
        (written["replicas"].clone(), written["readyReplicas"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(event.path, EVENTS);
    assert_eq!(event.body["note"], "phase Running -> Updating: Deploying");
}

#[tokio::test]
async fn deletion_removes_the_objects_then_the_finalizer() {
    let (client, mut api) = mock();
    let mut object = workload(valid_spec(), &["example.com/other", FINALIZER]);
    object.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
    let (action, (get, delete, unfinalize)) = within(async {
        tokio::join!(reconcile(Arc::new(object.clone()), context(client)), async {
            let get = answer(&mut api, 200, service("rev-1")).await;
            let delete = answer(
                &mut api,
                200,
                json!({"kind": "Status", "apiVersion": "v1",
                "metadata": {}, "status": "Success", "code": 200}),
            )
            .await;
            let mut gone = with_json_metadata(&object);
            gone["metadata"]["finalizers"] = json!(["example.com/other"]);
            let unfinalize = answer(&mut api, 200, gone).await;
            (get, delete, unfinalize)
        })
    })
    .await;
    assert_eq!(action.unwrap(), Action::await_change());
    // The backend finds what the workload runs as, and deletes it in the foreground.
    assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", SERVICE));
    assert_eq!(
        (delete.method.as_str(), delete.path.as_str()),
        ("DELETE", SERVICE)
    );
    assert_eq!(delete.body["propagationPolicy"], "Foreground");
    // Only then is the finalizer removed, and only if it is still where it was read.
    assert_eq!(
        (unfinalize.method.as_str(), unfinalize.path.as_str()),
        ("PATCH", WORKLOADS)
    );
    assert_eq!(unfinalize.content_type, "application/json-patch+json");
    assert_eq!(
        unfinalize.body,
        json!([
            {"op": "test", "path": "/metadata/finalizers/1", "value": FINALIZER},
            {"op": "remove", "path": "/metadata/finalizers/1"}
        ])
    );
}

#[tokio::test]
async fn a_failed_delete_keeps_the_finalizer() {
    let (client, mut api) = mock();
    let mut object = workload(valid_spec(), &[FINALIZER]);
    object.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
    let (result, (get, delete)) = within(async {
        tokio::join!(reconcile(Arc::new(object), context(client)), async {
            let get = answer(&mut api, 200, service("rev-1")).await;
            let delete = answer(&mut api, 500, status(500, "InternalError")).await;
            (get, delete)
        })
    })
    .await;
    let error = result.unwrap_err();
    assert!(matches!(error, ControllerError::Backend(_)), "{error}");
    assert_eq!(get.path, SERVICE);
    assert_eq!(delete.method, "DELETE");
}

#[tokio::test]
async fn an_invalid_spec_fails_with_the_field_named() {
    let (client, mut api) = mock();
    let mut spec = valid_spec();
    spec.as_object_mut().unwrap().remove("servingPort");
    let object = workload(spec, &[FINALIZER]);
    let (action, (status_patch, event)) = within(async {
        tokio::join!(reconcile(Arc::new(object.clone()), context(client)), async {
            let status_patch = answer(&mut api, 200, with_json_metadata(&object)).await;
            let event = answer(&mut api, 201, json!({})).await;
            (status_patch, event)
        })
    })
    .await;
    // Nothing was applied; only an edit can fix it.
    assert_eq!(action.unwrap(), Action::await_change());
    assert_eq!(
        (status_patch.method.as_str(), status_patch.path.as_str()),
        ("PATCH", &*format!("{WORKLOADS}/status"))
    );
    let written = &status_patch.body["status"];
    assert_eq!(written["phase"], "Failed");
    let message = written["phaseMessage"].as_str().unwrap();
    assert!(message.contains("spec.servingPort"), "{message}");
    assert_eq!(written["observedGeneration"], 3);
    assert!(written.get("currentRevision").is_none());
    let ready = written["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("InvalidSpec"))
    );
    assert_eq!((event.method.as_str(), event.path.as_str()), ("POST", EVENTS));
    assert_eq!(event.body["type"], "Warning");
    assert_eq!(event.body["reason"], "InvalidSpec");
    assert!(event.body["note"].as_str().unwrap().contains("spec.servingPort"));
}

#[tokio::test]
async fn an_apply_the_api_server_refuses_is_reported_and_retried() {
    let (client, mut api) = mock();
    let context = context(client);
    let object = workload(valid_spec(), &[FINALIZER]);
    let (result, (apply, event, status_patch)) = within(async {
        tokio::join!(reconcile(Arc::new(object.clone()), Arc::clone(&context)), async {
            let apply = answer(&mut api, 403, status(403, "Forbidden")).await;
            let event = answer(&mut api, 201, json!({})).await;
            let status_patch = answer(&mut api, 200, with_json_metadata(&object)).await;
            (apply, event, status_patch)
        })
    })
    .await;
    let error = result.unwrap_err();
    assert!(matches!(error, ControllerError::Backend(_)), "{error}");
    assert_eq!((apply.method.as_str(), apply.path.as_str()), ("PATCH", SERVICE));
    assert_eq!(event.body["type"], "Warning");
    assert_eq!(event.body["reason"], "ApplyFailed");
    assert!(event.body["note"].as_str().unwrap().contains("Forbidden"));
    // The status says the apply failed, and claims no generation it did not apply.
    let written = &status_patch.body["status"];
    assert!(written.get("observedGeneration").is_none());
    let applied = &written["conditions"][0];
    assert_eq!(
        (applied["type"].as_str(), applied["status"].as_str()),
        (Some("Applied"), Some("False"))
    );
    assert_eq!(applied["reason"], "ApplyFailed");

    // Failures in a row back off.
    let object = Arc::new(object);
    let first = error_policy(Arc::clone(&object), &error, Arc::clone(&context));
    let second = error_policy(Arc::clone(&object), &error, Arc::clone(&context));
    assert_eq!(first, Action::requeue(context.config().retry_delay(1)));
    assert_eq!(second, Action::requeue(context.config().retry_delay(2)));
    let metrics = context.metrics().encode();
    assert!(
        metrics.contains(r#"runai_controller_reconcile_errors_total{kind="backend"} 1"#),
        "{metrics}"
    );
}

// === leader election ===

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/runai-system/leases";

fn elector(client: kube::Client) -> LeaderElector {
    LeaderElector::new(
        client,
        LeaseConfig::new("runai-controller", "runai-system", "pod-a"),
    )
}

fn now() -> Timestamp {
    Timestamp::from_second(1_750_000_000).unwrap()
}

fn micro(time: Timestamp) -> Value {
    serde_json::to_value(MicroTime(time)).unwrap()
}

fn lease(holder: &str, renewed: Timestamp, transitions: i32) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "runai-controller", "namespace": "runai-system", "resourceVersion": "42"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "acquireTime": micro(renewed),
                 "renewTime": micro(renewed), "leaseTransitions": transitions}
    })
}

#[tokio::test]
async fn a_missing_lease_is_created_and_held() {
    let (client, mut api) = mock();
    let elector = elector(client);
    let (state, (get, create)) = within(async {
        tokio::join!(elector.try_acquire_or_renew(now()), async {
            let get = answer(&mut api, 404, status(404, "NotFound")).await;
            let create = answer(&mut api, 201, lease("pod-a", now(), 0)).await;
            (get, create)
        })
    })
    .await;
    assert_eq!(state.unwrap(), LeaseState::Leading);
    assert_eq!(
        (get.method.as_str(), get.path.as_str()),
        ("GET", &*format!("{LEASES}/runai-controller"))
    );
    assert_eq!((create.method.as_str(), create.path.as_str()), ("POST", LEASES));
    assert_eq!(create.body["metadata"]["name"], "runai-controller");
    let spec = &create.body["spec"];
    assert_eq!(spec["holderIdentity"], "pod-a");
    assert_eq!(spec["leaseDurationSeconds"], 15);
    assert_eq!(spec["leaseTransitions"], 0);
    assert_eq!(spec["acquireTime"], micro(now()));
    assert_eq!(spec["renewTime"], micro(now()));
}

#[tokio::test]
async fn a_held_lease_is_refused_until_it_expires() {
    let (client, mut api) = mock();
    let elector = elector(client);
    let renewed = now() - SignedDuration::from_secs(5);
    let (state, get) = within(async {
        tokio::join!(
            elector.try_acquire_or_renew(now()),
            answer(&mut api, 200, lease("pod-b", renewed, 2))
        )
    })
    .await;
    // Read, and left alone: no write follows.
    assert_eq!(get.method, "GET");
    assert_eq!(
        state.unwrap(),
        LeaseState::Following {
            holder: Some("pod-b".to_owned())
        }
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let (client, mut api) = mock();
    let elector = elector(client);
    let renewed = now() - SignedDuration::from_secs(60);
    let (state, (_, put)) = within(async {
        tokio::join!(elector.try_acquire_or_renew(now()), async {
            let get = answer(&mut api, 200, lease("pod-b", renewed, 2)).await;
            let put = answer(&mut api, 200, lease("pod-a", now(), 3)).await;
            (get, put)
        })
    })
    .await;
    assert_eq!(state.unwrap(), LeaseState::Leading);
    assert_eq!(
        (put.method.as_str(), put.path.as_str()),
        ("PUT", &*format!("{LEASES}/runai-controller"))
    );
    // Conditional on the version read.
    assert_eq!(put.body["metadata"]["resourceVersion"], "42");
    let spec = &put.body["spec"];
    assert_eq!(spec["holderIdentity"], "pod-a");
    assert_eq!(spec["leaseTransitions"], 3);
    assert_eq!(spec["acquireTime"], micro(now()));
    assert_eq!(spec["renewTime"], micro(now()));
    assert_eq!(spec["leaseDurationSeconds"], 15);
}

#[tokio::test]
async fn the_holder_renews_without_a_transition() {
    let (client, mut api) = mock();
    let elector = elector(client);
    let acquired = now() - SignedDuration::from_secs(8);
    let (state, (_, put)) = within(async {
        tokio::join!(elector.try_acquire_or_renew(now()), async {
            let get = answer(&mut api, 200, lease("pod-a", acquired, 2)).await;
            let put = answer(&mut api, 200, lease("pod-a", now(), 2)).await;
            (get, put)
        })
    })
    .await;
    assert_eq!(state.unwrap(), LeaseState::Leading);
    assert_eq!(put.method, "PUT");
    assert_eq!(put.body["metadata"]["resourceVersion"], "42");
    assert_eq!(put.body["spec"]["renewTime"], micro(now()));
    assert_eq!(put.body["spec"]["acquireTime"], micro(acquired));
    assert_eq!(put.body["spec"]["leaseTransitions"], 2);
}

#[tokio::test]
async fn a_conflict_means_someone_else_won() {
    let (client, mut api) = mock();
    let elector = elector(client);
    // Both saw the lease expired; the other candidate's write landed first.
    let renewed = now() - SignedDuration::from_secs(60);
    let (state, (_, put)) = within(async {
        tokio::join!(elector.try_acquire_or_renew(now()), async {
            let get = answer(&mut api, 200, lease("pod-b", renewed, 2)).await;
            let put = answer(&mut api, 409, status(409, "Conflict")).await;
            (get, put)
        })
    })
    .await;
    assert_eq!(put.method, "PUT");
    assert_eq!(state.unwrap(), LeaseState::Following { holder: None });

    // Both saw no lease; the other candidate created it first.
    let (state, (_, create)) = within(async {
        tokio::join!(elector.try_acquire_or_renew(now()), async {
            let get = answer(&mut api, 404, status(404, "NotFound")).await;
            let create = answer(&mut api, 409, status(409, "AlreadyExists")).await;
            (get, create)
        })
    })
    .await;
    assert_eq!(create.method, "POST");
    assert_eq!(state.unwrap(), LeaseState::Following { holder: None });
}

#[tokio::test]
async fn a_failed_read_is_an_error() {
    let (client, mut api) = mock();
    let elector = elector(client);
    let (state, _) = within(async {
        tokio::join!(
            elector.try_acquire_or_renew(now()),
            answer(&mut api, 403, status(403, "Forbidden"))
        )
    })
    .await;
    let error = state.unwrap_err();
    assert!(
        error.to_string().contains("runai-system/runai-controller"),
        "{error}"
    );
}

#[tokio::test]
async fn stepping_down_releases_the_lease() {
    let (client, mut api) = mock();
    // No renewal falls due during the test.
    let config =
        LeaseConfig::new("runai-controller", "runai-system", "pod-a").renew_period(Duration::from_secs(3600));
    let elector = LeaderElector::new(client, config);
    let leadership = elector.hold();
    assert!(leadership.is_leading());
    let (stepped, (get, put)) = within(async {
        tokio::join!(leadership.step_down(), async {
            let get = answer(&mut api, 200, lease("pod-a", Timestamp::now(), 2)).await;
            let put = answer(&mut api, 200, lease("", Timestamp::now(), 2)).await;
            (get, put)
        })
    })
    .await;
    stepped.unwrap();
    assert_eq!(get.method, "GET");
    assert_eq!(
        (put.method.as_str(), put.path.as_str()),
        ("PUT", &*format!("{LEASES}/runai-controller"))
    );
    assert_eq!(put.body["metadata"]["resourceVersion"], "42");
    assert!(put.body["spec"].get("holderIdentity").is_none());
    assert_eq!(put.body["spec"]["leaseDurationSeconds"], 1);
    assert_eq!(put.body["spec"]["leaseTransitions"], 2);
}

#[tokio::test]
async fn leadership_ends_when_another_candidate_holds_the_lease() {
    let (client, mut api) = mock();
    let config =
        LeaseConfig::new("runai-controller", "runai-system", "pod-a").renew_period(Duration::from_millis(1));
    let elector = LeaderElector::new(client, config);
    let leadership = elector.hold();
    let lost = leadership.lost();
    let (reason, get) = within(async {
        // The renewal reads a lease that pod-b took (a partition, say) and has not let expire.
        tokio::join!(lost, answer(&mut api, 200, lease("pod-b", Timestamp::now(), 3)))
    })
    .await;
    assert_eq!(get.method, "GET");
    assert!(reason.contains("pod-b"), "{reason}");
    assert!(!leadership.is_leading());
    // Nothing to give up: stepping down sends nothing.
    within(leadership.step_down()).await.unwrap();
}
