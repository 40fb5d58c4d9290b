//! The `LeaderWorkerSet` renderer and the KAI `PodGroup`s of its groups: specs render to
//! objects that the upstream LWS and KAI CRD schemas accept (closed objects), with the Run:ai
//! fields mapped as documented and a reviewed snapshot per spec.
#![cfg(feature = "kube")]

use std::sync::LazyLock;

use runai_core::DistributedInferenceSpec;
use runai_serve::backend::kubernetes::{GroupTopology, Placement, RenderError, RenderTarget, lws};
use runai_serve::gateway::WorkloadKey;
use serde_json::{Value, json};

mod support {
    pub(crate) mod schema;
}

static LWS: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| support::schema::crd_validator("leaderworkerset.x-k8s.io_leaderworkersets.yaml"));
static POD_GROUP: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| support::schema::crd_validator("scheduling.run.ai_podgroups.yaml"));

fn target() -> RenderTarget {
    RenderTarget::new(WorkloadKey::new("team-a", "llama-405b"), "rev-3")
}

fn spec(value: Value) -> DistributedInferenceSpec {
    serde_json::from_value(value).unwrap()
}

fn member(gpus: u32) -> Value {
    json!({
        "image": "vllm/vllm-openai:v0.11.0",
        "compute": {"gpuDevicesRequest": gpus, "cpuCoreRequest": 16, "cpuMemoryRequest": "256Gi"},
        "environmentVariables": [{"name": "HF_TOKEN", "secret": {"name": "hf", "key": "token"}}],
        "storage": {
            "pvc": [{"existingPvc": true, "claimName": "weights", "path": "/models", "readOnly": true}],
            "emptyDirVolume": [{"path": "/dev/shm", "medium": "Memory", "sizeLimit": "64Gi"}]
        }
    })
}

fn matrix() -> Vec<(&'static str, DistributedInferenceSpec, Placement)> {
    let mut leader = member(8);
    leader["command"] =
        json!("vllm serve /models/llama-405b --tensor-parallel-size 8 --pipeline-parallel-size 2");
    leader["probes"] =
        json!({"readiness": {"handler": {"httpGet": {"path": "/health"}}, "periodSeconds": 10}});
    let mut worker = member(8);
    worker["command"] = json!("ray start --block --address=$(LWS_LEADER_ADDRESS):6379");
    vec![
        (
            "lws_leader_only",
            spec(json!({
                "servingPort": {"port": 8000},
                "leader": {"image": "sglang/sglang:v0.5.3", "compute": {"gpuDevicesRequest": 8}}
            })),
            Placement::default(),
        ),
        (
            "lws_two_nodes_leader_ready",
            spec(json!({
                "workers": 1,
                "replicas": 2,
                "startupPolicy": "LeaderReady",
                "servingPort": {"port": 8000},
                "priorityClass": "high",
                "leader": leader,
                "worker": worker
            })),
            Placement::default(),
        ),
        (
            "lws_mnnvl_pool_restart_none",
            spec(json!({
                "workers": 3,
                "replicas": 1,
                "restartPolicy": "None",
                "preemptibility": "non-preemptible",
                "nodePools": ["gb200"],
                "servingPort": {"port": 30000},
                "leader": {
                    "image": "nvcr.io/nvidia/dynamo:0.6",
                    "compute": {"gpuDevicesRequest": 4},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "labels": [{"name": "model", "value": "deepseek-r1"}]
                },
                "worker": {
                    "image": "nvcr.io/nvidia/dynamo:0.6",
                    "compute": {"gpuDevicesRequest": 4},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
                }
            })),
            Placement {
                node_pool: Some("gb200".into()),
                topology: Some(GroupTopology::required("gb200-nvl72", "nvidia.com/gpu.clique")),
                ..Placement::default()
            },
        ),
    ]
}

