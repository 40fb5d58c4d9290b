//! KAI queues of departments and projects: every rendered `Queue` matches KAI's v0.13 CRD
//! schema (closed objects), with the quotas in KAI's units, the naming rule enforced, and a
//! reviewed snapshot per scenario.
#![cfg(feature = "kube")]

use std::sync::LazyLock;

use runai_core::cluster::{Department, NodePoolQuota, Project, ResourceQuota};
use runai_serve::backend::kubernetes::queue::{
    self, NO_LIMIT, Queue, QueueError, department_queues, megabytes, project_queues, queue_name,
};
use serde_json::{Value, json};

mod support {
    pub(crate) mod schema;
}

static VALIDATOR: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| support::schema::crd_validator("scheduling.run.ai_queues.yaml"));

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn research() -> Department {
    let mut h100 = NodePoolQuota::new("h100").with_gpus(ResourceQuota::deserved(16.0).with_limit(24.0));
    h100.cpu_millicores = ResourceQuota::deserved(256_000.0);
    h100.memory_bytes = ResourceQuota::deserved(2048.0 * GIB).with_limit(3072.0 * GIB);
    h100.priority = 120;
    Department::new("2", "research")
        .with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(4.0)))
        .with_quota(h100)
}

fn team_a() -> Project {
    let mut default = NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(1.5).with_weight(2.0));
    default.cpu_millicores = ResourceQuota::deserved(8000.0).with_limit(16_000.0);
    default.memory_bytes = ResourceQuota::deserved(24.0 * GIB);
    let mut h100 =
        NodePoolQuota::new("h100").with_gpus(ResourceQuota::deserved(8.0).with_limit(8.0).with_weight(0.0));
    h100.memory_bytes = ResourceQuota::deserved(1e12);
    Project::new("1", "team-a")
        .in_department("2")
        .with_quota(h100)
        .with_quota(default)
}

fn names(queues: &[Queue]) -> Vec<String> {
    queues
        .iter()
        .map(|q| q.metadata.name.clone().unwrap_or_default())
        .collect()
}

fn assert_valid(scenario: &str, queues: &[Queue]) -> Value {
    let objects = serde_json::to_value(queues).unwrap();
    for object in objects.as_array().unwrap() {
        let errors = support::schema::schema_errors(&VALIDATOR, object);
        assert!(errors.is_empty(), "{scenario}: {errors:#?}\n{object:#}");
        assert!(
            object["metadata"].get("namespace").is_none(),
            "{scenario}: queues are cluster-scoped"
        );
    }
    objects
}

#[test]
fn every_rendered_queue_matches_the_kai_schema() {
    let scenarios = [
        ("queues_department", department_queues(&research()).unwrap()),
        (
            "queues_project_in_department",
            project_queues(&team_a(), Some(&research())).unwrap(),
        ),
        (
            "queues_project_without_quotas",
            project_queues(&Project::new("7", "sandbox"), None).unwrap(),
        ),
    ];
    for (scenario, queues) in scenarios {
        let objects = assert_valid(scenario, &queues);
        insta::assert_json_snapshot!(scenario, objects);
    }
    // The validator is closed: misspelt fields fail.
    let mut object = serde_json::to_value(&department_queues(&research()).unwrap()[1]).unwrap();
    object["spec"]["resources"]["gpu"]["overQuotaWieght"] = json!(1);
    assert!(!support::schema::schema_errors(&VALIDATOR, &object).is_empty());
    let mut object = serde_json::to_value(&department_queues(&research()).unwrap()[1]).unwrap();
    object["spec"]["parent"] = json!("research");
    assert!(!support::schema::schema_errors(&VALIDATOR, &object).is_empty());
}

#[test]
fn a_department_is_the_parent_of_its_projects_queues_in_each_pool() {
    let departments = department_queues(&research()).unwrap();
    assert_eq!(names(&departments), ["research", "research.h100"]);
    assert!(departments.iter().all(|q| q.spec.parent_queue.is_none()));
    assert_eq!(departments[1].spec.priority, 120);
    assert_eq!(departments[1].spec.display_name, "research (h100)");

    let projects = project_queues(&team_a(), Some(&research())).unwrap();
    // The default pool first, whatever the order of the quotas.
    assert_eq!(names(&projects), ["team-a", "team-a.h100"]);
    let parents: Vec<_> = projects.iter().map(|q| q.spec.parent_queue.as_deref()).collect();
    assert_eq!(parents, [Some("research"), Some("research.h100")]);
    assert_eq!(projects[0].spec.priority, 100, "KAI's default priority");
    let labels = projects[1].metadata.labels.as_ref().unwrap();
    assert_eq!(labels["run.ai/project"], "team-a");
    assert_eq!(labels["run.ai/node-pool"], "h100");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "runai");
}

