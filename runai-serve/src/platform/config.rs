//! The platform's configuration file: where it listens and keeps data, the cluster it
//! schedules onto, which images run as which local commands, and the autoscaler's timing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use runai_core::cluster::{Cluster, Node, NodePoolQuota, Project, ResourceQuota, Topology};
use serde::{Deserialize, Serialize};

/// What went wrong reading a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading the platform config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML does not describe a configuration; the message names the field.
    #[error("the platform config {path} is not valid: {message}")]
    Invalid {
        /// The file, or `<inline>`.
        path: PathBuf,
        /// What is wrong, with the field's path.
        message: String,
    },
}

/// The whole platform on one machine.
///
/// Every field has a default, so an empty file (or none) runs a described cluster of two
/// 8-GPU nodes with one project, `default`, that deserves 8 GPUs.
///
/// ```
/// use runai_serve::platform::PlatformConfig;
/// let config = PlatformConfig::from_yaml("api: 127.0.0.1:0\ngateway: 127.0.0.1:0\n", "inline")?;
/// assert_eq!(config.api.port(), 0);
/// assert_eq!(config.cluster.projects[0].name, "default");
/// # Ok::<(), runai_serve::platform::ConfigError>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PlatformConfig {
    /// Where the store and the replicas' logs live.
    pub data_dir: PathBuf,
    /// The Run:ai API's address (port 0 picks a free one).
    pub api: SocketAddr,
    /// The inference gateway's address (port 0 picks a free one).
    pub gateway: SocketAddr,
    /// The cluster's name in the API.
    pub cluster_name: String,
    /// The cluster the scheduler places replicas on: nodes, GPUs, topology, node pools,
    /// departments and projects with quotas (`runai_core::cluster::Cluster`).
    pub cluster: Cluster,
    /// Images the local backend runs as commands on this machine (`$(PORT)` is the port the
    /// replica must serve on).
    pub images: BTreeMap<String, String>,
    /// Knative's stable window in seconds (6 to 3600; default 60).
    pub stable_window_seconds: u32,
    /// Seconds without requests before an idle workload with `minReplicas: 0` goes to zero
    /// (default 30).
    pub scale_to_zero_grace_seconds: u32,
    /// How long a new revision may take to be ready before the update is abandoned.
    pub rollout_deadline_seconds: u64,
    /// Milliseconds between control-loop passes.
    pub loop_interval_ms: u64,
    /// Create the sample workload on a fresh store.
    pub sample_workload: bool,
    /// Where custom autoscaling metrics come from (none by default).
    pub prometheus: Option<PrometheusSettings>,
    /// Canary steps for rolling updates (none by default: traffic moves all at once once the
    /// new revision is ready, as Run:ai does).
    pub canary: Vec<CanaryStepConfig>,
    /// The admin service account's credentials, created on a fresh store. Without them the
    /// platform makes a random secret and shows it once, at the first start.
    pub admin: Option<AdminCredentials>,
    /// What clients of the API and the gateway may do: timeouts, header and body sizes,
    /// connections.
    pub limits: super::LimitsConfig,
}

/// Credentials of the bootstrap admin service account.
///
/// ```
/// use runai_serve::platform::PlatformConfig;
/// let config = PlatformConfig::from_yaml("admin: {clientId: admin, clientSecret: change-me-to-something-long}\n", "inline")?;
/// assert_eq!(config.admin.unwrap().client_id, "admin");
/// # Ok::<(), runai_serve::platform::ConfigError>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct AdminCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret, at least 16 characters.
    pub client_secret: String,
}

impl std::fmt::Debug for AdminCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log.
        f.debug_struct("AdminCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// One canary step: the new revision's share of the traffic and how long it holds.
///
/// ```
/// use runai_serve::platform::PlatformConfig;
/// let config = PlatformConfig::from_yaml("canary: [{weight: 10, holdSeconds: 60}]\n", "inline")?;
/// assert_eq!(config.canary[0].weight, 10);
/// # Ok::<(), runai_serve::platform::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct CanaryStepConfig {
    /// Percent of the traffic the new revision takes, 1 to 99.
    pub weight: u32,
    /// Seconds the step lasts.
    pub hold_seconds: u64,
}

/// A Prometheus server for custom autoscaling metrics.
///
/// ```
/// use runai_serve::platform::PlatformConfig;
/// let config = PlatformConfig::from_yaml("prometheus: {url: 'http://127.0.0.1:9090'}\n", "inline")?;
/// assert_eq!(config.prometheus.unwrap().custom_metric_query, runai_serve::control::DEFAULT_CUSTOM_METRIC_QUERY);
/// # Ok::<(), runai_serve::platform::ConfigError>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct PrometheusSettings {
    /// The server's base URL, for example `http://127.0.0.1:9090`.
    pub url: String,
    /// The PromQL template (`{metric}`, `{workload}`, `{project}`, `{workload_id}`).
    #[serde(default = "default_custom_metric_query")]
    pub custom_metric_query: String,
}

fn default_custom_metric_query() -> String {
    crate::control::DEFAULT_CUSTOM_METRIC_QUERY.to_owned()
}

