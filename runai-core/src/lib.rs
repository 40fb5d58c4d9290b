//! Typed models of the NVIDIA Run:ai inference API, with validation that names every
//! mistake, and the cluster model that the scheduler and backends share.
//!
//! - Wire-exact request and response types: [`InferenceCreationRequest`],
//!   [`DistributedInferenceCreationRequest`], [`NimServiceCreateRequest`], tokens
//!   ([`token`]), the workload status view ([`Workload`]), revisions, metrics, lists
//!   ([`list`]) and errors ([`ApiError`]).
//! - Two parsing modes ([`parse`]): strict for what users submit (unknown fields are errors
//!   with a did-you-mean suggestion), lenient for what servers answer.
//! - [`Validate`]: every rule checked, every violation reported with its JSON path.
//! - Defaults applied only when asked ([`InferenceSpec::with_defaults`]).
//! - The cluster model ([`cluster`]): nodes, topology, node pools, quotas, priorities.
//! - Behind the `kube` feature, the `InferenceWorkload` custom resource ([`crd`]).
//!
//! No I/O, no async: these types can sit inside any controller, client or tool.
//!
//! ```
//! use runai_core::{parse, InferenceCreationRequest, Validate};
//!
//! let request: InferenceCreationRequest = parse::strict(r#"{
//!     "name": "llama-3-8b",
//!     "projectId": "1",
//!     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
//!     "spec": {
//!         "image": "vllm/vllm-openai:v0.11.0",
//!         "servingPort": {"container": 8000},
//!         "autoscaling": {"minReplicas": 3, "maxReplicas": 2}
//!     }
//! }"#)?;
//! let errors = request.validate().unwrap_err();
//! assert_eq!(errors.violations()[0].path, "spec.autoscaling.maxReplicas");
//! assert_eq!(errors.violations()[0].message, "must be >= minReplicas (3), got 2");
//! # Ok::<(), runai_core::ParseError>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

mod api_error;
pub mod cluster;
pub mod distributed;
mod error;
mod ids;
mod inference;
pub mod list;
mod metrics;
pub mod nim;
pub mod org;
pub mod parse;
mod quantity;
mod revision;
pub mod spec;
pub mod token;
mod validate;
mod workload;

#[cfg(feature = "kube")]
#[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
pub mod crd;

pub use api_error::{ApiError, HttpResponse};
pub use distributed::{
    DistributedInference, DistributedInferenceCreationRequest, DistributedInferenceSpec,
    DistributedInferenceUpdateRequest, DistributedInferenceUpdateSpec,
};
pub use error::{ParseError, Result, UnknownField, ValidationErrors, Violation};
pub use ids::{ClusterId, DepartmentId, ProjectId, WorkloadId};
pub use inference::{
    Inference, InferenceCreationRequest, InferenceSpec, InferenceUpdateRequest, InferenceUpdateSpec,
};
pub use metrics::{
    InferenceMetricType, Measurement, MetricValue, MetricsQuery, MetricsResponse, WorkloadMetricType,
};
pub use nim::{
    NimServiceCreateRequest, NimServiceMetadata, NimServiceResponse, NimServiceSpec, NimServiceUpdateRequest,
};
pub use org::{
    AccessKey, AccessKeyCreationRequest, AccessKeyList, AccessKeyPostResponse, ClusterList, DisplayedCluster,
    NodePoolList, ProjectList, ServiceAccount, ServiceAccountCreationRequest, ServiceAccountList,
    ServiceAccountPostResponse,
};
pub use quantity::Quantity;
pub use revision::{Revision, RevisionList};
pub use validate::Validate;
pub use workload::{
    ActionsSupport, AllocatedResources, ChildId, Condition, Connection, Datasource, DesiredPhase,
    Environment, Phase, PhaseReason, RequestedPods, RequestedResources, ResourceCores, ResourceQuantity,
    Workload, WorkloadExtendedResource, WorkloadList, WorkloadMeta, WorkloadResponse, WorkloadSource,
    WorkloadTopology,
};
