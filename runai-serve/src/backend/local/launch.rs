//! What a local replica runs: the program, its arguments and environment, resolved from the
//! spec (or the image mapping) once per revision, with every problem reported before
//! anything starts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use runai_core::distributed::LeaderWorkerSpec;
use runai_core::spec::{EnvironmentVariable, Probes};
use runai_core::{InferenceSpec, NimServiceSpec};

use super::LocalConfig;
use crate::backend::BackendError;
use crate::backend::words::split_words;
use crate::gateway::WorkloadKey;

/// A resolved command line and environment; `$(PORT)` and the replica's identity are filled
/// in per replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Launch {
    pub(crate) program: String,
    pub(crate) args: Vec<String>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) working_dir: Option<String>,
    pub(crate) readiness: Readiness,
    pub(crate) initialization_timeout: Option<Duration>,
}

/// How a replica is found ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// An HTTP GET of this path on the replica's port answers 2xx or 3xx.
    HttpGet {
        path: String,
        period: Duration,
        initial_delay: Duration,
    },
    /// A TCP connection to the replica's port is accepted.
    Tcp { period: Duration },
}

/// The parts of a pod spec a local process uses, from a standard spec or from the leader or
/// worker of a distributed one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContainerView<'a> {
    pub(crate) command: Option<&'a String>,
    pub(crate) args: Option<&'a String>,
    pub(crate) image: Option<&'a String>,
    pub(crate) environment_variables: Option<&'a Vec<EnvironmentVariable>>,
    pub(crate) working_dir: Option<&'a String>,
    pub(crate) probes: Option<&'a Probes>,
    pub(crate) initialization_timeout_seconds: Option<i32>,
}

impl<'a> From<&'a InferenceSpec> for ContainerView<'a> {
    fn from(spec: &'a InferenceSpec) -> Self {
        Self {
            command: spec.command.as_ref(),
            args: spec.args.as_ref(),
            image: spec.image.as_ref(),
            environment_variables: spec.environment_variables.as_ref(),
            working_dir: spec.working_dir.as_ref(),
            probes: spec.probes.as_ref(),
            initialization_timeout_seconds: spec
                .serving_configuration
                .as_ref()
                .and_then(|s| s.initialization_timeout_seconds),
        }
    }
}

impl<'a> From<&'a LeaderWorkerSpec> for ContainerView<'a> {
    fn from(spec: &'a LeaderWorkerSpec) -> Self {
        Self {
            command: spec.command.as_ref(),
            args: spec.args.as_ref(),
            image: spec.image.as_ref(),
            environment_variables: spec.environment_variables.as_ref(),
            working_dir: spec.working_dir.as_ref(),
            probes: spec.probes.as_ref(),
            initialization_timeout_seconds: None,
        }
    }
}

/// A NIM service runs its image through the images table, as the NIM operator would run
/// the container: no command of its own.
impl<'a> From<&'a NimServiceSpec> for ContainerView<'a> {
    fn from(spec: &'a NimServiceSpec) -> Self {
        Self {
            command: None,
            args: None,
            image: spec.image.as_ref(),
            environment_variables: spec.environment_variables.as_ref(),
            working_dir: None,
            probes: spec.probes.as_ref(),
            initialization_timeout_seconds: None,
        }
    }
}

/// A replica's identity, put into its environment.
#[derive(Debug, Clone)]
pub(crate) struct ReplicaIdentity<'a> {
    pub(crate) workload: &'a WorkloadKey,
    pub(crate) revision: &'a str,
    pub(crate) index: u32,
    pub(crate) port: u16,
    /// Within a distributed group: (group size, this member's worker index; 0 is the leader).
    pub(crate) group: Option<(u32, u32)>,
}

