//! Which workload a request is for: by host (`{workload}-{project}.{domain}`) or by path
//! prefix (`/{project}/{workload}/...`).

use std::collections::HashMap;
use std::fmt;

/// A workload's address: its project and its name.
///
/// ```
/// use runai_serve::gateway::WorkloadKey;
/// let key = WorkloadKey::new("team-a", "llama-3-8b");
/// assert_eq!(key.to_string(), "team-a/llama-3-8b");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKey {
    /// The project (Run:ai project name).
    pub project: String,
    /// The workload name.
    pub workload: String,
}

impl WorkloadKey {
    /// The key of `workload` in `project`.
    pub fn new(project: impl Into<String>, workload: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            workload: workload.into(),
        }
    }
}

impl fmt::Display for WorkloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.project, self.workload)
    }
}

/// Where a request goes: the workload, and the path and query to send upstream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Routed<'a, T> {
    pub(crate) key: &'a WorkloadKey,
    pub(crate) target: &'a T,
    pub(crate) upstream_path: String,
}

/// Resolves a request's host and path against the workloads in `table`.
///
/// Host routing wins when the host ends in `.{domain}`: both names may contain hyphens, so
/// every split of the first label is tried (`a-b-c` is workload `a` in project `b-c`, or
/// workload `a-b` in project `c`); the path goes upstream unchanged. Otherwise the first two
/// path segments name the project and the workload, and the rest goes upstream.
pub(crate) fn resolve<'a, T>(
    table: &'a HashMap<WorkloadKey, T>,
    domain: Option<&str>,
    host: Option<&str>,
    path_and_query: &str,
) -> Option<Routed<'a, T>> {
    if let (Some(domain), Some(host)) = (domain, host) {
        let host = host.split(':').next().unwrap_or(host);
        if let Some(label) = host.strip_suffix(domain).and_then(|h| h.strip_suffix('.')) {
            for (i, _) in label.match_indices('-') {
                let key = WorkloadKey::new(&label[i + 1..], &label[..i]);
                if let Some((key, target)) = table.get_key_value(&key) {
                    return Some(Routed {
                        key,
                        target,
                        upstream_path: path_and_query.to_owned(),
                    });
                }
            }
        }
    }
    let rest = path_and_query.strip_prefix('/')?;
    let (project, rest) = rest.split_once('/')?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (workload, rest) = rest.split_at(end);
    let (key, target) = table.get_key_value(&WorkloadKey::new(project, workload))?;
    let upstream_path = if rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    };
    Some(Routed {
        key,
        target,
        upstream_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> HashMap<WorkloadKey, u8> {
        HashMap::from([
            (WorkloadKey::new("team-a", "llama-3"), 1),
            (WorkloadKey::new("a", "llama-3-team"), 2),
        ])
    }

    #[test]
    fn paths_name_project_then_workload_and_the_rest_goes_upstream() {
        let t = table();
        let r = resolve(&t, None, None, "/team-a/llama-3/v1/chat/completions?x=1").unwrap();
        assert_eq!(
            (*r.target, r.upstream_path.as_str()),
            (1, "/v1/chat/completions?x=1")
        );
        let r = resolve(&t, None, None, "/team-a/llama-3?x=1").unwrap();
        assert_eq!(r.upstream_path, "/?x=1");
        assert!(resolve(&t, None, None, "/team-a/llama-4/v1").is_none());
        assert!(resolve(&t, None, None, "/team-a").is_none());
    }

    #[test]
    fn hosts_try_every_hyphen_split() {
        let t = table();
        let domain = Some("serve.example.com");
        let r = resolve(
            &t,
            domain,
            Some("llama-3-team-a.serve.example.com:443"),
            "/v1/models",
        )
        .unwrap();
        assert_eq!((*r.target, r.upstream_path.as_str()), (1, "/v1/models"));
        let r = resolve(&t, domain, Some("llama-3-team-a.serve.example.com"), "/").unwrap();
        assert_eq!(r.key, &WorkloadKey::new("team-a", "llama-3"));
        // Another domain falls back to path routing.
        assert!(resolve(&t, domain, Some("llama-3-team-a.other.com"), "/v1/models").is_none());
    }
}
