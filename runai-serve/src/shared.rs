//! Small pieces the gateway and the model simulator both use.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The SplitMix64 output function: a well-mixed 64-bit value from any counter value, so a
/// shared atomic counter gives lock-free pseudo-random numbers.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The SplitMix64 counter step.
pub(crate) const SPLITMIX64_STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// An OpenAI-style error response: `{"error": {"message", "type", "param", "code"}}`.
pub(crate) fn openai_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, axum::Json(openai_error_body(kind, message))).into_response()
}

/// The body of [`openai_error`].
pub(crate) fn openai_error_body(kind: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}