impl Default for PlatformConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("runai-data"),
            api: SocketAddr::from(([127, 0, 0, 1], 8080)),
            gateway: SocketAddr::from(([127, 0, 0, 1], 8000)),
            cluster_name: "local".to_owned(),
            cluster: default_cluster(),
            images: BTreeMap::new(),
            stable_window_seconds: 60,
            scale_to_zero_grace_seconds: 30,
            rollout_deadline_seconds: 600,
            loop_interval_ms: 2000,
            sample_workload: true,
            prometheus: None,
            canary: Vec::new(),
            admin: None,
            limits: super::LimitsConfig::default(),
        }
    }
}

/// Two described 8-GPU nodes in one rack and one project deserving 8 GPUs: enough for the
/// scheduler to place, queue and preempt as it would on a real cluster.
fn default_cluster() -> Cluster {
    let rack = "network.topology.kubernetes.io/rack";
    let node = |name: &str| {
        Node::new(name)
            .with_gpus(8, "H100-SXM5-80GB", 81_559)
            .with_cpu_memory(128_000, 1 << 40)
            .with_label(rack, "rack-1")
    };
    Cluster {
        nodes: vec![node("node-1"), node("node-2")],
        topologies: vec![Topology::new("default", [rack])],
        projects: vec![
            Project::new("1", "default")
                .with_quota(NodePoolQuota::new("default").with_gpus(ResourceQuota::deserved(8.0))),
        ],
        ..Cluster::default()
    }
}

impl PlatformConfig {
    /// Reads a YAML configuration file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, and the field when the YAML is wrong.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text, path)
    }

    /// Parses a YAML configuration; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the field.
    pub fn from_yaml(text: &str, origin: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.as_ref().to_owned(),
            message,
        };
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let config: Self = serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if !(6..=3600).contains(&config.stable_window_seconds) {
            return Err(invalid(format!(
                "stableWindowSeconds: {} is outside 6..3600",
                config.stable_window_seconds
            )));
        }
        if config.loop_interval_ms == 0 {
            return Err(invalid("loopIntervalMs: must be at least 1".to_owned()));
        }
        if let Some(project) = config.cluster.projects.iter().find(|p| p.name.is_empty()) {
            return Err(invalid(format!(
                "cluster.projects: project {:?} has no name",
                project.id
            )));
        }
        if let Some(step) = config.canary.iter().find(|s| !(1..=99).contains(&s.weight)) {
            return Err(invalid(format!(
                "canary: a step's weight is {}; give the new revision's share in percent, 1 to 99",
                step.weight
            )));
        }
        if let Some(admin) = &config.admin {
            if admin.client_id.trim().is_empty() {
                return Err(invalid("admin.clientId: must not be empty".to_owned()));
            }
            if admin.client_secret.chars().count() < 16 {
                return Err(invalid(
                    "admin.clientSecret: must be at least 16 characters; a long random string is best"
                        .to_owned(),
                ));
            }
        }
        config.limits.check().map_err(invalid)?;
        if let Some(prometheus) = &config.prometheus {
            crate::observe::PrometheusClient::new(&prometheus.url)
                .map_err(|e| invalid(format!("prometheus.url: {e}")))?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/platform.yaml");
        let config = PlatformConfig::from_file(path).unwrap();
        assert_eq!(config.cluster_name, "lab");
        assert_eq!(config.cluster.nodes.len(), 2);
        assert_eq!(config.cluster.projects[1].quotas[0].gpus.limit, Some(6.0));
        assert_eq!(config.cluster.topologies[0].levels.len(), 1);
        assert!(config.images.contains_key("python:3"));
        assert_eq!(config.prometheus.unwrap().url, "http://127.0.0.1:9090");
        assert_eq!(config.canary.len(), 2);
        assert_eq!(config.canary[1].weight, 50);
    }

    #[test]
    fn mistakes_name_the_field() {
        let error = PlatformConfig::from_yaml("loopIntervalMsx: 5\n", "test.yaml").unwrap_err();
        assert!(error.to_string().contains("loopIntervalMsx"), "{error}");
        let error = PlatformConfig::from_yaml("stableWindowSeconds: 2\n", "test.yaml").unwrap_err();
        assert!(error.to_string().contains("stableWindowSeconds"), "{error}");
        let error = PlatformConfig::from_yaml("api: nowhere\n", "test.yaml").unwrap_err();
        assert!(error.to_string().contains("test.yaml"), "{error}");
        let error =
            PlatformConfig::from_yaml("canary: [{weight: 100, holdSeconds: 5}]\n", "test.yaml").unwrap_err();
        assert!(error.to_string().contains("canary"), "{error}");
        let error = PlatformConfig::from_yaml("admin: {clientId: a, clientSecret: short}\n", "test.yaml")
            .unwrap_err();
        assert!(error.to_string().contains("admin.clientSecret"), "{error}");
        let error = PlatformConfig::from_yaml("limits: {idleTimeoutSeconds: 0}\n", "test.yaml").unwrap_err();
        assert!(error.to_string().contains("limits.idleTimeoutSeconds"), "{error}");
        let error = PlatformConfig::from_yaml("limits: {maxHeadBytes: 100}\n", "test.yaml").unwrap_err();
        assert!(error.to_string().contains("limits.maxHeadBytes"), "{error}");
        let missing = PlatformConfig::from_file("/nonexistent/platform.yaml").unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }));
    }

    #[test]
    fn an_empty_file_is_the_default() {
        let config = PlatformConfig::from_yaml("", "empty.yaml").unwrap();
        assert_eq!(config.api.port(), 8080);
        assert_eq!(config.cluster.nodes.len(), 2);
    }
}
