//! The crate's error type.

/// Why the engine refused an operation.
///
/// ```
/// use runai_sched::SchedError;
/// let err = SchedError::DoesNotFit { node: "dgx-01".into() };
/// assert_eq!(err.to_string(), "the pod does not fit on node `dgx-01` with the devices given");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchedError {
    /// A node index outside the cluster.
    #[error("no node with index {0}; use an index from ClusterState::nodes")]
    UnknownNode(u32),
    /// The node lacks CPU, memory, a matching GPU model or room on the named devices.
    #[error("the pod does not fit on node `{node}` with the devices given")]
    DoesNotFit {
        /// The node's name.
        node: String,
    },
    /// A scoring policy name that is not known.
    #[error("unknown policy `{name}`; use one of {known}")]
    UnknownPolicy {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A trace file that cannot be read.
    #[error("trace line {line}: {message}")]
    Trace {
        /// 1-based line number.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
}
