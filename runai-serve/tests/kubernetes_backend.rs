//! The Kubernetes backend against a mocked API server (kube's client over a `tower-test`
//! service): every request it sends is checked (method, path, server-side apply parameters,
//! body) and answered as the API server would, for create, rolling update, scale, status and
//! delete, on Knative, LeaderWorkerSet and a kind known only from a Resource Interface file.
#![cfg(feature = "kube")]

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::client::Body;
use runai_core::{DistributedInferenceSpec, InferenceSpec, Phase};
use runai_serve::backend::kubernetes::{
    KubernetesBackend, KubernetesConfig, ResourceInterface, SingleNodeKind,
};
use runai_serve::backend::{Backend, BackendError, Deployment};
use runai_serve::gateway::WorkloadKey;
use serde_json::{Value, json};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn backend(config: KubernetesConfig) -> (KubernetesBackend, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    (KubernetesBackend::new(client, config), handle)
}

/// A request the backend sent: method, path, query and JSON body.
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
        .expect("the backend sent no request")
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

/// Runs a test body, failing it (instead of hanging) when the backend waits for an answer
/// the test never gives.
async fn within(body: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), body)
        .await
        .expect("the backend is still waiting for an API answer the test did not give");
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": "not found", "reason": "NotFound", "code": 404})
}

fn deleted() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 200})
}

fn workload() -> WorkloadKey {
    WorkloadKey::new("team-a", "llama")
}

fn inference(image: &str) -> InferenceSpec {
    serde_json::from_value(json!({
        "image": image,
        "servingPort": {"container": 8000},
        "autoscaling": {"minReplicas": 1, "maxReplicas": 3, "metric": "concurrency", "metricThreshold": 8}
    }))
    .unwrap()
}

/// The object as the API server would return it after an apply.
fn stored(mut object: Value) -> Value {
    object["metadata"]["uid"] = json!("6f1c1c52-0000-4000-8000-000000000001");
    object["metadata"]["resourceVersion"] = json!("7");
    object
}

