//! Trace simulators: replay a published workload against the engines and report the metrics
//! the papers report.
//!
//! - [`FgdProtocol`]: the FGD paper's placement protocol on the Alibaba GPU v2023 trace.
//! - [`simulate`]: LLM serving under an autoscaling policy on the Azure LLM 2023 traces.

mod azure;
mod fgd;
mod policies;
mod serving;
mod trace;

pub use azure::{LlmRequest, parse_azure_trace};
pub use fgd::{ARRIVAL_POINTS, FgdProtocol, PolicyReport, SeedRun};
pub use policies::{KpaFleet, StaticFleet};
pub use serving::{Observation, ScalingPolicy, SeriesPoint, ServerModel, SimConfig, SimReport, simulate};
pub use trace::{parse_nodes, parse_pods};
