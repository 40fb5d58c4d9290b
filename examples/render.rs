//! Prints the Kubernetes objects the Kubernetes backend would apply for a workload spec, as
//! YAML a person can read or `kubectl apply`: a dry run.
//!
//! ```text
//! cargo run --example render -- --target knative|kserve [--project P] [--revision R] \
//!     [--namespace NS] [--queue Q] [--placement PLACEMENT.json] SPEC.json
//! ```
//!
//! `SPEC.json` is an inference spec, or a Run:ai create request (`{"name", "projectId",
//! "spec"}`, whose `name` becomes the workload's). It is parsed strictly (a misspelt field is
//! an error with a suggestion) and validated, every problem reported at once.
//! `PLACEMENT.json` is `{"nodePool": "h100", "nodes": ["node-7"]}`. Targets rendered today:
//! `knative` and `kserve` (single-node inference as a Knative Service or a KServe
//! InferenceService).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use runai::core::{InferenceSpec, Validate};
use runai::serve::backend::kubernetes::{Placement, RenderTarget, knative, kserve};
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
    /// A JSON file with the placement (`nodePool`, `nodes`).
    #[arg(long)]
    placement: Option<PathBuf>,
    /// The spec or create request (JSON).
    spec: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Target {
    /// A Knative Service (single-node inference).
    Knative,
    /// A KServe InferenceService (single-node inference).
    Kserve,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlacementFile {
    node_pool: Option<String>,
    #[serde(default)]
    nodes: Vec<String>,
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
            document.get("name").and_then(|n| n.as_str()).map(str::to_owned),
            spec.to_string(),
        ),
        None => (None, text),
    };
    let spec: InferenceSpec =
        runai::core::parse::strict(&spec_text).with_context(|| format!("in {}", cli.spec.display()))?;
    if let Err(errors) = spec.validate() {
        bail!("{} is not a valid inference spec:\n{errors}", cli.spec.display());
    }
    let placement = match &cli.placement {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let file: PlacementFile =
                serde_json::from_str(&text).with_context(|| format!("in {}", path.display()))?;
            Placement {
                node_pool: file.node_pool,
                nodes: file.nodes,
                ..Placement::default()
            }
        }
        None => Placement::default(),
    };
    let workload = cli.workload.or(name).unwrap_or_else(|| "inference".to_owned());
    let mut target = RenderTarget::new(WorkloadKey::new(cli.project, workload), cli.revision);
    target.namespace = cli.namespace;
    target.queue = cli.queue;
    let yaml = match cli.target {
        Target::Knative => serde_saphyr::to_string(&knative::render(&target, &spec, &placement)?)?,
        Target::Kserve => serde_saphyr::to_string(&kserve::render(&target, &spec, &placement, None)?)?,
    };
    print!("{yaml}");
    Ok(())
}