#[tokio::test]
async fn knative_create_rolling_update_status_and_delete() {
    within(async {
    let key = workload();
    let owner = OwnerReference {
        api_version: "run.ai/v2alpha1".into(),
        kind: "InferenceWorkload".into(),
        name: "llama".into(),
        uid: "0b4e9a3c-1111-4000-8000-00000000abcd".into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let config = KubernetesConfig::default().owner(owner);
    let (backend, mut api) = backend(config);
    let mut changes = backend.changes();
    let path = "/apis/serving.knative.dev/v1/namespaces/runai-team-a/services/llama";

    // Create: one server-side apply, forced, as the `runai` field manager.
    let first = Deployment::new(workload(), "rev-1", inference("vllm/vllm-openai:v0.10.0"), 1);
    let reply = stored(json!({"apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "llama", "namespace": "runai-team-a"}}));
    let (applied, sent) = tokio::join!(backend.apply(&first), answer(&mut api, 200, reply.clone()));
    applied.unwrap();
    assert_eq!(sent.method, "PATCH");
    assert_eq!(sent.path, path);
    assert_eq!(sent.param("fieldManager"), Some("runai"));
    assert_eq!(sent.param("force"), Some("true"));
    assert_eq!(sent.content_type, "application/apply-patch+yaml");
    let sent = sent.body;
    assert_eq!(sent["kind"], "Service");
    assert_eq!(sent["metadata"]["labels"]["run.ai/revision"], "rev-1");
    assert_eq!(sent["metadata"]["labels"]["app.kubernetes.io/managed-by"], "runai");
    assert_eq!(sent["metadata"]["ownerReferences"][0]["kind"], "InferenceWorkload");
    assert_eq!(sent["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(sent["spec"]["template"]["metadata"]["name"], "llama-rev-1");
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();

    // Rolling update: the next revision is the same object with a new template; Knative
    // rolls traffic over once the new revision is ready.
    let second = Deployment::new(workload(), "rev-2", inference("vllm/vllm-openai:v0.11.0"), 1);
    let (applied, sent) = tokio::join!(backend.apply(&second), answer(&mut api, 200, reply));
    applied.unwrap();
    assert_eq!(sent.path, path);
    assert_eq!(sent.body["spec"]["template"]["metadata"]["name"], "llama-rev-2");
    assert_eq!(
        sent.body["spec"]["template"]["spec"]["containers"][0]["image"],
        "vllm/vllm-openai:v0.11.0"
    );
    assert_eq!(sent.body["metadata"]["labels"]["run.ai/revision"], "rev-2");
    assert!(changes.has_changed().unwrap());

    // Status: the service, then its revisions, each mapped to a Run:ai phase.
    let service = stored(json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "llama", "namespace": "runai-team-a", "labels": {"run.ai/revision": "rev-2"}},
        "status": {"url": "http://llama.runai-team-a.example.com"}
    }));
    let revisions = json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "RevisionList", "metadata": {"resourceVersion": "9"},
        "items": [
            {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
             "metadata": {"name": "llama-rev-1", "namespace": "runai-team-a"},
             "status": {"desiredReplicas": 2, "actualReplicas": 2, "conditions": [{"type": "Ready", "status": "True"}]}},
            {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
             "metadata": {"name": "llama-rev-2", "namespace": "runai-team-a"},
             "status": {"desiredReplicas": 1, "actualReplicas": 0,
                        "conditions": [{"type": "Ready", "status": "Unknown", "reason": "Deploying"}]}}
        ]
    });
    let (statuses, (get, list)) = tokio::join!(backend.status(&key), async {
        let get = answer(&mut api, 200, service.clone()).await;
        let list = answer(&mut api, 200, revisions).await;
        (get, list)
    });
    let statuses = statuses.unwrap();
    assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", path));
    assert_eq!(list.path, "/apis/serving.knative.dev/v1/namespaces/runai-team-a/revisions");
    assert_eq!(list.param("labelSelector"), Some("serving.knative.dev%2Fservice%3Dllama"));
    assert_eq!(statuses.len(), 2);
    assert_eq!(
        (statuses[0].revision.as_str(), statuses[0].phase.clone(), statuses[0].ready),
        ("rev-1", Phase::Running, 2)
    );
    assert_eq!(statuses[0].endpoints, vec!["http://llama.runai-team-a.example.com".to_owned()]);
    assert_eq!(
        (statuses[1].revision.as_str(), statuses[1].phase.clone(), statuses[1].starting),
        ("rev-2", Phase::Initializing, 1)
    );
    assert_eq!(statuses[1].last_error.as_deref(), Some("Deploying"));

    // Scaling a Knative revision by hand is refused: its autoscaler owns the count.
    let (scaled, _) = tokio::join!(
        backend.scale(&key, "rev-2", 3),
        answer(&mut api, 200, service.clone())
    );
    let error = scaled.unwrap_err();
    assert!(matches!(error, BackendError::Unsupported { .. }), "{error}");
    assert!(error.to_string().contains("minReplicas"), "{error}");

    // Deleting an old revision deletes its Knative Revision, in the foreground.
    let (done, (_, sent)) = tokio::join!(backend.delete(&key, Some("rev-1")), async {
        let get = answer(&mut api, 200, service.clone()).await;
        let delete = answer(&mut api, 200, deleted()).await;
        (get, delete)
    });
    done.unwrap();
    assert_eq!(sent.method, "DELETE");
    assert_eq!(sent.path, "/apis/serving.knative.dev/v1/namespaces/runai-team-a/revisions/llama-rev-1");
    assert_eq!(sent.body["propagationPolicy"], "Foreground");

    // Deleting the workload deletes the service; a second delete finds nothing and succeeds.
    let (done, (_, sent)) = tokio::join!(backend.delete(&key, None), async {
        let get = answer(&mut api, 200, service.clone()).await;
        let delete = answer(&mut api, 200, deleted()).await;
        (get, delete)
    });
    done.unwrap();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("DELETE", path));
    assert_eq!(sent.body["propagationPolicy"], "Foreground");
    let (done, (knative, lws, nim)) = tokio::join!(backend.delete(&key, None), async {
        let knative = answer(&mut api, 404, not_found()).await;
        let lws = answer(&mut api, 404, not_found()).await;
        let nim = answer(&mut api, 404, not_found()).await;
        (knative, lws, nim)
    });
    done.unwrap();
    assert_eq!(knative.path, path);
    assert_eq!(lws.path, "/apis/leaderworkerset.x-k8s.io/v1/namespaces/runai-team-a/leaderworkersets/llama");
    assert_eq!(nim.path, "/apis/apps.nvidia.com/v1alpha1/namespaces/runai-team-a/nimservices/llama");
    })
    .await;
}

