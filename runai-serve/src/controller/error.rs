//! What the controller and the leader elector can fail at.

use crate::backend::BackendError;

/// A reconcile or lease operation that failed.
///
/// A spec the platform refuses is not an error: it is written to the workload's status as
/// phase `Failed`. Errors are what a retry may fix (the API server refusing or timing out,
/// a lost race).
///
/// ```
/// use runai_serve::controller::ControllerError;
/// let error = ControllerError::MissingField { field: "metadata.namespace" };
/// assert_eq!(error.to_string(), "the object has no `metadata.namespace`");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControllerError {
    /// A call to the Kubernetes API failed.
    #[error("{action}: {source}")]
    Kubernetes {
        /// What was being done.
        action: String,
        /// The API's answer.
        #[source]
        source: Box<kube::Error>,
    },
    /// Applying, reading or deleting the workload's objects failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The object lacks a field every stored object has (a hand-made object, say).
    #[error("the object has no `{field}`")]
    MissingField {
        /// The field's path.
        field: &'static str,
    },
    /// The finalizer helper failed for a reason of its own.
    #[error("finalizer {finalizer}: {reason}")]
    Finalizer {
        /// The finalizer.
        finalizer: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A value could not be turned into JSON.
    #[error("encoding {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
    /// This process held the lease and no longer does (another took it, or it could not be
    /// renewed in time).
    #[error("lost the lease {lease}: {reason}")]
    LeadershipLost {
        /// The lease, `namespace/name`.
        lease: String,
        /// Why.
        reason: String,
    },
}

impl ControllerError {
    pub(crate) fn kubernetes(action: impl Into<String>, source: kube::Error) -> Self {
        Self::Kubernetes {
            action: action.into(),
            source: Box::new(source),
        }
    }

    /// A short, fixed name of the kind of error, for metric labels.
    ///
    /// ```
    /// use runai_serve::controller::ControllerError;
    /// assert_eq!(ControllerError::MissingField { field: "metadata.name" }.kind(), "missing_field");
    /// ```
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Kubernetes { .. } => "kubernetes",
            Self::Backend(_) => "backend",
            Self::MissingField { .. } => "missing_field",
            Self::Finalizer { .. } => "finalizer",
            Self::Encode { .. } => "encode",
            Self::LeadershipLost { .. } => "leadership_lost",
        }
    }
}

/// The HTTP status code of an API error, if the error is one.
pub(crate) fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
