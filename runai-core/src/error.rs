//! The crate's error types: parsing errors and validation errors.
//!
//! Every message names the JSON path of the offending field, so a user can find it in the
//! document they submitted.

use std::fmt;

/// A convenient alias for results whose error is this crate's [`ParseError`].
///
/// ```
/// fn image(json: &str) -> runai_core::Result<Option<String>> {
///     Ok(runai_core::parse::lenient::<runai_core::InferenceSpec>(json)?.image)
/// }
/// assert_eq!(image(r#"{"image": "x"}"#).unwrap().as_deref(), Some("x"));
/// ```
pub type Result<T, E = ParseError> = std::result::Result<T, E>;

/// Why a JSON document could not be turned into a typed model.
///
/// ```
/// use runai_core::{parse, InferenceSpec, ParseError};
/// let err = parse::strict::<InferenceSpec>(r#"{"imag": "vllm/vllm-openai"}"#).unwrap_err();
/// assert!(matches!(err, ParseError::UnknownFields(_)));
/// assert_eq!(err.to_string(), "unknown field `imag`; did you mean `image`?");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input is not well-formed JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser expected.
        message: String,
    },
    /// Strict parsing found fields the model does not define (one entry per field).
    #[error("{}", UnknownFieldList(.0))]
    UnknownFields(Vec<UnknownField>),
    /// A field has the wrong type or an impossible value.
    #[error("{path}: {message}")]
    InvalidValue {
        /// JSON path of the field, for example `spec.autoscaling.minReplicas`.
        path: String,
        /// What was wrong, in the words of the decoder.
        message: String,
    },
}

/// A field that strict parsing does not accept.
///
/// ```
/// use runai_core::UnknownField;
/// let field = UnknownField::new("spec.autoscaling.minReplica", Some("minReplicas".into()));
/// assert_eq!(field.to_string(), "unknown field `spec.autoscaling.minReplica`; did you mean `minReplicas`?");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownField {
    /// JSON path of the unknown field, the field name last.
    pub path: String,
    /// The closest known field name at that place, when one is close.
    pub suggestion: Option<String>,
}

impl UnknownField {
    /// Makes an unknown-field report.
    #[must_use]
    pub fn new(path: impl Into<String>, suggestion: Option<String>) -> Self {
        Self {
            path: path.into(),
            suggestion,
        }
    }
}

impl fmt::Display for UnknownField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown field `{}`", self.path)?;
        match &self.suggestion {
            Some(known) => write!(f, "; did you mean `{known}`?"),
            None => Ok(()),
        }
    }
}

struct UnknownFieldList<'a>(&'a [UnknownField]);

impl fmt::Display for UnknownFieldList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{field}")?;
        }
        Ok(())
    }
}

/// One rule a document breaks: where, and what to do about it.
///
/// ```
/// use runai_core::Violation;
/// let v = Violation::new("spec.autoscaling.maxReplicas", "must be >= minReplicas (2)");
/// assert_eq!(v.to_string(), "spec.autoscaling.maxReplicas: must be >= minReplicas (2)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Violation {
    /// JSON path of the field, for example `spec.compute.gpuPortionRequest`.
    pub path: String,
    /// A sentence that says what is wrong and what is allowed.
    pub message: String,
}

impl Violation {
    /// Makes a violation at `path`.
    #[must_use]
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every rule a document breaks, reported together.
///
/// ```
/// use runai_core::{Validate, spec::AutoScaling};
/// let autoscaling = AutoScaling {
///     min_replicas: Some(3),
///     max_replicas: Some(2),
///     scale_down_delay_seconds: Some(7200),
///     ..Default::default()
/// };
/// let errors = autoscaling.validate().unwrap_err();
/// assert_eq!(errors.len(), 2);
/// assert!(errors.has_path("maxReplicas"));
/// assert!(errors.has_path("scaleDownDelaySeconds"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", ViolationList(&self.violations))]
pub struct ValidationErrors {
    violations: Vec<Violation>,
}

impl ValidationErrors {
    /// Wraps a non-empty list of violations.
    #[must_use]
    pub fn new(violations: Vec<Violation>) -> Self {
        Self { violations }
    }

    /// The violations, in document order.
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// How many rules are broken.
    #[must_use]
    pub fn len(&self) -> usize {
        self.violations.len()
    }

    /// Whether the list is empty (never true for an error returned by `validate`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether some violation sits at exactly `path`.
    #[must_use]
    pub fn has_path(&self, path: &str) -> bool {
        self.violations.iter().any(|v| v.path == path)
    }
}

impl IntoIterator for ValidationErrors {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.violations.into_iter()
    }
}

struct ViolationList<'a>(&'a [Violation]);

impl fmt::Display for ViolationList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, violation) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}