impl Launch {
    /// Resolves `spec` for `workload` with the backend's `config`.
    pub(crate) fn resolve(
        workload: &WorkloadKey,
        spec: ContainerView<'_>,
        config: &LocalConfig,
    ) -> Result<Self, BackendError> {
        let bad_line = |text: &str, reason: String| BackendError::BadCommandLine {
            workload: workload.clone(),
            text: text.to_owned(),
            reason,
        };
        let mapped = spec.image.and_then(|image| config.images.get(image));
        let (command, args) = match (spec.command, mapped) {
            (Some(command), _) => (command.clone(), spec.args.cloned().unwrap_or_default()),
            (None, Some(mapped)) => {
                // The spec's own args extend the mapped command, as they would the image's
                // entry point.
                let args = [mapped.args.clone(), spec.args.cloned().unwrap_or_default()].join(" ");
                (mapped.command.clone(), args)
            }
            (None, None) => {
                let reason = match spec.image {
                    Some(image) => format!(
                        "the spec names only the image `{image}`, which is not in the backend's images table (local processes cannot run container images)"
                    ),
                    None => "the spec names neither a command nor an image".to_owned(),
                };
                return Err(BackendError::NoCommand {
                    workload: workload.clone(),
                    reason,
                });
            }
        };
        let mut words = split_words(&command).map_err(|reason| bad_line(&command, reason))?;
        words.extend(split_words(&args).map_err(|reason| bad_line(&args, reason))?);
        if words.is_empty() {
            return Err(BackendError::NoCommand {
                workload: workload.clone(),
                reason: "the command is empty".to_owned(),
            });
        }
        let program = words.remove(0);
        let mut env = mapped.map(|m| m.env.clone()).unwrap_or_default();
        for variable in spec.environment_variables.into_iter().flatten() {
            if variable.exclude == Some(true) {
                continue;
            }
            let Some(name) = variable.name.clone() else {
                continue;
            };
            let value = env_value(workload, &name, variable, config)?;
            if let Some(value) = value {
                env.insert(name, value);
            }
        }
        Ok(Self {
            program,
            args: words,
            env,
            working_dir: spec.working_dir.cloned(),
            readiness: readiness(spec.probes),
            initialization_timeout: spec
                .initialization_timeout_seconds
                .filter(|&s| s > 0)
                .map(|s| Duration::from_secs(s.unsigned_abs().into())),
        })
    }

    /// The environment of one replica: the spec's, then `PORT` and the replica's identity
    /// (which win), with `$(NAME)` references in the arguments expanded as Kubernetes does.
    pub(crate) fn for_replica(
        &self,
        replica: &ReplicaIdentity<'_>,
    ) -> (Vec<String>, BTreeMap<String, String>) {
        let mut env = self.env.clone();
        let name = format!(
            "{}-{}-{}",
            replica.workload.workload, replica.revision, replica.index
        );
        if let Some((size, worker_index)) = replica.group {
            // LeaderWorkerSet's variables; every member of a local group runs on this host.
            env.insert("LWS_LEADER_ADDRESS".to_owned(), "127.0.0.1".to_owned());
            env.insert("LWS_GROUP_SIZE".to_owned(), size.to_string());
            env.insert("LWS_WORKER_INDEX".to_owned(), worker_index.to_string());
        }
        for (key, value) in [
            ("PORT", replica.port.to_string()),
            ("RUNAI_PROJECT", replica.workload.project.clone()),
            ("RUNAI_WORKLOAD", replica.workload.workload.clone()),
            ("RUNAI_REVISION", replica.revision.to_owned()),
            ("RUNAI_REPLICA_INDEX", replica.index.to_string()),
            ("RUNAI_REPLICA_NAME", name),
        ] {
            env.insert(key.to_owned(), value);
        }
        let args = self.args.iter().map(|a| expand(a, &env)).collect();
        (args, env)
    }
}

