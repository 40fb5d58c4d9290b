//! Prints the Kubernetes objects the Kubernetes backend would apply for a workload spec, as
//! YAML a person can read or `kubectl apply`: a dry run.
//!
//! ```text
//! cargo run --example render -- --target knative|kserve|lws|nim|described [--project P] \
//!     [--revision R] [--namespace NS] [--queue Q] [--placement PLACEMENT.json] \
//!     [--interface INTERFACE.yaml] [--pod-groups] SPEC.json
//! ```
//!
//! `SPEC.json` is a spec, or a Run:ai create request (`{"name", "projectId", "spec"}`, or
//! `{"metadata": {"name", ...}, "spec"}` for NIM), whose name becomes the workload's: an
//! inference spec for `knative`, `kserve` and `described`, a distributed inference spec for
//! `lws`, a NIM service spec for `nim`. It is parsed strictly (a misspelt field is an error
//! with a suggestion) and validated, every problem reported at once.
//!
//! `PLACEMENT.json` is `{"nodePool": "h100", "nodes": ["node-7"], "topology": {"name":
//! "gb200-nvl72", "requiredLevel": "nvidia.com/gpu.clique"}}`. `--interface` names the
//! Resource Interface file of the kind `described` renders to; `--pod-groups` adds, for
//! `lws`, the KAI `PodGroup` each group forms (KAI's pod grouper creates these itself; they
//! are shown, not meant to be applied).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use runai::core::{DistributedInferenceSpec, InferenceSpec, NimServiceSpec, Validate};
use runai::serve::backend::kubernetes::{
    GroupTopology, Placement, RenderTarget, ResourceInterface, knative, kserve, lws, nim,
};
use runai::serve::gateway::WorkloadKey;
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(about = "Prints the Kubernetes objects a workload spec renders to")]
struct Cli {
    /// The kind of object to render.
    #[arg(long, value_enum)]
    target: Target,
    /// The project (namespace `runai-{project}` and KAI queue `{project}` unless given).
    #[arg(long, default_value = "default")]
    project: String,
    /// The workload's name (default: the request's `name`, else `inference`).
    #[arg(long)]
    workload: Option<String>,
    /// The revision's name.
    #[arg(long, default_value = "rev-1")]
    revision: String,
    /// The namespace.
    #[arg(long)]
    namespace: Option<String>,
    /// The KAI queue.
    #[arg(long)]
    queue: Option<String>,
    /// A JSON file with the placement (`nodePool`, `nodes`, `topology`).
    #[arg(long)]
    placement: Option<PathBuf>,
    /// The Resource Interface file of the kind `--target described` renders to.
    #[arg(long, required_if_eq("target", "described"))]
    interface: Option<PathBuf>,
    /// With `--target lws`, also print the KAI PodGroup of each group.
    #[arg(long)]
    pod_groups: bool,
    /// The spec or create request (JSON).
    spec: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Target {
    /// A Knative Service (single-node inference).
    Knative,
    /// A KServe InferenceService (single-node inference).
    Kserve,
    /// A LeaderWorkerSet (multi-node inference).
    Lws,
    /// A NIMService (NVIDIA NIM).
    Nim,
    /// A kind described by a Resource Interface file (single-node inference).
    Described,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlacementFile {
    node_pool: Option<String>,
    #[serde(default)]
    nodes: Vec<String>,
    topology: Option<TopologyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TopologyFile {
    name: String,
    required_level: Option<String>,
    preferred_level: Option<String>,
}

/// Reads `path` as a spec of type `T`: strictly parsed, then validated.
fn read_spec<T>(path: &std::path::Path, spec_text: &str) -> anyhow::Result<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate,
{
    let spec: T = runai::core::parse::strict(spec_text).with_context(|| format!("in {}", path.display()))?;
    if let Err(errors) = spec.validate() {
        bail!("{} is not a valid spec:\n{errors}", path.display());
    }
    Ok(spec)
}

fn main() -> std::process::ExitCode {
    // The error and its causes, without a backtrace: these are the user's mistakes.
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(&cli.spec).with_context(|| format!("reading {}", cli.spec.display()))?;
    let document: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", cli.spec.display()))?;
    let (name, spec_text) = match document.get("spec") {
        Some(spec) => (
            document
                .get("name")
                .or_else(|| document.pointer("/metadata/name"))
                .and_then(|n| n.as_str())
                .map(str::to_owned),
            spec.to_string(),
        ),
        None => (None, text),
    };
    let placement = match &cli.placement {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let file: PlacementFile =
                serde_json::from_str(&text).with_context(|| format!("in {}", path.display()))?;
            Placement {
                node_pool: file.node_pool,
                nodes: file.nodes,
                topology: file.topology.map(|t| GroupTopology {
                    topology: t.name,
                    required_level: t.required_level,
                    preferred_level: t.preferred_level,
                }),
            }
        }
        None => Placement::default(),
    };
    let workload = cli.workload.or(name).unwrap_or_else(|| "inference".to_owned());
    let mut target = RenderTarget::new(WorkloadKey::new(cli.project, workload), cli.revision);
    target.namespace = cli.namespace;
    target.queue = cli.queue;
    let path = cli.spec.as_path();
    let yaml = match cli.target {
        Target::Knative => {
            let spec: InferenceSpec = read_spec(path, &spec_text)?;
            serde_saphyr::to_string(&knative::render(&target, &spec, &placement)?)?
        }
        Target::Kserve => {
            let spec: InferenceSpec = read_spec(path, &spec_text)?;
            serde_saphyr::to_string(&kserve::render(&target, &spec, &placement, None)?)?
        }
        Target::Described => {
            let spec: InferenceSpec = read_spec(path, &spec_text)?;
            let file = cli.interface.as_deref().context("--interface is required")?;
            let description =
                std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let interface = ResourceInterface::from_yaml(&description)
                .with_context(|| format!("in {}", file.display()))?;
            let replicas = spec
                .autoscaling
                .as_ref()
                .and_then(|a| a.min_replicas)
                .map_or(1, |r| u32::try_from(r).unwrap_or(1));
            serde_saphyr::to_string(&interface.render(&target, &spec, &placement, replicas)?)?
        }
        Target::Lws => {
            let spec: DistributedInferenceSpec = read_spec(path, &spec_text)?;
            let mut documents = vec![serde_saphyr::to_string(&lws::render(
                &target, &spec, &placement,
            )?)?];
            if cli.pod_groups {
                for group in lws::pod_groups(&target, &spec, &placement) {
                    documents.push(serde_saphyr::to_string(&group)?);
                }
            }
            documents.join("---\n")
        }
        Target::Nim => {
            let spec: NimServiceSpec = read_spec(path, &spec_text)?;
            serde_saphyr::to_string(&nim::render(&target, &spec, &placement)?)?
        }
    };
    print!("{yaml}");
    Ok(())
}
