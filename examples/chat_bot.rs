//! A bot in 30 lines: submit a model, wait until it serves, then chat with it.
//! `RUNAI_URL=https://acme.run.ai RUNAI_CLIENT_ID=.. RUNAI_CLIENT_SECRET=.. cargo run --example chat_bot -- llama.json`
use std::time::Duration;

use futures_util::StreamExt;
use runai::client::openai::{ChatCompletionRequest, ChatMessage};
use runai::client::{Client, Credentials, WaitOptions};
use runai::core::{InferenceCreationRequest, Phase, parse};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let client = Client::builder(env("RUNAI_URL")?)
        .credentials(Credentials::client_credentials(
            env("RUNAI_CLIENT_ID")?,
            env("RUNAI_CLIENT_SECRET")?,
        ))
        .build()?;
    let file = std::env::args().nth(1).ok_or("usage: chat_bot SPEC.json")?;
    let request: InferenceCreationRequest = parse::strict(&std::fs::read_to_string(file)?)?;
    let created = client.inferences().create(&request).await?;
    let id = created.meta.workload_id.to_string();
    let patience = WaitOptions::default().timeout(Duration::from_secs(1800));
    let running = client
        .workloads()
        .wait_for(&id, Phase::Running, patience, |w| {
            eprintln!("{}", w.phase.as_str());
        })
        .await?;
    let urls = running.urls.unwrap_or_default();
    let url = urls.first().ok_or("no serving URL")?;
    let ask = ChatCompletionRequest::new("default", vec![ChatMessage::user("Say hello in five words.")]);
    let mut answer = client.openai(url)?.chat_stream(&ask).await?;
    while let Some(chunk) = answer.next().await {
        print!("{}", chunk?.text().unwrap_or_default());
    }
    println!("\n(first token after {:?})", answer.time_to_first_token());
    Ok(())
}
