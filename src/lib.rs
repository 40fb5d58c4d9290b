//! facade
pub use runai_core as core;