fn distributed() -> DistributedInferenceSpec {
    serde_json::from_value(json!({
        "workers": 1, "replicas": 1, "servingPort": {"port": 8000},
        "leader": {"image": "vllm/vllm-openai:v0.11.0", "compute": {"gpuDevicesRequest": 8}},
        "worker": {"image": "vllm/vllm-openai:v0.11.0", "compute": {"gpuDevicesRequest": 8}}
    }))
    .unwrap()
}

#[tokio::test]
async fn leader_worker_set_create_scale_status_and_delete() {
    within(async {
    let key = workload();
    let (backend, mut api) = backend(KubernetesConfig::default());
    let path = "/apis/leaderworkerset.x-k8s.io/v1/namespaces/runai-team-a/leaderworkersets/llama";
    let set = |replicas: u32, ready: u32, conditions: Value| {
        stored(json!({
            "apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
            "metadata": {"name": "llama", "namespace": "runai-team-a", "labels": {"run.ai/revision": "rev-1"}},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": ready, "conditions": conditions}
        }))
    };

    // The deployment's replica count is the number of groups.
    let deployment = Deployment::new(workload(), "rev-1", distributed(), 2);
    let (applied, sent) = tokio::join!(
        backend.apply(&deployment),
        answer(&mut api, 200, set(2, 0, json!([])))
    );
    applied.unwrap();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("PATCH", path));
    assert_eq!(sent.param("fieldManager"), Some("runai"));
    assert_eq!(sent.body["spec"]["replicas"], 2);
    assert_eq!(sent.body["spec"]["leaderWorkerTemplate"]["size"], 2);

    // Scaling goes through the scale subresource with a merge patch.
    let (scaled, (_, sent)) = tokio::join!(backend.scale(&key, "rev-1", 3), async {
        let get = answer(&mut api, 200, set(2, 0, json!([]))).await;
        let scale = answer(
            &mut api,
            200,
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "llama"},
                   "spec": {"replicas": 3}, "status": {"replicas": 2}}),
        )
        .await;
        (get, scale)
    });
    scaled.unwrap();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("PATCH", &*format!("{path}/scale")));
    assert_eq!(sent.content_type, "application/merge-patch+json");
    assert_eq!(sent.body, json!({"spec": {"replicas": 3}}));

    // A revision that is not the one applied cannot be scaled.
    let (scaled, _) = tokio::join!(
        backend.scale(&key, "rev-0", 3),
        answer(&mut api, 200, set(3, 0, json!([])))
    );
    assert!(matches!(scaled.unwrap_err(), BackendError::UnknownRevision { .. }));

    // Status in groups: two of three ready while available is Degraded; all ready while an
    // update is in progress is Updating.
    let available = json!([{"type": "Available", "status": "True"}]);
    let (statuses, _) = tokio::join!(
        backend.status(&key),
        answer(&mut api, 200, set(3, 2, available))
    );
    let status = &statuses.unwrap()[0];
    assert_eq!((status.desired, status.ready, status.phase.clone()), (3, 2, Phase::Degraded));
    let updating = json!([{"type": "Available", "status": "True"}, {"type": "UpdateInProgress", "status": "True"}]);
    let (statuses, _) = tokio::join!(
        backend.status(&key),
        answer(&mut api, 200, set(3, 3, updating))
    );
    assert_eq!(statuses.unwrap()[0].phase, Phase::Updating);

    let (done, (_, sent)) = tokio::join!(backend.delete(&key, None), async {
        let get = answer(&mut api, 200, set(3, 3, json!([]))).await;
        let delete = answer(&mut api, 200, deleted()).await;
        (get, delete)
    });
    done.unwrap();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("DELETE", path));
    })
    .await;
}