/// The value of one environment variable: literal, or read from a secret or config-map
/// file (`{dir}/{name}/{key}`), or a pod field with a local meaning.
fn env_value(
    workload: &WorkloadKey,
    name: &str,
    variable: &EnvironmentVariable,
    config: &LocalConfig,
) -> Result<Option<String>, BackendError> {
    let from_file = |dir: &Path, reference: &runai_core::spec::KeyRef| {
        let path = dir
            .join(reference.name.as_deref().unwrap_or_default())
            .join(reference.key.as_deref().unwrap_or_default());
        std::fs::read_to_string(&path).map_err(|e| BackendError::MissingValue {
            workload: workload.clone(),
            variable: name.to_owned(),
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    };
    if let Some(value) = &variable.value {
        return Ok(Some(value.clone()));
    }
    if let Some(secret) = &variable.secret {
        return from_file(&config.secrets_dir, secret).map(Some);
    }
    if let Some(config_map) = &variable.config_map {
        return from_file(&config.config_maps_dir, config_map).map(Some);
    }
    if let Some(field) = &variable.pod_field_ref {
        return match field.path.as_deref() {
            Some("status.podIP" | "status.hostIP") => Ok(Some("127.0.0.1".to_owned())),
            Some("metadata.namespace") => Ok(Some(format!("runai-{}", workload.project))),
            // Filled in per replica.
            Some("metadata.name") => Ok(None),
            other => Err(BackendError::Unsupported {
                workload: workload.clone(),
                what: format!("the pod field `{}` in {name}", other.unwrap_or("")),
            }),
        };
    }
    if variable.user_credential.is_some() {
        return Err(BackendError::Unsupported {
            workload: workload.clone(),
            what: format!("a user credential in {name}"),
        });
    }
    Ok(None)
}

/// The spec's readiness probe, or a TCP check of the port.
fn readiness(probes: Option<&Probes>) -> Readiness {
    let probe = probes.and_then(|p| p.readiness.as_ref());
    let seconds = |s: Option<i32>, default: f64| {
        s.filter(|&s| s > 0)
            .map_or(Duration::from_secs_f64(default), |s| {
                Duration::from_secs(s.unsigned_abs().into())
            })
    };
    // Locally a replica should be found ready quickly; a probe's own period is kept when
    // shorter than a second.
    let period = probe.map_or(Duration::from_millis(200), |p| {
        seconds(p.period_seconds, 0.2).min(Duration::from_secs(1))
    });
    match probe
        .and_then(|p| p.handler.as_ref())
        .and_then(|h| h.http_get.as_ref())
    {
        Some(get) => Readiness::HttpGet {
            path: get.path.clone().unwrap_or_else(|| "/".to_owned()),
            period,
            initial_delay: probe.map_or(Duration::ZERO, |p| seconds(p.initial_delay_seconds, 0.0)),
        },
        None => Readiness::Tcp { period },
    }
}

/// Expands `$(NAME)` from `env`; `$$(NAME)` stays literal `$(NAME)`, and unknown names stay
/// as written (Kubernetes' rules).
fn expand(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("$(") {
        if rest[..at].ends_with('$') {
            out.push_str(&rest[..at - 1]);
            out.push_str("$(");
            rest = &rest[at + 2..];
            continue;
        }
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) if env.contains_key(&after[..end]) => {
                out.push_str(&env[&after[..end]]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("$(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_expand_as_kubernetes_does() {
        let env = BTreeMap::from([("PORT".to_owned(), "8001".to_owned())]);
        assert_eq!(expand("--port=$(PORT)", &env), "--port=8001");
        assert_eq!(expand("$$(PORT) $(NOPE) $(", &env), "$(PORT) $(NOPE) $(");
    }

    #[test]
    fn an_image_without_a_mapping_is_refused_with_what_to_do() {
        let spec = InferenceSpec {
            image: Some("vllm/vllm-openai:v0.11.0".into()),
            ..InferenceSpec::default()
        };
        let error = Launch::resolve(
            &WorkloadKey::new("p", "w"),
            (&spec).into(),
            &LocalConfig::default(),
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("vllm/vllm-openai:v0.11.0") && message.contains("images"),
            "{message}"
        );
        let mut config = LocalConfig::default();
        config.images.insert(
            "vllm/vllm-openai:v0.11.0".into(),
            super::super::ImageCommand::new("python3 -m vllm.entrypoints.openai.api_server --port $(PORT)"),
        );
        let launch = Launch::resolve(&WorkloadKey::new("p", "w"), (&spec).into(), &config).unwrap();
        assert_eq!(launch.program, "python3");
        assert_eq!(launch.args.last().unwrap(), "$(PORT)");
    }
}
