//! The whole platform in one process: the Run:ai API, the store, the control loop, the local
//! backend and the inference gateway, with a sample workload running the model simulator.
//!
//! ```text
//! cargo run --release --example platform [-- --data-dir runai-data --api 127.0.0.1:8080 --gateway 127.0.0.1:8000]
//! ```
//!
//! The first start creates the `admin` service account and prints its secret once; every
//! start prints the URLs and curl commands to get a token, chat with the sample workload
//! through the gateway, and list workloads.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use runai::serve::backend::{Backend, ImageCommand, LocalBackend, LocalConfig};
use runai::serve::control::{ApiSettings, ControlApi, ControlLoop, LoopSettings, TokenIssuer};
use runai::serve::gateway::{AuthConfig, Authenticator, Gateway, GatewayConfig, KeySource};
use runai::serve::model_sim::{ModelSim, ModelSimConfig};
use runai::serve::store::{CredentialKind, NewWorkload, Store, WorkloadKind};
use serde_json::json;

/// The image the sample workload names; the local backend runs it as the model simulator.
const SIM_IMAGE: &str = "runai/model-sim";

#[derive(Debug, Parser)]
#[command(about = "Runs the whole inference platform on this machine")]
struct Cli {
    /// Where the store and the replicas' logs live.
    #[arg(long, default_value = "runai-data")]
    data_dir: PathBuf,
    /// The Run:ai API's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    api: SocketAddr,
    /// The inference gateway's address.
    #[arg(long, default_value = "127.0.0.1:8000")]
    gateway: SocketAddr,
    /// Do not create the sample workload on a fresh store.
    #[arg(long)]
    no_sample: bool,
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

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn platform(cli: Cli) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cli.data_dir).with_context(|| format!("creating {}", cli.data_dir.display()))?;
    let store = Store::open(cli.data_dir.join("runai.db")).context("opening the store")?;
    let api_url = format!("http://{}", cli.api);
    let issuer = TokenIssuer::new(store.clone(), api_url.clone());

    // The admin's secret exists only in this first start's output.
    let admin = if store
        .credentials(CredentialKind::ServiceAccount)?
        .iter()
        .any(|c| c.name == "admin")
    {
        None
    } else {
        Some(store.create_credential(CredentialKind::ServiceAccount, "admin", None)?)
    };

    // The gateway checks the tokens this control plane issues.
    let jwks = issuer.jwks().context("making the token signing key")?.to_string();
    let auth =
        Authenticator::new(AuthConfig::new(KeySource::Jwks(jwks), api_url.clone()).with_audience("runai"))?;
    let gateway = Gateway::builder(GatewayConfig::default())
        .authenticator(auth)
        .build();

    let exe = std::env::current_exe()?;
    let mut local = LocalConfig::default();
    local.log_dir = cli.data_dir.join("logs");
    local.images.insert(
        SIM_IMAGE.to_owned(),
        ImageCommand::new(format!("{} model-sim --port $(PORT)", exe.display())),
    );
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(local));
    let control = ControlLoop::new(store.clone(), Arc::clone(&backend), LoopSettings::default())
        .with_gateway(gateway.clone());

    if !cli.no_sample && store.workloads()?.is_empty() {
        let spec = json!({
            "image": SIM_IMAGE,
            "servingPort": {"container": 8000, "authorizationType": "authenticatedUsers"},
            "autoscaling": {"minReplicas": 1, "maxReplicas": 2},
        });
        store.create_workload(&NewWorkload::new(
            "default",
            "chat",
            WorkloadKind::Inference,
            spec,
        ))?;
    }

    let api = tokio::net::TcpListener::bind(cli.api)
        .await
        .with_context(|| format!("listening on {} (pass --api to use another address)", cli.api))?;
    let gateway_listener = tokio::net::TcpListener::bind(cli.gateway)
        .await
        .with_context(|| {
            format!(
                "listening on {} (pass --gateway to use another address)",
                cli.gateway
            )
        })?;
    let router = ControlApi::new(store, issuer, ApiSettings::default()).router();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let loop_task = tokio::spawn(async move { control.run(stopped).await });
    let api_task = tokio::spawn(async move {
        axum::serve(api, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
    });
    let gateway_task = tokio::spawn(gateway.serve(gateway_listener, shutdown_signal()));

    print_welcome(&cli, &api_url, admin.as_ref());
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = loop_task.await;
    let _ = api_task.await;
    let _ = gateway_task.await;
    Ok(())
}

fn print_welcome(cli: &Cli, api_url: &str, admin: Option<&runai::serve::store::IssuedCredential>) {
    let gateway_url = format!("http://{}", cli.gateway);
    println!("runai platform");
    println!("  Run:ai API   {api_url}");
    println!("  gateway      {gateway_url}");
    println!("  data         {}", cli.data_dir.display());
    let (id, secret) = match admin {
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
        "  curl -s {gateway_url}/default/chat/v1/chat/completions -H \"authorization: Bearer $TOKEN\" \\\n    -H 'content-type: application/json' -d '{{\"model\":\"sim\",\"messages\":[{{\"role\":\"user\",\"content\":\"hello\"}}]}}'"
    );
    println!("\nlist workloads:");
    println!("  curl -s {api_url}/api/v1/workloads -H \"authorization: Bearer $TOKEN\"");
    println!("\nCtrl-C stops the platform and every replica.");
}