fn deployment_interface() -> Arc<ResourceInterface> {
    let path = format!(
        "{}/tests/fixtures/resource-interfaces/deployment.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    Arc::new(ResourceInterface::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap())
}

/// A validator for apps/v1 Deployment (Kubernetes v1.33, strict: closed objects).
fn deployment_validator() -> jsonschema::Validator {
    let dir = format!(
        "{}/tests/fixtures/schemas/kubernetes-v1.33.0",
        env!("CARGO_MANIFEST_DIR")
    );
    let read = |file: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{file}")).unwrap()).unwrap()
    };
    let registry = jsonschema::Registry::new()
        .add(
            "https://kubernetes.io/api/_definitions.json",
            read("_definitions.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options()
        .with_registry(&registry)
        .with_base_uri("https://kubernetes.io/deployment-apps-v1.json")
        .build(&read("deployment-apps-v1.json"))
        .unwrap()
}

#[tokio::test]
async fn a_kind_known_only_from_its_description_is_applied_scaled_and_read() {
    within(async {
    let key = workload();
    let config = KubernetesConfig::default().single_node(SingleNodeKind::Described(deployment_interface()));
    let (backend, mut api) = backend(config);
    let path = "/apis/apps/v1/namespaces/runai-team-a/deployments/llama";
    let spec = InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000);

    let deployment = Deployment::new(workload(), "rev-1", spec, 2);
    let reply = stored(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "llama", "namespace": "runai-team-a", "labels": {"run.ai/revision": "rev-1"}}}));
    let (applied, sent) = tokio::join!(backend.apply(&deployment), answer(&mut api, 200, reply));
    applied.unwrap();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("PATCH", path));
    assert_eq!(sent.param("fieldManager"), Some("runai"));
    let object = &sent.body;
    assert_eq!(object["spec"]["replicas"], 2);
    assert_eq!(object["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 1);
    assert_eq!(
        object["spec"]["selector"]["matchLabels"],
        json!({"run.ai/project": "team-a", "run.ai/workload": "llama"})
    );
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"][0]["image"],
        "vllm/vllm-openai:v0.11.0"
    );
    // What was applied is a valid Deployment whose selector matches its pods.
    let validator = deployment_validator();
    let errors: Vec<String> = validator.iter_errors(object).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{object:#}");
    for (key, value) in object["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&object["spec"]["template"]["metadata"]["labels"][key], value);
    }
    let mut typo = object.clone();
    typo["spec"]["replica"] = json!(2);
    assert!(!validator.is_valid(&typo), "the strict schema catches a misspelt field");

    // Scaling uses the scale subresource the description declares.
    let current = stored(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "llama", "namespace": "runai-team-a", "labels": {"run.ai/revision": "rev-1"}},
        "spec": {"replicas": 4}, "status": {"readyReplicas": 3}}));
    let (scaled, (_, sent)) = tokio::join!(backend.scale(&key, "rev-1", 4), async {
        let get = answer(&mut api, 200, current.clone()).await;
        let scale = answer(
            &mut api,
            200,
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "llama"}, "spec": {"replicas": 4}}),
        )
        .await;
        (get, scale)
    });
    scaled.unwrap();
    assert_eq!(sent.path, format!("{path}/scale"));

    // Status comes from the pointers in the description.
    let (statuses, _) = tokio::join!(backend.status(&key), answer(&mut api, 200, current));
    let status = &statuses.unwrap()[0];
    assert_eq!(
        (status.revision.as_str(), status.desired, status.ready, status.phase.clone()),
        ("rev-1", 4, 3, Phase::Degraded)
    );
    })
    .await;
}

