//! The whole platform in one process: the Run:ai API, the store, the control loop with the
//! scheduler and autoscaler, the local backend and the inference gateway, with a sample
//! workload running the model simulator.
//!
//! ```text
//! cargo run --release --example platform [-- --config platform.yaml --data-dir runai-data --api 127.0.0.1:8080 --gateway 127.0.0.1:8000]
//! ```
//!
//! Without `--config` it runs the embedded default: a described cluster of two 8-GPU nodes
//! and one project (`default`, id 1) deserving 8 GPUs. The first start creates the `admin`
//! service account and prints its secret once; every start prints the URLs and curl commands
//! to get a token, chat with the sample workload through the gateway, and read its metrics.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use runai::serve::model_sim::{ModelSim, ModelSimConfig};
use runai::serve::platform::{Platform, PlatformConfig, SAMPLE_IMAGE};

#[derive(Debug, Parser)]
#[command(about = "Runs the whole inference platform on this machine")]
struct Cli {
    /// The platform's YAML configuration (cluster, projects, images, timing); every field
    /// has a default.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the store and the replicas' logs live (overrides the config).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The Run:ai API's address (overrides the config; port 0 picks a free one).
    #[arg(long)]
    api: Option<SocketAddr>,
    /// The inference gateway's address (overrides the config; port 0 picks a free one).
    #[arg(long)]
    gateway: Option<SocketAddr>,
    /// Do not create the sample workload on a fresh store.
    #[arg(long)]
    no_sample: bool,
    /// Make a new token-signing key at start and retire the old one (tokens it signed keep
    /// working until they expire).
    #[arg(long)]
    rotate_signing_key: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the model simulator (what the sample image maps to).
    #[command(hide = true)]
    ModelSim {
        /// The port to serve on.
        #[arg(long)]
        port: u16,
        /// The model name it reports.
        #[arg(long, default_value = "sim")]
        model: String,
    },
}

fn main() -> anyhow::Result<()> {
    // One TLS crypto provider for the whole process (the gateway's JWKS client uses it).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Some(Command::ModelSim { port, model }) => model_sim(port, model).await,
            None => platform(cli).await,
        }
    })
}

async fn model_sim(port: u16, model: String) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let config = ModelSimConfig {
        model,
        ..ModelSimConfig::default()
    };
    ModelSim::new(config).serve(listener, shutdown_signal()).await?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

async fn platform(cli: Cli) -> anyhow::Result<()> {
    let mut config = match &cli.config {
        Some(path) => PlatformConfig::from_file(path)?,
        None => PlatformConfig::default(),
    };
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    if let Some(api) = cli.api {
        config.api = api;
    }
    if let Some(gateway) = cli.gateway {
        config.gateway = gateway;
    }
    if cli.no_sample {
        config.sample_workload = false;
    }
    // The sample image runs as this very program's model simulator, unless configured.
    let exe = std::env::current_exe()?;
    config
        .images
        .entry(SAMPLE_IMAGE.to_owned())
        .or_insert_with(|| format!("{} model-sim --port $(PORT)", exe.display()));
    let project = config
        .cluster
        .projects
        .first()
        .map_or_else(|| "1".to_owned(), |p| p.id.as_str().to_owned());
    let data_dir = config.data_dir.clone();
    let platform = Platform::start(config).await.context("starting the platform")?;
    if cli.rotate_signing_key {
        let kid = platform
            .rotate_signing_key()
            .context("rotating the signing key")?;
        println!(
            "Tokens are now signed with key {kid}; tokens signed before keep working until they expire."
        );
    }
    print_welcome(&platform, &data_dir, &project);
    shutdown_signal().await;
    platform.shutdown().await;
    Ok(())
}

fn print_welcome(platform: &Platform, data_dir: &std::path::Path, project: &str) {
    let (api_url, gateway_url) = (platform.api_url(), platform.gateway_url());
    println!("runai platform");
    println!("  Run:ai API   {api_url}");
    println!("  gateway      {gateway_url}");
    println!("  data         {}", data_dir.display());
    let (id, secret) = match platform.admin() {
        Some(admin) => {
            println!("\nadmin service account (the secret is shown only now; keep it):");
            println!("  client id      {}", admin.credential.client_id);
            println!("  client secret  {}", admin.client_secret);
            (admin.credential.client_id.clone(), admin.client_secret.clone())
        }
        None => {
            println!(
                "\nthe admin service account was created at the first start; use the secret printed then"
            );
            ("$CLIENT_ID".to_owned(), "$CLIENT_SECRET".to_owned())
        }
    };
    println!("\nget a token:");
    println!(
        "  TOKEN=$(curl -s {api_url}/api/v1/token -H 'content-type: application/json' \\\n    -d '{{\"grantType\":\"client_credentials\",\"clientId\":\"{id}\",\"clientSecret\":\"{secret}\"}}' | sed 's/.*\"accessToken\":\"\\([^\"]*\\)\".*/\\1/')"
    );
    println!("\nchat with the sample workload through the gateway:");
    println!(
        "  curl -s {gateway_url}/{project}/chat/v1/chat/completions -H \"authorization: Bearer $TOKEN\" \\\n    -H 'content-type: application/json' -d '{{\"model\":\"sim\",\"messages\":[{{\"role\":\"user\",\"content\":\"hello\"}}]}}'"
    );
    println!("\nlist workloads, then read one's metrics (its id is in the list):");
    println!("  curl -s {api_url}/api/v1/workloads -H \"authorization: Bearer $TOKEN\"");
    println!(
        "  curl -s \"{api_url}/api/v1/workloads/inferences/$ID/metrics?metricType=THROUGHPUT,LATENCY\" -H \"authorization: Bearer $TOKEN\""
    );
    println!("\nCtrl-C stops the platform and every replica.");
    // Scripts and tests wait for this line.
    println!("ready");
}
