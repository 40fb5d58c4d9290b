//! The local backend with real child processes: readiness, the initialization timeout,
//! crash restarts, logs, secrets, scaling, graceful stop, and no process left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use runai_core::InferenceSpec;
use runai_core::spec::{EnvironmentVariable, KeyRef, ServingConfiguration};
use runai_serve::backend::{
    Backend, BackendError, Deployment, LocalBackend, LocalConfig, ReplicaPhase, RevisionStatus,
};
use runai_serve::gateway::WorkloadKey;

/// A fresh folder for one test's logs, secrets and pid files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("runai-local-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(dir: &Path) -> LocalConfig {
    let mut config = LocalConfig::default();
    config.log_dir = dir.join("logs");
    config.secrets_dir = dir.join("secrets");
    config.config_maps_dir = dir.join("config-maps");
    config.restart_backoff = Duration::from_millis(50);
    config.max_restart_backoff = Duration::from_millis(200);
    config.grace_period = Duration::from_millis(500);
    config
}

fn spec(command: &str) -> InferenceSpec {
    InferenceSpec {
        command: Some(command.to_owned()),
        ..InferenceSpec::default()
    }
}

/// Waits (bounded) until the revision's status satisfies `done`.
async fn wait_for(
    backend: &LocalBackend,
    workload: &WorkloadKey,
    done: impl Fn(&RevisionStatus) -> bool,
) -> RevisionStatus {
    let mut changes = backend.changes();
    for _ in 0..600 {
        let status = backend.status(workload).await.unwrap();
        if let Some(first) = status.first()
            && done(first)
        {
            return first.clone();
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), changes.changed()).await;
    }
    panic!(
        "status never reached: {:?}",
        backend.status(workload).await.unwrap()
    );
}

fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// The pids a test command wrote, one per line.
fn pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

