//! The one error type of the Python-free layer: a model that breaks the rules, a trace that
//! cannot be read, or an argument out of range.

use runai_core::{ParseError, ValidationErrors, Violation};

/// What went wrong in [`crate::models`] or [`crate::sim`].
///
/// ```
/// let error = runai_py::models::validate("autoscaling", serde_json::json!({"minReplica": 1})).unwrap_err();
/// assert!(matches!(error, runai_py::Error::Invalid { .. }));
/// assert_eq!(error.to_string(), "minReplica: unknown field; did you mean `minReplicas`?");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document does not parse as the model, or breaks its rules: every violation, each
    /// with the JSON path of its field.
    #[error("{}", violation_lines(.violations))]
    Invalid {
        /// The violations, in document order.
        violations: Vec<Violation>,
    },
    /// No model has this name.
    #[error("unknown model kind `{kind}`; use one of {}", crate::models::KINDS.join(", "))]
    UnknownKind {
        /// The name given.
        kind: String,
    },
    /// A trace or a policy name was refused by the scheduler crate.
    #[error("{what}: {source}")]
    Sched {
        /// What was being read or run.
        what: String,
        /// The cause.
        #[source]
        source: runai_sched::SchedError,
    },
    /// An argument is out of range.
    #[error("`{name}`: {reason}")]
    Argument {
        /// The argument.
        name: &'static str,
        /// What is allowed.
        reason: String,
    },
}

impl Error {
    /// The violations of an [`Error::Invalid`] as `(path, message)` pairs; empty for the other
    /// kinds.
    ///
    /// ```
    /// let error = runai_py::models::validate("serving_port", serde_json::json!({"container": 70000})).unwrap_err();
    /// assert_eq!(error.violations()[0].0, "container");
    /// ```
    #[must_use]
    pub fn violations(&self) -> Vec<(String, String)> {
        match self {
            Self::Invalid { violations } => violations
                .iter()
                .map(|v| (v.path.clone(), v.message.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl From<ValidationErrors> for Error {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid {
            violations: errors.into_iter().collect(),
        }
    }
}

impl From<ParseError> for Error {
    /// A parse error as violations, so that a typo and a broken rule read alike.
    fn from(error: ParseError) -> Self {
        let violations = match error {
            ParseError::UnknownFields(fields) => fields
                .into_iter()
                .map(|field| {
                    let message = match &field.suggestion {
                        Some(known) => format!("unknown field; did you mean `{known}`?"),
                        None => "unknown field".to_owned(),
                    };
                    Violation::new(field.path, message)
                })
                .collect(),
            ParseError::InvalidValue { path, message } => vec![Violation::new(path, message)],
            other => vec![Violation::new("(document)", other.to_string())],
        };
        Self::Invalid { violations }
    }
}

fn violation_lines(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
