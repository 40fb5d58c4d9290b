//! Run:ai phases from what each serving kind reports in its status.
#![cfg(feature = "kube")]

use runai_core::Phase;
use runai_serve::backend::kubernetes::{ResourceInterface, status};
use serde_json::json;

#[test]
fn knative_revisions_map_ready_failed_and_deleting() {
    let failed = json!({
        "metadata": {"name": "llama-rev-3"},
        "status": {"desiredReplicas": 1, "actualReplicas": 0, "conditions": [
            {"type": "Ready", "status": "False", "reason": "ContainerMissing",
             "message": "Unable to fetch image \"vllm:nope\""}
        ]}
    });
    let status = status::knative_revision("llama", &failed);
    assert_eq!(
        (status.revision.as_str(), status.phase.clone()),
        ("rev-3", Phase::Failed)
    );
    assert_eq!(status.failed, 1);
    assert_eq!(
        status.last_error.as_deref(),
        Some("ContainerMissing: Unable to fetch image \"vllm:nope\"")
    );

    // Scaled to zero and ready: it serves (the activator wakes it).
    let idle = json!({
        "metadata": {"name": "llama-rev-1"},
        "status": {"desiredReplicas": 0, "actualReplicas": 0, "conditions": [{"type": "Ready", "status": "True"}]}
    });
    assert_eq!(status::knative_revision("llama", &idle).phase, Phase::Running);

    let mut going = idle;
    going["metadata"]["deletionTimestamp"] = json!("2026-11-26T10:00:00Z");
    assert_eq!(status::knative_revision("llama", &going).phase, Phase::Deleting);

    // Created, not reconciled yet.
    let fresh = json!({"metadata": {"name": "llama-rev-4"}});
    assert_eq!(status::knative_revision("llama", &fresh).phase, Phase::Creating);
}

#[test]
fn leader_worker_sets_count_groups() {
    let starting = json!({
        "metadata": {"labels": {"run.ai/revision": "rev-1"}},
        "spec": {"replicas": 2},
        "status": {"replicas": 2, "readyReplicas": 0,
                   "conditions": [{"type": "Progressing", "status": "True", "reason": "GroupsProgressing"}]}
    });
    let status = status::leader_worker_set(&starting);
    assert_eq!(
        (status.phase.clone(), status.desired, status.starting),
        (Phase::Initializing, 2, 2)
    );
    let available = json!({
        "metadata": {"labels": {"run.ai/revision": "rev-1"}},
        "spec": {"replicas": 2},
        "status": {"replicas": 2, "readyReplicas": 2, "conditions": [{"type": "Available", "status": "True"}]}
    });
    assert_eq!(status::leader_worker_set(&available).phase, Phase::Running);
    let stopped = json!({"spec": {"replicas": 0}, "status": {"replicas": 0, "readyReplicas": 0}});
    assert_eq!(status::leader_worker_set(&stopped).phase, Phase::Stopped);
}

#[test]
fn inference_services_and_nim_services_map_their_readiness() {
    let ready = json!({
        "metadata": {"labels": {"run.ai/revision": "rev-2"}},
        "spec": {"predictor": {"minReplicas": 2}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    });
    let status = status::inference_service(&ready);
    assert_eq!(
        (status.revision.as_str(), status.ready, status.phase.clone()),
        ("rev-2", 2, Phase::Running)
    );

    let pending = json!({"spec": {"replicas": 1}, "status": {"state": "Pending", "availableReplicas": 0}});
    assert_eq!(status::nim_service(&pending).phase, Phase::Pending);
    let not_ready = json!({"spec": {"replicas": 1}, "status": {"state": "NotReady"}});
    assert_eq!(status::nim_service(&not_ready).phase, Phase::Initializing);
    let failed = json!({
        "spec": {"scale": {"enabled": true, "hpa": {"minReplicas": 2, "maxReplicas": 4}}},
        "status": {"state": "Failed", "conditions": [
            {"type": "NIM_SERVICE_FAILED", "status": "True", "reason": "Failed", "message": "NGC_API_KEY is not valid"}
        ]}
    });
    let status = status::nim_service(&failed);
    assert_eq!((status.phase.clone(), status.desired), (Phase::Failed, 2));
    assert_eq!(
        status.last_error.as_deref(),
        Some("Failed: NGC_API_KEY is not valid")
    );
}

#[test]
fn described_kinds_read_their_pointers() {
    let interface = ResourceInterface::from_yaml(
        "apiVersion: example.com/v1alpha1\nkind: ModelServer\nplural: modelservers\n\
         podTemplate: /spec/server/template\nreplicas: /spec/server/count\nreadyReplicas: /status/server/ready\n",
    )
    .unwrap();
    let object = json!({
        "metadata": {"labels": {"run.ai/revision": "rev-5"}},
        "spec": {"server": {"count": 2}},
        "status": {"server": {"ready": 1}}
    });
    let status = status::described(&interface, &object);
    assert_eq!(
        (
            status.revision.as_str(),
            status.desired,
            status.ready,
            status.phase.clone()
        ),
        ("rev-5", 2, 1, Phase::Degraded)
    );
}

#[test]
fn bad_descriptions_name_the_field() {
    let cases = [
        (
            "apiVersion: a/b/c\nkind: K\nplural: ks\npodTemplate: /t\nreplicas: /r\n",
            "apiVersion",
        ),
        (
            "apiVersion: v1\nkind: K\nplural: Ks\npodTemplate: /t\nreplicas: /r\n",
            "plural",
        ),
        (
            "apiVersion: v1\nkind: K\nplural: ks\npodTemplate: spec.template\nreplicas: /r\n",
            "podTemplate",
        ),
        (
            "apiVersion: v1\nkind: K\nplural: ks\npodTemplate: /t\nreplicas: /r\nskeleton: 3\n",
            "skeleton",
        ),
        (
            "apiVersion: v1\nkind: K\nplural: ks\npodTemplate: /t\nreplica: /r\n",
            "replica",
        ),
    ];
    for (text, field) in cases {
        let error = ResourceInterface::from_yaml(text).unwrap_err().to_string();
        assert!(error.contains(field), "{field}: {error}");
    }
}