async fn wait_gone(pids: &[i32]) {
    for _ in 0..100 {
        if pids.iter().all(|&p| !alive(p)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("processes left behind: {pids:?}");
}

#[tokio::test]
async fn replicas_become_ready_serve_and_log() {
    let dir = scratch("ready");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "files");
    let server = spec("python3 -u -m http.server $(PORT) --bind 127.0.0.1");
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", server, 2))
        .await
        .unwrap();
    let status = wait_for(&backend, &workload, |s| s.ready == 2).await;
    assert_eq!((status.desired, status.starting, status.failed), (2, 0, 0));
    assert_eq!(status.endpoints.len(), 2);
    assert_ne!(
        status.endpoints[0], status.endpoints[1],
        "each replica has its own port"
    );
    // The replica really serves, and its request log is read back.
    let response = reqwest::get(format!("{}/", status.endpoints[0])).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut logged = String::new();
    for _ in 0..100 {
        logged = backend.logs(&workload, "rev-1", 0, 1 << 16).unwrap();
        if logged.contains("GET / ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(logged.contains("GET / "), "{logged}");
    backend.delete(&workload, None).await.unwrap();
    assert!(backend.status(&workload).await.unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_environment_carries_port_identity_and_secrets() {
    let dir = scratch("env");
    std::fs::create_dir_all(dir.join("secrets/hf")).unwrap();
    std::fs::write(dir.join("secrets/hf/token"), "hf_secret_value").unwrap();
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "env");
    let out = dir.join("env.txt");
    let mut printer = spec(&format!(
        "sh -c 'echo $PORT $RUNAI_WORKLOAD $RUNAI_REPLICA_INDEX $GREETING $HF_TOKEN > {}; exec python3 -m http.server $PORT --bind 127.0.0.1'",
        out.display()
    ));
    printer.environment_variables = Some(vec![
        EnvironmentVariable {
            name: Some("GREETING".into()),
            value: Some("hello".into()),
            ..EnvironmentVariable::default()
        },
        EnvironmentVariable {
            name: Some("HF_TOKEN".into()),
            secret: Some(KeyRef {
                name: Some("hf".into()),
                key: Some("token".into()),
            }),
            ..EnvironmentVariable::default()
        },
    ]);
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", printer, 1))
        .await
        .unwrap();
    let status = wait_for(&backend, &workload, |s| s.ready == 1).await;
    let port = status.endpoints[0].rsplit(':').next().unwrap().to_owned();
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.trim(), format!("{port} env 0 hello hf_secret_value"));
    backend.delete(&workload, None).await.unwrap();

    // A secret that is not there is an error naming the file, before anything starts.
    let mut missing = spec("true");
    missing.environment_variables = Some(vec![EnvironmentVariable {
        name: Some("KEY".into()),
        secret: Some(KeyRef {
            name: Some("nope".into()),
            key: Some("key".into()),
        }),
        ..EnvironmentVariable::default()
    }]);
    let error = backend
        .apply(&Deployment::new(workload.clone(), "rev-2", missing, 1))
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::MissingValue { .. }), "{error}");
    assert!(error.to_string().contains("secrets/nope/key"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_replica_not_ready_in_time_fails_with_the_reason_and_is_stopped() {
    let dir = scratch("timeout");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "slow");
    let pid_file = dir.join("pids");
    let mut slow = spec(&format!(
        "sh -c 'echo $$ > {}; exec sleep 60'",
        pid_file.display()
    ));
    slow.serving_configuration = Some(ServingConfiguration {
        initialization_timeout_seconds: Some(1),
        ..ServingConfiguration::default()
    });
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", slow, 1))
        .await
        .unwrap();
    let status = wait_for(&backend, &workload, |s| s.failed == 1).await;
    let error = status.last_error.unwrap();
    assert!(error.contains("initializationTimeoutSeconds (1 s)"), "{error}");
    wait_gone(&pids(&pid_file)).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_crashing_replica_restarts_with_backoff_into_a_crash_loop() {
    let dir = scratch("crash");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "crashy");
    backend
        .apply(&Deployment::new(
            workload.clone(),
            "rev-1",
            spec("sh -c 'echo starting; exit 3'"),
            1,
        ))
        .await
        .unwrap();
    let status = wait_for(&backend, &workload, |s| s.replicas[0].restarts >= 4).await;
    let replica = &status.replicas[0];
    assert!(
        matches!(replica.phase, ReplicaPhase::CrashLoop | ReplicaPhase::Starting),
        "{replica:?}"
    );
    assert!(
        replica.last_error.as_deref().unwrap().contains("exit status: 3"),
        "{replica:?}"
    );
    let logged = backend.logs(&workload, "rev-1", 0, 1 << 16).unwrap();
    assert!(logged.matches("starting").count() >= 4, "{logged}");
    backend.delete(&workload, None).await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn stopping_terms_the_group_then_kills_what_ignores_it() {
    let dir = scratch("stop");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "stubborn");
    let pid_file = dir.join("pids");
    // The shell ignores SIGTERM and leaves a grandchild behind: both must go.
    let stubborn = spec(&format!(
        "sh -c 'trap \"\" TERM; echo $$ >> {pids}; sleep 600 & echo $! >> {pids}; exec python3 -m http.server $PORT --bind 127.0.0.1'",
        pids = pid_file.display()
    ));
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", stubborn, 1))
        .await
        .unwrap();
    wait_for(&backend, &workload, |s| s.ready == 1).await;
    let started = pids(&pid_file);
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(started.iter().all(|&p| alive(p)));
    backend.delete(&workload, None).await.unwrap();
    wait_gone(&started).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn dropping_the_backend_leaves_no_process_behind() {
    let dir = scratch("drop");
    let pid_file = dir.join("pids");
    let workload = WorkloadKey::new("team", "orphan");
    {
        let backend = LocalBackend::new(config(&dir));
        let child = spec(&format!(
            "sh -c 'echo $$ >> {pids}; sleep 600 & echo $! >> {pids}; exec python3 -m http.server $PORT --bind 127.0.0.1'",
            pids = pid_file.display()
        ));
        backend
            .apply(&Deployment::new(workload.clone(), "rev-1", child, 1))
            .await
            .unwrap();
        wait_for(&backend, &workload, |s| s.ready == 1).await;
    }
    let started = pids(&pid_file);
    assert_eq!(started.len(), 2, "{started:?}");
    wait_gone(&started).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn scaling_adds_and_removes_replicas() {
    let dir = scratch("scale");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "scaled");
    let server = spec("python3 -m http.server $(PORT) --bind 127.0.0.1");
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", server.clone(), 1))
        .await
        .unwrap();
    wait_for(&backend, &workload, |s| s.ready == 1).await;
    backend.scale(&workload, "rev-1", 3).await.unwrap();
    let status = wait_for(&backend, &workload, |s| s.ready == 3).await;
    assert_eq!(status.desired, 3);
    backend.scale(&workload, "rev-1", 1).await.unwrap();
    let status = wait_for(&backend, &workload, |s| s.desired == 1).await;
    assert_eq!(status.replicas[0].index, 0);
    // Applying the same spec again changes nothing.
    let before = status.endpoints.clone();
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", server, 1))
        .await
        .unwrap();
    assert_eq!(
        wait_for(&backend, &workload, |s| s.ready == 1).await.endpoints,
        before
    );
    let unknown = backend.scale(&workload, "rev-9", 1).await.unwrap_err();
    assert!(
        matches!(unknown, BackendError::UnknownRevision { .. }),
        "{unknown}"
    );
    backend.delete(&workload, None).await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

/// A leader-and-workers spec: every member appends `role index start-time pid` to `order`.
fn group_spec(
    order: &Path,
    workers: i32,
    startup: runai_core::distributed::StartupPolicy,
) -> runai_core::DistributedInferenceSpec {
    use runai_core::distributed::LeaderWorkerSpec;
    let record = |role: &str| {
        format!(
            "echo {role} $LWS_WORKER_INDEX $LWS_GROUP_SIZE $LWS_LEADER_ADDRESS $(date +%s%N) $$ >> {}",
            order.display()
        )
    };
    runai_core::DistributedInferenceSpec {
        workers: Some(workers),
        startup_policy: Some(startup),
        leader: Some(LeaderWorkerSpec {
            // Ready only after a second, so that LeaderReady visibly holds the workers back.
            command: Some(format!(
                "sh -c '{}; sleep 1; exec python3 -m http.server $PORT --bind 127.0.0.1'",
                record("leader")
            )),
            ..LeaderWorkerSpec::default()
        }),
        worker: Some(LeaderWorkerSpec {
            command: Some(format!("sh -c '{}; exec sleep 600'", record("worker"))),
            ..LeaderWorkerSpec::default()
        }),
        ..runai_core::DistributedInferenceSpec::default()
    }
}

/// The lines of `order`: (role, worker index, group size, leader address, start ns, pid).
fn members(order: &Path) -> Vec<(String, u32, u32, String, u128, i32)> {
    std::fs::read_to_string(order)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (
                f[0].to_owned(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].to_owned(),
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_group_starts_its_leader_first_with_the_leaderworkerset_environment() {
    let dir = scratch("group");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "big-model");
    let order = dir.join("order");
    let spec = group_spec(&order, 2, runai_core::distributed::StartupPolicy::LeaderReady);
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", spec, 1))
        .await
        .unwrap();
    wait_for(&backend, &workload, |s| s.ready == 1).await;
    let mut started = Vec::new();
    for _ in 0..100 {
        started = members(&order);
        if started.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(started.len(), 3, "{started:?}");
    let leader = &started[0];
    assert_eq!(
        (leader.0.as_str(), leader.1, leader.2, leader.3.as_str()),
        ("leader", 0, 3, "127.0.0.1")
    );
    let mut indexes: Vec<u32> = started[1..].iter().map(|w| w.1).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, [1, 2]);
    for worker in &started[1..] {
        assert_eq!(
            (worker.0.as_str(), worker.2, worker.3.as_str()),
            ("worker", 3, "127.0.0.1")
        );
        // LeaderReady: no worker starts before the leader answered, a second after it began.
        assert!(worker.4 >= leader.4 + 1_000_000_000, "{started:?}");
    }
    // Worker output goes to its own log.
    let log = dir.join("logs/team/big-model/rev-1/replica-0-worker-1.log");
    assert!(log.exists(), "{}", log.display());
    backend.delete(&workload, None).await.unwrap();
    wait_gone(&started.iter().map(|m| m.5).collect::<Vec<_>>()).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_member_dying_restarts_the_whole_group() {
    let dir = scratch("regroup");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "big-model");
    let order = dir.join("order");
    let spec = group_spec(&order, 1, runai_core::distributed::StartupPolicy::LeaderCreated);
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", spec, 1))
        .await
        .unwrap();
    wait_for(&backend, &workload, |s| s.ready == 1).await;
    let first = members(&order);
    assert_eq!(first.len(), 2, "{first:?}");
    let worker = first.iter().find(|m| m.0 == "worker").unwrap().5;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let status = wait_for(&backend, &workload, |s| {
        s.replicas[0].restarts == 1 && s.ready == 1
    })
    .await;
    assert!(status.last_error.unwrap().contains("worker 1 exited"));
    // The leader was replaced too, and the first generation is gone.
    wait_gone(&first.iter().map(|m| m.5).collect::<Vec<_>>()).await;
    let mut all = Vec::new();
    for _ in 0..100 {
        all = members(&order);
        if all.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(all.iter().filter(|m| m.0 == "leader").count(), 2, "{all:?}");
    backend.delete(&workload, None).await.unwrap();
    wait_gone(&all.iter().map(|m| m.5).collect::<Vec<_>>()).await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// Only run as the child of `killing_the_backend_leaves_no_process_behind`: hosts a backend
/// with one replica (which leaves a grandchild too), says so, and waits to be killed.
#[tokio::test]
#[ignore = "run as a child process by killing_the_backend_leaves_no_process_behind"]
async fn hosts_a_backend_until_killed() {
    let Some(dir) = std::env::var_os("RUNAI_TEST_HOST_DIR").map(PathBuf::from) else {
        return;
    };
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "hosted");
    let child = spec(&format!(
        "sh -c 'echo $$ >> {pids}; sleep 600 & echo $! >> {pids}; exec python3 -m http.server $PORT --bind 127.0.0.1'",
        pids = dir.join("pids").display()
    ));
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", child, 1))
        .await
        .unwrap();
    wait_for(&backend, &workload, |s| s.ready == 1).await;
    std::fs::write(dir.join("ready"), "").unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[tokio::test]
async fn killing_the_backend_leaves_no_process_behind() {
    let dir = scratch("killed");
    let mut host = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hosts_a_backend_until_killed",
            "--ignored",
            "--nocapture",
        ])
        .env("RUNAI_TEST_HOST_DIR", &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if dir.join("ready").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        dir.join("ready").exists(),
        "the hosting process never got its replica ready"
    );
    let started = pids(&dir.join("pids"));
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(started.iter().all(|&p| alive(p)));
    // No drop, no cleanup: the backend's process dies at once.
    host.kill().unwrap();
    host.wait().unwrap();
    wait_gone(&started).await;
    std::fs::remove_dir_all(dir).unwrap();
}
