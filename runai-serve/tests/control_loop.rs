//! The control loop over a real store and the local backend with real processes: a workload
//! reaches Running, a rolling update replaces its revision, an update that never becomes
//! ready is abandoned while the old revision keeps serving, and deletion stops everything.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use runai_serve::backend::{Backend, LocalBackend, LocalConfig};
use runai_serve::control::{CanaryStep, ControlLoop, CustomMetrics, LoopSettings};
use runai_serve::gateway::{Gateway, GatewayConfig, WorkloadKey};
use runai_serve::observe::PrometheusClient;
use runai_serve::store::{NewWorkload, Store, WorkloadKind, WorkloadRecord};
use serde_json::{Value, json};

/// A fresh folder for one test (tests run in parallel, so each has its own).
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("runai-control-loop-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn backend(dir: &Path) -> LocalBackend {
    let mut config = LocalConfig::default();
    config.log_dir = dir.join("logs");
    config.secrets_dir = dir.join("secrets");
    config.config_maps_dir = dir.join("config-maps");
    config.restart_backoff = Duration::from_millis(50);
    config.max_restart_backoff = Duration::from_millis(200);
    config.grace_period = Duration::from_millis(500);
    LocalBackend::new(config)
}

fn server(greeting: &str) -> Value {
    json!({
        "image": "python:3",
        "command": "python3 -m http.server $(PORT) --bind 127.0.0.1",
        "servingPort": {"container": 8000},
        "environmentVariables": [{"name": "GREETING", "value": greeting}]
    })
}

