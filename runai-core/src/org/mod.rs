//! The organisation around workloads, as the control plane serves it: service accounts and
//! access keys (the credentials a client authenticates with), clusters, node pools and
//! projects.
//!
//! These are wire models of responses and create requests, field for field as the public
//! OpenAPI document defines them. The scheduler's own model of clusters, node pools and
//! projects is [`crate::cluster`].
//!
//! | call | request | answer |
//! | --- | --- | --- |
//! | `POST /api/v1/service-accounts` | [`ServiceAccountCreationRequest`] | `201` [`ServiceAccountPostResponse`] |
//! | `GET /api/v1/service-accounts` | | [`ServiceAccountList`] |
//! | `DELETE /api/v1/service-accounts/{serviceAccountId}` | | `204`, no body |
//! | `POST /api/v1/access-keys` | [`AccessKeyCreationRequest`] | `201` [`AccessKeyPostResponse`] |
//! | `GET /api/v1/access-keys` | | [`AccessKeyList`] |
//! | `DELETE /api/v1/access-keys/{accessKeyId}` | | `204`, no body |
//! | `GET /api/v1/clusters` | | [`ClusterList`] |
//! | `GET /api/v1/node-pools` | | [`NodePoolList`] |
//! | `GET /api/v1/org-unit/projects` | | [`ProjectList`] |
//!
//! ```
//! use runai_core::{parse, ServiceAccountCreationRequest, ServiceAccountPostResponse, Validate};
//! let request = ServiceAccountCreationRequest::new("ci-deployer");
//! request.validate()?;
//! let created: ServiceAccountPostResponse = parse::lenient(r#"{"id": "e9c1f3a2",
//!     "name": "ci-deployer", "clientId": "ci-deployer", "clientSecret": "s3cr3t"}"#)?;
//! assert_eq!(created.client_id.as_deref(), Some("ci-deployer"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod clusters;
mod credentials;
mod node_pools;
mod projects;

pub use clusters::{
    ClusterCondition, ClusterConfig, ClusterDependencies, ClusterDependencyStatus, ClusterList,
    ClusterPlatform, ClusterPlatformType, ClusterState, ClusterStatus, DisplayedCluster, OperandStatus,
};
pub use credentials::{
    AccessKey, AccessKeyCreationRequest, AccessKeyId, AccessKeyList, AccessKeyPostResponse, ServiceAccount,
    ServiceAccountCreationRequest, ServiceAccountId, ServiceAccountList, ServiceAccountPostResponse,
};
pub use node_pools::{
    GpuNetworkAccelerationDetection, GpuResourceOptimization, NodePool, NodePoolCondition, NodePoolList,
    NodePoolPhase, NodePoolStatus, PlacementPerResource, SchedulingConfiguration,
};
pub use projects::{
    GpuQuota, MemoryQuota, MemoryUnits, NodePoolQuotaStatus, NodePoolRef, NodePoolResources,
    NodeTypesPerWorkload, OrgUnitParent, OvertimeData, OvertimeRangeData, Project, ProjectEffective,
    ProjectList, ProjectPhase, ProjectStatus, QuotaStatus, QuotaStatusResource, ResourceQuota,
    SchedulingRules, TotalResources,
};