#[test]
fn quotas_are_in_kai_units() {
    let projects = project_queues(&team_a(), Some(&research())).unwrap();
    let default = &projects[0].spec.resources;
    // GPUs in devices, fractions kept.
    assert_eq!(default.gpu.quota, 1.5);
    assert_eq!(default.gpu.over_quota_weight, 2.0);
    // CPU in millicores, as Run:ai keeps it.
    assert_eq!((default.cpu.quota, default.cpu.limit), (8000.0, 16_000.0));
    // Memory in MB of 10^6 bytes, rounded up: 24 GiB = 25,769,803,776 bytes.
    assert_eq!(default.memory.quota, 25770.0);
    let h100 = &projects[1].spec.resources;
    assert_eq!(h100.memory.quota, 1_000_000.0, "1 TB is exactly 10^6 MB");
    assert_eq!((h100.gpu.quota, h100.gpu.limit), (8.0, 8.0));
    assert_eq!(h100.gpu.over_quota_weight, 0.0, "no over-quota resources");
    let departments = department_queues(&research()).unwrap();
    let memory = departments[1].spec.resources.memory;
    assert_eq!((memory.quota, memory.limit), (2_199_024.0, 3_298_535.0));

    assert_eq!(megabytes(24.0 * GIB), 25770.0);
    assert_eq!(megabytes(999_999.0), 1.0);
    assert_eq!(megabytes(1_000_001.0), 2.0);
    assert_eq!(megabytes(7e9), 7000.0);
    assert_eq!(megabytes(0.0), 0.0);
}

#[test]
fn unset_limits_are_no_limit_and_missing_pools_deserve_nothing() {
    let queues = project_queues(&Project::new("7", "sandbox"), None).unwrap();
    assert_eq!(names(&queues), ["sandbox"]);
    let resources = &queues[0].spec.resources;
    for resource in [resources.gpu, resources.cpu, resources.memory] {
        assert_eq!(resource.quota, 0.0);
        assert_eq!(resource.over_quota_weight, 1.0);
        assert_eq!(resource.limit, NO_LIMIT);
    }
    let object = serde_json::to_value(&queues[0]).unwrap();
    assert_eq!(object["spec"]["resources"]["gpu"]["limit"], json!(-1.0));
    assert!(object["spec"].get("parentQueue").is_none());
    // A limit of 0 is "nothing beyond the quota", not "no limit".
    let capped = Project::new("8", "capped")
        .with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(0.0).with_limit(0.0)));
    assert_eq!(
        project_queues(&capped, None).unwrap()[0].spec.resources.gpu.limit,
        0.0
    );
}

#[test]
fn queue_names_are_unambiguous_valid_kubernetes_names() {
    assert_eq!(queue_name("team-a", queue::DEFAULT_NODE_POOL).unwrap(), "team-a");
    assert_eq!(queue_name("team-a", "h100").unwrap(), "team-a.h100");
    // With `-` these two would collide as `team-a-h100`.
    assert_ne!(
        queue_name("team-a", "h100").unwrap(),
        queue_name("team-a-h100", "default").unwrap()
    );
    for (name, pool, field) in [
        ("Team-A", "default", "name"),
        ("team_a", "default", "name"),
        ("-team", "default", "name"),
        ("", "default", "name"),
        ("team-a", "h100.x", "nodePool"),
        ("team-a", "H100", "nodePool"),
        ("team-a", "", "nodePool"),
    ] {
        let error = queue_name(name, pool).unwrap_err();
        let QueueError::Invalid { field: got, .. } = &error else {
            unreachable!()
        };
        assert_eq!(got, field, "{name} / {pool}: {error}");
    }
    let long = "a".repeat(40);
    let error = queue_name(&long, &"b".repeat(30)).unwrap_err();
    assert!(error.to_string().contains("63"), "{error}");
    assert!(queue_name(&long, "default").is_ok());
}

#[test]
fn inconsistent_projects_and_departments_are_refused() {
    let error_field = |result: Result<Vec<Queue>, QueueError>| match result.unwrap_err() {
        QueueError::Invalid { field, reason, .. } => (field, reason),
        other => panic!("{other}"),
    };
    // The project's department must be the one given.
    let other = Department::new("3", "ops").with_quota(NodePoolQuota::new("h100"));
    let (field, reason) = error_field(project_queues(&team_a(), Some(&other)));
    assert_eq!(field, "departmentId");
    assert!(reason.contains("ops"), "{reason}");
    let (field, _) = error_field(project_queues(&team_a(), None));
    assert_eq!(field, "departmentId");
    let (field, _) = error_field(project_queues(&Project::new("7", "sandbox"), Some(&research())));
    assert_eq!(field, "departmentId");
    // A leaf needs its parent in every pool it has quotas in.
    let no_h100 = Department::new("2", "research");
    let (field, reason) = error_field(project_queues(&team_a(), Some(&no_h100)));
    assert_eq!(field, "quotas");
    assert!(reason.contains("h100"), "{reason}");
    // A queue cannot be its own parent.
    let same = Project::new("1", "research").in_department("2");
    let (field, _) = error_field(project_queues(&same, Some(&research())));
    assert_eq!(field, "name");
    // Run:ai's own rules come first, with the path of the first broken one.
    let mut bad = NodePoolQuota::new("default");
    bad.gpus = ResourceQuota::deserved(-1.0);
    bad.cpu_millicores = ResourceQuota::deserved(f64::NAN);
    let (field, reason) = error_field(project_queues(&Project::new("9", "bad").with_quota(bad), None));
    assert_eq!(field, "quotas[0].gpus.deserved");
    assert!(reason.contains("and 1 more"), "{reason}");
    let error = department_queues(&Department::new("4", "Research")).unwrap_err();
    assert!(
        error.to_string().starts_with("department Research: `name`"),
        "{error}"
    );
    let pool = Project::new("10", "team-b").with_quota(NodePoolQuota::new("H100"));
    let (field, _) = error_field(project_queues(&pool, None));
    assert_eq!(field, "nodePool");
}
