//! Python bindings for runai: the Run:ai-compatible client, the workload models with their
//! validation, and the scheduling and autoscaling simulators.
//!
//! The Python package is built with maturin (`pip install ./runai-py`) and imported as
//! `runai`; see `docs/python.md`. This crate has two layers:
//!
//! - a Python-free one, always compiled and tested with `cargo test`: [`models`] (strict
//!   parsing and validation by kind, results as JSON values), [`sim`] (the FGD placement
//!   benchmark and the autoscaling trace replay, results as JSON values with per-step
//!   series) and [`Error`];
//! - the extension module `runai._runai`, behind the `python` feature: the blocking and the
//!   asyncio client over `runai-client`, one shared tokio runtime, and the exceptions.
//!
//! ```
//! let spec = runai_py::models::validate(
//!     "inference_spec",
//!     serde_json::json!({"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000}}),
//! )?;
//! assert_eq!(spec["servingPort"]["container"], 8000);
//! # Ok::<(), runai_py::Error>(())
//! ```

mod error;
pub mod models;
pub mod sim;

#[cfg(feature = "python")]
mod python;

pub use error::Error;