#[tokio::test]
async fn api_errors_say_what_was_being_done() {
    within(async {
    let key = workload();
    let (backend, mut api) = backend(KubernetesConfig::default());
    let refusal = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Service.serving.knative.dev \"llama\" is invalid: spec.template.spec.containers[0].image: Required value",
        "reason": "Invalid", "code": 422});
    let deployment = Deployment::new(workload(), "rev-1", inference("vllm/vllm-openai:v0.11.0"), 1);
    let (applied, _) = tokio::join!(backend.apply(&deployment), answer(&mut api, 422, refusal));
    let error = applied.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, BackendError::Kubernetes { .. }), "{text}");
    assert!(text.contains("applying Knative Service team-a/llama revision rev-1"), "{text}");
    assert!(text.contains("Required value"), "{text}");

    // A spec that cannot be rendered never reaches the API server.
    let imageless = Deployment::new(workload(), "rev-1", InferenceSpec::default(), 1);
    let error = backend.apply(&imageless).await.unwrap_err();
    assert!(matches!(error, BackendError::Render(_)), "{error}");
    assert!(error.to_string().contains("spec.image"), "{error}");

    // A workload that was never applied has no status, on any kind.
    let (statuses, _) = tokio::join!(backend.status(&key), async {
        for _ in ["Knative Service", "LeaderWorkerSet", "NIMService"] {
            answer(&mut api, 404, not_found()).await;
        }
    });
    assert!(statuses.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn nim_services_are_applied_scaled_and_read() {
    within(async {
    let key = workload();
    let (backend, mut api) = backend(KubernetesConfig::default());
    let path = "/apis/apps.nvidia.com/v1alpha1/namespaces/runai-team-a/nimservices/llama";
    let spec: runai_core::NimServiceSpec = serde_json::from_value(json!({
        "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0",
        "ngcAuthSecret": "ngc-api-key",
        "servingPort": {"port": 8000},
        "compute": {"gpuDevicesRequest": 1},
        "modelStore": {"nimCache": {"name": "llama-3-1-8b-cache"}}
    }))
    .unwrap();
    let service = |state: &str, available: u32| {
        stored(json!({
            "apiVersion": "apps.nvidia.com/v1alpha1", "kind": "NIMService",
            "metadata": {"name": "llama", "namespace": "runai-team-a", "labels": {"run.ai/revision": "rev-1"}},
            "spec": {"replicas": 2},
            "status": {"state": state, "availableReplicas": available}
        }))
    };

    // Without autoscaling, the deployment's replicas are the service's.
    let deployment = Deployment::new(key.clone(), "rev-1", spec, 2);
    let (applied, sent) = tokio::join!(backend.apply(&deployment), answer(&mut api, 200, service("Pending", 0)));
    applied.unwrap();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("PATCH", path));
    assert_eq!(sent.param("fieldManager"), Some("runai"));
    assert_eq!(sent.body["spec"]["replicas"], 2);
    assert_eq!(sent.body["spec"]["authSecret"], "ngc-api-key");

    let (statuses, _) = tokio::join!(backend.status(&key), answer(&mut api, 200, service("Pending", 0)));
    assert_eq!(statuses.unwrap()[0].phase, Phase::Pending);

    // A service without an HPA is scaled with a merge patch of its replicas.
    let (scaled, (_, sent)) = tokio::join!(backend.scale(&key, "rev-1", 3), async {
        let get = answer(&mut api, 200, service("Ready", 2)).await;
        let patch = answer(&mut api, 200, service("Ready", 2)).await;
        (get, patch)
    });
    scaled.unwrap();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("PATCH", path));
    assert_eq!(sent.content_type, "application/merge-patch+json");
    assert_eq!(sent.body, json!({"spec": {"replicas": 3}}));
    })
    .await;
}

