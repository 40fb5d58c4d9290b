//! Revision names: a content hash of the spec.
//!
//! The name comes from the spec's content rather than from `metadata.generation` because
//! the name is what the serving kind keys its revisions by (a Knative `Revision` is named
//! `{workload}-{revision}`). With a content hash, applying the same spec twice, after a
//! controller restart or after an edit that is later undone, names the same revision, so
//! server-side apply is a no-op and no pods are replaced; a generation would name a new
//! revision for every edit, even one that changes nothing pods see. It also matches the
//! status field's meaning (`currentRevision`: a content hash of the spec).

use aws_lc_rs::digest::{SHA256, digest};
use runai_core::InferenceSpec;

/// Hex digits of the hash kept in the name: short enough that `{workload}-{revision}` stays
/// a DNS label for workload names up to 48 characters, long enough that two specs of one
/// workload never collide in practice (40 bits).
const HASH_DIGITS: usize = 10;

/// The revision name of `spec`: `rev-` and the first hex digits of the SHA-256 of its JSON
/// form. Equal specs get equal names, whatever process computes them.
///
/// ```
/// use runai_core::InferenceSpec;
/// use runai_serve::controller::revision_name;
/// let spec = InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000);
/// let name = revision_name(&spec);
/// assert!(name.starts_with("rev-") && name.len() == 14);
/// assert_eq!(name, revision_name(&spec.clone()));
/// assert_ne!(name, revision_name(&InferenceSpec::new("vllm/vllm-openai:v0.12.0", 8000)));
/// ```
#[must_use]
pub fn revision_name(spec: &InferenceSpec) -> String {
    // Struct fields serialize in declaration order and the spec holds no maps, so the JSON
    // form is canonical. Serializing plain data to a byte vector cannot fail; an empty
    // input would still give a stable (if shared) name.
    let json = serde_json::to_vec(spec).unwrap_or_default();
    let hash = digest(&SHA256, &json);
    let hex: String = hash.as_ref().iter().map(|byte| format!("{byte:02x}")).collect();
    format!("rev-{}", &hex[..HASH_DIGITS])
}