#[test]
fn every_rendered_leader_worker_set_matches_the_lws_schema() {
    for (name, spec, placement) in matrix() {
        let set = lws::render(&target(), &spec, &placement).unwrap();
        let object = serde_json::to_value(&set).unwrap();
        let errors = support::schema::schema_errors(&LWS, &object);
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{object:#}");
        insta::assert_json_snapshot!(name, object);
    }
    // The validator is closed: a misspelt template field fails.
    let set = lws::render(&target(), &matrix()[1].1, &Placement::default()).unwrap();
    let mut object = serde_json::to_value(&set).unwrap();
    object["spec"]["leaderWorkerTemplate"]["sizes"] = json!(2);
    assert!(!support::schema::schema_errors(&LWS, &object).is_empty());
}

#[test]
fn every_group_forms_a_pod_group_the_kai_schema_accepts() {
    for (name, spec, placement) in matrix() {
        let groups = lws::pod_groups(&target(), &spec, &placement);
        assert_eq!(groups.len(), spec.replicas.unwrap_or(1) as usize, "{name}");
        for group in &groups {
            let object = serde_json::to_value(group).unwrap();
            let errors = support::schema::schema_errors(&POD_GROUP, &object);
            assert!(errors.is_empty(), "{name}: {errors:#?}\n{object:#}");
            assert_eq!(group.spec.min_member, Some(spec.group_size() as i32), "{name}");
            assert_eq!(group.spec.queue.as_deref(), Some("team-a"));
        }
    }
    let (_, spec, placement) = &matrix()[2];
    let groups = lws::pod_groups(&target(), spec, placement);
    insta::assert_json_snapshot!("lws_pod_group_mnnvl", groups);
    let mut object = serde_json::to_value(&groups[0]).unwrap();
    object["spec"]["minMembers"] = json!(4);
    assert!(!support::schema::schema_errors(&POD_GROUP, &object).is_empty());
}

#[test]
fn run_ai_fields_map_to_the_groups() {
    let (_, two_nodes, _) = &matrix()[1];
    let set = lws::render(&target(), two_nodes, &Placement::default()).unwrap();
    assert_eq!(set.spec.replicas, 2);
    assert_eq!(set.spec.startup_policy, "LeaderReady");
    let template = &set.spec.leader_worker_template;
    assert_eq!(template.size, 2);
    assert_eq!(template.restart_policy, "RecreateGroupOnPodRestart");
    let leader = template.leader_template.as_ref().unwrap();
    let leader_pod = leader.spec.as_ref().unwrap();
    let leader_container = &leader_pod.containers[0];
    assert_eq!(leader_container.ports.as_ref().unwrap()[0].container_port, 8000);
    assert!(leader_container.readiness_probe.is_some());
    assert_eq!(leader_pod.priority_class_name.as_deref(), Some("high"));
    assert_eq!(leader_pod.scheduler_name.as_deref(), Some("kai-scheduler"));
    let worker_pod = template.worker_template.spec.as_ref().unwrap();
    // Workers serve nothing: no port; they find the leader through LWS's environment.
    assert!(worker_pod.containers[0].ports.is_none());
    assert_eq!(
        worker_pod.containers[0].command.as_ref().unwrap()[3],
        "--address=$(LWS_LEADER_ADDRESS):6379"
    );
    let roles = |t: &k8s_openapi::api::core::v1::PodTemplateSpec| {
        t.metadata.as_ref().unwrap().labels.as_ref().unwrap()["run.ai/role"].clone()
    };
    assert_eq!(roles(leader), "leader");
    assert_eq!(roles(&template.worker_template), "worker");

    let (_, mnnvl, placement) = &matrix()[2];
    let set = lws::render(&target(), mnnvl, placement).unwrap();
    let annotations = set.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations["kai.scheduler/topology"], "gb200-nvl72");
    assert_eq!(
        annotations["kai.scheduler/topology-required-placement"],
        "nvidia.com/gpu.clique"
    );
    assert_eq!(
        set.metadata.labels.as_ref().unwrap()["kai.scheduler/preemptibility"],
        "non-preemptible"
    );
    assert_eq!(set.spec.leader_worker_template.restart_policy, "None");
    assert_eq!(set.spec.leader_worker_template.size, 4);
}

#[test]
fn a_group_of_one_is_its_leader() {
    let (_, leader_only, _) = &matrix()[0];
    let set = lws::render(&target(), leader_only, &Placement::default()).unwrap();
    let template = &set.spec.leader_worker_template;
    assert_eq!(template.size, 1);
    assert!(template.leader_template.is_none());
    let pod = template.worker_template.spec.as_ref().unwrap();
    assert_eq!(pod.containers[0].image.as_deref(), Some("sglang/sglang:v0.5.3"));
    assert_eq!(set.spec.replicas, 1);
    assert_eq!(set.spec.startup_policy, "LeaderCreated");
}

#[test]
fn specs_a_set_cannot_run_are_refused_with_the_field() {
    let no_leader = spec(json!({"servingPort": {"port": 8000}}));
    let error = lws::render(&target(), &no_leader, &Placement::default()).unwrap_err();
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.leader",
                ..
            }
        ),
        "{error}"
    );

    let no_worker = spec(json!({"workers": 2, "servingPort": {"port": 8000}, "leader": {"image": "x"}}));
    let error = lws::render(&target(), &no_worker, &Placement::default()).unwrap_err();
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.worker",
                ..
            }
        ),
        "{error}"
    );

    let imageless_worker = spec(json!({
        "workers": 1, "servingPort": {"port": 8000}, "leader": {"image": "x"}, "worker": {"command": "sleep 1"}
    }));
    let error = lws::render(&target(), &imageless_worker, &Placement::default()).unwrap_err();
    assert!(
        matches!(
            error,
            RenderError::Missing {
                field: "spec.worker.image",
                ..
            }
        ),
        "{error}"
    );

    let bad_quote = spec(json!({
        "servingPort": {"port": 8000}, "leader": {"image": "x", "args": "--name 'unterminated"}
    }));
    let error = lws::render(&target(), &bad_quote, &Placement::default()).unwrap_err();
    assert!(
        matches!(
            error,
            RenderError::Invalid {
                field: "spec.leader.args",
                ..
            }
        ),
        "{error}"
    );
}
