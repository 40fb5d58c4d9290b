//! Trace simulators: replay a published workload against the engine and report the metrics
//! the papers report.

mod fgd;
mod trace;

pub use fgd::{ARRIVAL_POINTS, FgdProtocol, PolicyReport, SeedRun};
pub use trace::{parse_nodes, parse_pods};