/// Runs passes until the workload satisfies `done` (bounded), and returns it.
async fn until(
    control: &ControlLoop,
    store: &Store,
    id: &str,
    what: &str,
    done: impl Fn(&WorkloadRecord) -> bool,
) -> WorkloadRecord {
    for _ in 0..400 {
        control.reconcile().await.unwrap();
        let record = store.workload(id).unwrap();
        if done(&record) {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {:?}", store.workload(id).unwrap());
}

#[tokio::test]
async fn workloads_run_roll_over_survive_a_bad_update_and_are_deleted() {
    let dir = scratch("rollover");
    let store = Store::open(dir.join("runai.db")).unwrap();
    let backend = Arc::new(backend(&dir));
    let settings = LoopSettings::default()
        .interval(Duration::from_millis(100))
        .rollout_deadline(Duration::from_secs(2));
    // Traffic goes through a real gateway on an ephemeral port, routed by path.
    let gateway = Gateway::new(GatewayConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let through_gateway = format!("http://{}/1/web/", listener.local_addr().unwrap());
    tokio::spawn(gateway.clone().serve(listener, std::future::pending()));
    let control = ControlLoop::new(store.clone(), Arc::clone(&backend) as Arc<dyn Backend>, settings)
        .with_gateway(gateway);
    let key = WorkloadKey::new("1", "web");
    let http = reqwest::Client::new();
    let status = |http: &reqwest::Client| {
        let request = http.get(&through_gateway).send();
        async move { request.await.map(|r| r.status().as_u16()).unwrap_or(0) }
    };

    let created = store
        .create_workload(&NewWorkload::new(
            "1",
            "web",
            WorkloadKind::Inference,
            server("one"),
        ))
        .unwrap();
    let running = until(&control, &store, &created.id, "running", |w| w.phase == "Running").await;
    assert_eq!(
        running.phase_message.as_deref(),
        Some("1 of 1 replicas are ready")
    );
    assert_eq!(store.revisions(&created.id).unwrap()[0].phase, "Running");
    assert_eq!(
        status(&http).await,
        200,
        "the gateway routes to the running revision"
    );

    // A rolling update: revision 2 starts beside revision 1, then replaces it.
    store.add_revision(&created.id, &server("two")).unwrap();
    until(&control, &store, &created.id, "rolled over", |_| {
        let revisions = store.revisions(&created.id).unwrap();
        revisions[0].phase == "Stopped" && revisions[1].phase == "Running"
    })
    .await;
    let live: Vec<String> = backend
        .status(&key)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.revision)
        .collect();
    assert_eq!(live, ["rev-2"]);
    control.reconcile().await.unwrap();
    assert_eq!(status(&http).await, 200, "the gateway follows the rollover");

    // An update that never gets ready is abandoned at the deadline; revision 2 keeps serving.
    let mut broken = server("three");
    broken["command"] = json!("sh -c 'exit 3'");
    store.add_revision(&created.id, &broken).unwrap();
    let after = until(&control, &store, &created.id, "rollout abandoned", |w| {
        w.phase == "Running"
            && w.phase_message
                .as_deref()
                .is_some_and(|m| m.contains("not ready within"))
    })
    .await;
    assert!(
        after
            .phase_message
            .unwrap()
            .contains("previous revision keeps serving")
    );
    let revisions = store.revisions(&created.id).unwrap();
    assert_eq!(revisions[2].phase, "Failed");
    assert_eq!(revisions[1].phase, "Running");
    let statuses = backend.status(&key).await.unwrap();
    assert_eq!(statuses.len(), 1);
    assert_eq!((statuses[0].revision.as_str(), statuses[0].ready), ("rev-2", 1));
    assert_eq!(status(&http).await, 200, "the old revision keeps serving");
    let reasons: Vec<String> = store
        .events(&created.id, 50)
        .unwrap()
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert!(reasons.iter().any(|r| r == "RolloutFailed"), "{reasons:?}");

    // Deletion stops every process and ends in Deleted.
    store.delete_workload(&created.id).unwrap();
    until(&control, &store, &created.id, "deleted", |w| w.phase == "Deleted").await;
    assert!(backend.status(&key).await.unwrap().is_empty());
    assert_eq!(
        status(&http).await,
        404,
        "a deleted workload is gone from the gateway"
    );
    drop(control);
    drop(backend);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_spec_the_backend_cannot_run_fails_with_the_reason() {
    let dir = scratch("bad-spec");
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(dir.join("runai.db")).unwrap();
    let control = ControlLoop::new(store.clone(), Arc::new(backend(&dir)), LoopSettings::default());
    // An image with no command and no mapping cannot run on the local backend.
    let created = store
        .create_workload(&NewWorkload::new(
            "1",
            "imageonly",
            WorkloadKind::Inference,
            json!({"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000}}),
        ))
        .unwrap();
    let failed = until(&control, &store, &created.id, "failed", |w| w.phase == "Failed").await;
    assert!(
        failed.phase_message.unwrap().contains("images"),
        "the reason names the images table"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A Prometheus HTTP API that answers every instant query with `value`, and keeps the queries.
async fn prometheus(value: &'static str) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::RawQuery;
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/api/v1/query",
        axum::routing::get(move |RawQuery(raw): RawQuery| {
            let log = Arc::clone(&log);
            async move {
                let params: Vec<(String, String)> =
                    serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()).unwrap();
                let query = params.into_iter().find(|(k, _)| k == "query").map(|(_, v)| v);
                log.lock().unwrap().push(query.unwrap_or_default());
                axum::Json(json!({
                    "status": "success",
                    "data": {"resultType": "vector", "result": [
                        {"metric": {"workload": "queued"}, "value": [1_700_000_000.0, value]}
                    ]}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn a_custom_metric_from_prometheus_scales_the_workload() {
    let dir = scratch("custom-metric");
    let store = Store::open(dir.join("runai.db")).unwrap();
    let backend = Arc::new(backend(&dir));
    // 30 waiting per replica against a threshold of 10: three replicas, the most allowed.
    let (url, queries) = prometheus("30").await;
    let source = CustomMetrics::new(PrometheusClient::new(&url).unwrap());
    let control = ControlLoop::new(
        store.clone(),
        Arc::clone(&backend) as Arc<dyn Backend>,
        LoopSettings::default().interval(Duration::from_millis(100)),
    )
    .with_custom_metrics(source);
    let mut spec = server("queued");
    spec["autoscaling"] =
        json!({"minReplicas": 1, "maxReplicas": 3, "metric": "queue_depth", "metricThreshold": 10});
    let created = store
        .create_workload(&NewWorkload::new("1", "queued", WorkloadKind::Inference, spec))
        .unwrap();
    let scaled = until(&control, &store, &created.id, "three replicas", |w| {
        w.phase_message.as_deref() == Some("3 of 3 replicas are ready")
    })
    .await;
    assert_eq!(scaled.phase, "Running");
    let queries = queries.lock().unwrap().clone();
    assert!(
        queries
            .iter()
            .all(|q| q == r#"avg(queue_depth{workload="queued"})"#),
        "{queries:?}"
    );
    store.delete_workload(&created.id).unwrap();
    until(&control, &store, &created.id, "deleted", |w| w.phase == "Deleted").await;
    drop(control);
    drop(backend);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The number of 200 answers the gateway counted for `revision`.
fn served_by(gateway: &Gateway, revision: &str) -> f64 {
    let label = format!("revision=\"{revision}\"");
    gateway
        .metrics_text()
        .lines()
        .filter(|line| {
            line.starts_with("runai_gateway_requests_total")
                && line.contains(&label)
                && line.contains("status=\"200\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_canary_rollout_splits_traffic_before_the_old_revision_stops() {
    let dir = scratch("canary");
    let store = Store::open(dir.join("runai.db")).unwrap();
    let backend = Arc::new(backend(&dir));
    let settings = LoopSettings::default()
        .interval(Duration::from_millis(100))
        .canary([CanaryStep::new(50, Duration::from_secs(3))]);
    let gateway = Gateway::new(GatewayConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/1/canary/", listener.local_addr().unwrap());
    tokio::spawn(gateway.clone().serve(listener, std::future::pending()));
    let control = ControlLoop::new(store.clone(), Arc::clone(&backend) as Arc<dyn Backend>, settings)
        .with_gateway(gateway.clone());
    let created = store
        .create_workload(&NewWorkload::new(
            "1",
            "canary",
            WorkloadKind::Inference,
            server("one"),
        ))
        .unwrap();
    until(&control, &store, &created.id, "running", |w| w.phase == "Running").await;

    // Revision 2 gets ready and takes half of the traffic while revision 1 still serves.
    store.add_revision(&created.id, &server("two")).unwrap();
    let canary = until(&control, &store, &created.id, "canary", |w| {
        w.phase_message
            .as_deref()
            .is_some_and(|m| m.starts_with("canary"))
    })
    .await;
    assert_eq!(canary.phase, "Updating");
    let http = reqwest::Client::new();
    for _ in 0..40 {
        assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 200);
    }
    let (old, new) = (served_by(&gateway, "rev-1"), served_by(&gateway, "rev-2"));
    assert!(old > 0.0 && new > 0.0, "rev-1 served {old}, rev-2 served {new}");

    // After the step, revision 2 takes everything and revision 1 stops.
    until(&control, &store, &created.id, "promoted", |_| {
        let revisions = store.revisions(&created.id).unwrap();
        revisions[0].phase == "Stopped" && revisions[1].phase == "Running"
    })
    .await;
    let before = served_by(&gateway, "rev-2");
    for _ in 0..10 {
        assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 200);
    }
    assert_eq!(served_by(&gateway, "rev-2"), before + 10.0);
    store.delete_workload(&created.id).unwrap();
    until(&control, &store, &created.id, "deleted", |w| w.phase == "Deleted").await;
    drop(control);
    drop(backend);
    std::fs::remove_dir_all(&dir).unwrap();
}
