//! Failures as the exceptions of `runai.errors` (defined in Python, so that they can have two
//! bases, such as `runai.TimeoutError` and the builtin `TimeoutError`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Anything a call can fail with, before it becomes an exception.
#[derive(Debug)]
pub(crate) enum Failure {
    /// From the client.
    Client(runai_client::Error),
    /// From the models or the simulators.
    Local(crate::Error),
    /// Already a Python exception.
    Python(PyErr),
}

impl From<runai_client::Error> for Failure {
    fn from(error: runai_client::Error) -> Self {
        Self::Client(error)
    }
}

impl From<crate::Error> for Failure {
    fn from(error: crate::Error) -> Self {
        Self::Local(error)
    }
}

impl From<PyErr> for Failure {
    fn from(error: PyErr) -> Self {
        Self::Python(error)
    }
}

impl Failure {
    /// An argument that cannot be used.
    pub(crate) fn argument(name: &'static str, reason: String) -> Self {
        Self::Local(crate::Error::Argument { name, reason })
    }

    /// The exception to raise.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Self::Python(error) => error,
            Self::Client(error) => client_exception(py, &error),
            Self::Local(error) => local_exception(py, &error),
        }
    }

    /// The exception to raise, from a thread that does not hold the GIL.
    pub(crate) fn into_pyerr_attached(self) -> PyErr {
        Python::attach(|py| self.into_pyerr(py))
    }
}

fn client_exception(py: Python<'_>, error: &runai_client::Error) -> PyErr {
    use runai_client::Error;
    let text = error.to_string();
    let result = match error {
        Error::Api {
            status,
            code,
            message,
            details,
        } => exception(py, "ApiError", &text, |k| {
            k.set_item("status", status)?;
            k.set_item("code", code)?;
            k.set_item("message", message)?;
            k.set_item("details", details)
        }),
        Error::Auth(_) => exception(py, "AuthError", &text, |_| Ok(())),
        Error::Transport { action, .. } => {
            exception(py, "TransportError", &text, |k| k.set_item("action", action))
        }
        Error::Timeout { action, after } => exception(py, "TimeoutError", &text, |k| {
            k.set_item("action", action)?;
            k.set_item("after", after.as_secs_f64())
        }),
        Error::Decode { what, .. } => exception(py, "DecodeError", &text, |k| k.set_item("what", what)),
        Error::WorkloadFailed {
            workload,
            phase,
            message,
        } => exception(py, "WorkloadFailedError", &text, |k| {
            k.set_item("workload", workload)?;
            k.set_item("phase", phase.as_str())?;
            k.set_item("reason", message)
        }),
        Error::Config { field, .. } => exception(py, "ConfigError", &text, |k| k.set_item("field", field)),
        _ => exception(py, "RunaiError", &text, |_| Ok(())),
    };
    result.unwrap_or_else(|e| e)
}

fn local_exception(py: Python<'_>, error: &crate::Error) -> PyErr {
    use crate::Error;
    let text = error.to_string();
    let result = match error {
        Error::Invalid { .. } => exception(py, "ValidationError", &text, |k| {
            k.set_item("errors", error.violations())
        }),
        Error::UnknownKind { .. } => exception(py, "ConfigError", &text, |k| k.set_item("field", "kind")),
        Error::Argument { name, .. } => exception(py, "ConfigError", &text, |k| k.set_item("field", name)),
        Error::Sched { what, .. } => exception(py, "ConfigError", &text, |k| k.set_item("field", what)),
    };
    result.unwrap_or_else(|e| e)
}

/// An instance of `runai.errors.<class>(message, **attributes)`; the error of building it
/// when that fails.
fn exception(
    py: Python<'_>,
    class: &str,
    message: &str,
    attributes: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>,
) -> Result<PyErr, PyErr> {
    let class = py.import("runai.errors")?.getattr(class)?;
    let keywords = PyDict::new(py);
    attributes(&keywords)?;
    let instance = class.call((message,), Some(&keywords))?;
    Ok(PyErr::from_value(instance))
}
