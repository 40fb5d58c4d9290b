//! The organisation the platform describes, as the Run:ai API shows it: the one cluster, its
//! node pools and the projects with their GPU quotas (`GET /api/v1/clusters`,
//! `/api/v1/node-pools`, `/api/v1/org-unit/projects`). They come from the configuration and
//! are read-only here.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use runai_core::org::{ClusterList, NodePoolList, ProjectList};
use serde_json::{Value, json};

use super::{Answer, Refusal, Shared, caller, failure};

/// Typed, so every answer has every field the API requires.
fn typed<T: serde::de::DeserializeOwned>(what: &str, view: Value) -> Result<T, Refusal> {
    serde_json::from_value(view)
        .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{what}: {e}")))
}

pub(super) async fn clusters(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    caller(&shared, &headers).await?;
    let settings = &shared.settings;
    let list: ClusterList = typed(
        "clusters",
        // A bare array, as Run:ai answers it.
        json!([{
            "uuid": settings.cluster_id, "tenantId": settings.tenant_id, "name": settings.cluster_name,
            "createdAt": shared.started, "version": env!("CARGO_PKG_VERSION"),
        }]),
    )?;
    Ok(axum::Json(list).into_response())
}

/// The configured node pools, and `default` (every node no other pool selects).
fn pool_names(cluster: &runai_core::cluster::Cluster) -> Vec<(String, Option<String>, Option<String>)> {
    let mut pools = vec![("default".to_owned(), None, None)];
    for pool in &cluster.node_pools {
        if pool.name != "default" {
            pools.push((
                pool.name.clone(),
                pool.label_key.clone(),
                pool.label_value.clone(),
            ));
        }
    }
    pools
}

pub(super) async fn node_pools(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    caller(&shared, &headers).await?;
    let settings = &shared.settings;
    let cluster = &settings.cluster;
    let pools: Vec<Value> = pool_names(cluster)
        .into_iter()
        .enumerate()
        .map(|(i, (name, key, value))| {
            let nodes: Vec<&str> = cluster
                .nodes
                .iter()
                .filter(|n| cluster.node_pool_of(n) == name)
                .map(|n| n.name.as_str())
                .collect();
            let gpus: u32 = cluster
                .nodes
                .iter()
                .filter(|n| cluster.node_pool_of(n) == name)
                .map(|n| n.gpu_count)
                .sum();
            json!({
                "id": (i + 1).to_string(), "name": name, "isDefault": name == "default",
                "labelKey": key.unwrap_or_default(), "labelValue": value.unwrap_or_default(),
                "clusterId": settings.cluster_id, "clusterName": settings.cluster_name,
                "tenantId": settings.tenant_id, "phase": "Ready",
                "status": {"nodes": nodes, "totalGpus": gpus},
                "createdBy": "config", "createdAt": shared.started,
                "updatedBy": "config", "updatedAt": shared.started,
            })
        })
        .collect();
    let list: NodePoolList = typed("node pools", json!({ "nodepools": pools }))?;
    Ok(axum::Json(list).into_response())
}

pub(super) async fn projects(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    caller(&shared, &headers).await?;
    let settings = &shared.settings;
    let projects: Vec<Value> = settings
        .cluster
        .projects
        .iter()
        .map(|project| {
            let resources: Vec<Value> = project
                .quotas
                .iter()
                .map(|quota| {
                    json!({
                        "nodePool": {"id": quota.node_pool, "name": quota.node_pool},
                        "gpu": {
                            "deserved": quota.gpus.deserved,
                            "limit": quota.gpus.limit,
                            "overQuotaWeight": quota.gpus.over_quota_weight,
                        },
                    })
                })
                .collect();
            let total: f64 = project.quotas.iter().map(|q| q.gpus.deserved).sum();
            let parent = settings.cluster.department_of(project);
            json!({
                "id": project.id.as_str(), "name": project.name, "clusterId": settings.cluster_id,
                "parentId": parent.map_or("1", |d| d.id.as_str()), "description": "",
                "enforceRunaiScheduler": true, "resources": resources,
                "defaultNodePools": project.default_node_pools,
                "totalResources": {"gpuQuota": total}, "effective": {},
                "status": {"namespace": format!("runai-{}", project.name), "phase": "Ready"},
                "createdAt": shared.started, "updatedAt": shared.started,
            })
        })
        .collect();
    let list: ProjectList = typed("projects", json!({ "projects": projects }))?;
    Ok(axum::Json(list).into_response())
}