#[tokio::test]
async fn queues_are_applied_cluster_wide() {
    within(async {
        use runai_core::cluster::{NodePoolQuota, Project, ResourceQuota};
        use runai_serve::backend::kubernetes::queue;
        let (backend, mut api) = backend(KubernetesConfig::default());
        let project = Project::new("1", "team-a")
            .with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(8.0)))
            .with_quota(NodePoolQuota::new("h100").with_gpus(ResourceQuota::deserved(4.0)));
        let queues = queue::project_queues(&project, None).unwrap();
        assert_eq!(queues.len(), 2);
        let reply = |name: &str| {
            stored(json!({"apiVersion": "scheduling.run.ai/v2", "kind": "Queue", "metadata": {"name": name}}))
        };
        let (applied, (first, second)) = tokio::join!(backend.apply_queues(&queues), async {
            let first = answer(&mut api, 200, reply("team-a")).await;
            let second = answer(&mut api, 200, reply("team-a.h100")).await;
            (first, second)
        });
        applied.unwrap();
        // Queues are cluster-scoped: no namespace in the path.
        assert_eq!(
            (first.method.as_str(), first.path.as_str()),
            ("PATCH", "/apis/scheduling.run.ai/v2/queues/team-a")
        );
        assert_eq!(first.param("fieldManager"), Some("runai"));
        assert_eq!(first.body["spec"]["resources"]["gpu"]["quota"], 8.0);
        assert_eq!(second.path, "/apis/scheduling.run.ai/v2/queues/team-a.h100");
        assert_eq!(second.body["spec"]["resources"]["gpu"]["quota"], 4.0);
    })
    .await;
}

#[tokio::test]
async fn cluster_events_are_announced() {
    within(async {
        let (backend, mut api) = backend(KubernetesConfig::default());
        let mut changes = backend.changes();
        let task = backend.watch_cluster();
        let mut watched = Vec::new();
        // One watch per kind, all namespaces, only what this crate manages.
        for _ in 0..4 {
            let (request, respond) = api.next_request().await.unwrap();
            let uri = request.uri().clone();
            let query = uri.query().unwrap_or_default().to_owned();
            assert!(query.contains("watch=true"), "{uri}");
            assert!(
                query.contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Drunai"),
                "{uri}"
            );
            watched.push(uri.path().to_owned());
            let response = if uri.path().ends_with("/leaderworkersets") {
                let event = json!({"type": "MODIFIED", "object": stored(json!({
                    "apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
                    "metadata": {"name": "llama", "namespace": "runai-team-a"}}))});
                Response::builder()
                    .status(200)
                    .body(Body::from(format!("{event}\n").into_bytes()))
                    .unwrap()
            } else {
                // A kind whose CRD is not installed.
                Response::builder()
                    .status(404)
                    .body(Body::from(serde_json::to_vec(&not_found()).unwrap()))
                    .unwrap()
            };
            respond.send_response(response);
        }
        changes.changed().await.unwrap();
        watched.sort();
        assert_eq!(
            watched,
            [
                "/apis/apps.nvidia.com/v1alpha1/nimservices",
                "/apis/leaderworkerset.x-k8s.io/v1/leaderworkersets",
                "/apis/serving.knative.dev/v1/services",
                "/apis/serving.kserve.io/v1beta1/inferenceservices",
            ]
        );
        task.abort();
    })
    .await;
}
