//! `runai`: a command line for Run:ai-compatible control planes, built on `runai-client`.
//!
//! ```text
//! cargo run --example runai -- login --url https://acme.run.ai --client-id ID --client-secret SECRET
//! cargo run --example runai -- submit llama.yaml --wait
//! cargo run --example runai -- list --project team-a
//! cargo run --example runai -- wait WORKLOAD_ID --phase Running
//! cargo run --example runai -- metrics WORKLOAD_ID --minutes 60
//! cargo run --example runai -- revisions WORKLOAD_ID
//! cargo run --example runai -- update WORKLOAD_ID update.yaml
//! cargo run --example runai -- delete WORKLOAD_ID
//! ```
//!
//! Credentials come from `RUNAI_CLIENT_ID` and `RUNAI_CLIENT_SECRET` when set, else from the
//! login stored in the configuration folder (`--config-dir`, `RUNAI_CONFIG_DIR`, default
//! `~/.runai`, the same files the Run:ai CLI writes). Tables by default; `--output json` for
//! scripts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use base64::Engine as _;
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{StreamExt as _, TryStreamExt};
use runai::client::{Client, Credentials, WaitOptions};
use runai::core::list::{Filter, FilterOp, ListQuery, SortOrder};
use runai::core::{
    DistributedInferenceCreationRequest, InferenceCreationRequest, InferenceMetricType,
    InferenceUpdateRequest, MetricsQuery, NimServiceCreateRequest, Phase, Validate, Workload,
};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(
    name = "runai",
    about = "Submit, follow and call inference workloads on a Run:ai control plane"
)]
struct Cli {
    /// The control plane (default: the URL stored at login).
    #[arg(long, env = "RUNAI_URL", global = true)]
    url: Option<String>,
    /// Where the login is stored.
    #[arg(long, env = "RUNAI_CONFIG_DIR", global = true)]
    config_dir: Option<PathBuf>,
    /// How results are printed.
    #[arg(long, short, value_enum, default_value = "table", global = true)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// Aligned columns for people.
    Table,
    /// JSON for scripts.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exchanges a service account's or access key's credentials for a token and stores it.
    Login {
        /// The control plane.
        #[arg(long)]
        url: String,
        /// The client id.
        #[arg(long, env = "RUNAI_CLIENT_ID")]
        client_id: String,
        /// The client secret.
        #[arg(long, env = "RUNAI_CLIENT_SECRET", hide_env_values = true)]
        client_secret: String,
    },
    /// Submits a workload from a YAML or JSON create request, validated here first.
    Submit {
        /// The create request (inference, distributed inference or NIM service).
        file: PathBuf,
        /// Waits until it runs.
        #[arg(long)]
        wait: bool,
    },
    /// Lists workloads.
    List {
        /// Only this project's.
        #[arg(long)]
        project: Option<String>,
        /// Filters, `<field><op><value>` (ops `==`, `!=`, `<=`, `>=`, `=@`, `!@`, `=^`, `=$`).
        #[arg(long = "filter")]
        filters: Vec<String>,
        /// Free text.
        #[arg(long)]
        search: Option<String>,
        /// The most to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Shows one workload's status.
    Get {
        /// The workload id.
        id: String,
    },
    /// Rolls out a new revision from a YAML or JSON update (`{spec: {...}}`).
    Update {
        /// The workload id.
        id: String,
        /// The update.
        file: PathBuf,
    },
    /// Deletes an inference workload.
    Delete {
        /// The workload id.
        id: String,
    },
    /// Waits until a workload reaches a phase.
    Wait {
        /// The workload id.
        id: String,
        /// The phase to wait for.
        #[arg(long, default_value = "Running")]
        phase: String,
        /// Seconds to wait at most.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Seconds between looks.
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
    },
    /// Shows throughput and latency samples.
    Metrics {
        /// The workload id.
        id: String,
        /// How far back.
        #[arg(long, default_value_t = 60)]
        minutes: u64,
        /// Samples per metric.
        #[arg(long, default_value_t = 12)]
        samples: u16,
    },
    /// Lists an inference workload's revisions.
    Revisions {
        /// The workload id.
        id: String,
    },
    /// Model catalogs.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Sends a prompt to a serving URL and streams the answer to the terminal.
    Chat {
        /// The workload's serving URL.
        url: String,
        /// The model name the server serves.
        #[arg(long)]
        model: String,
        /// The prompt.
        prompt: String,
        /// The most tokens to generate.
        #[arg(long, default_value_t = 512)]
        max_tokens: u32,
    },
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Searches the Hugging Face Hub, most downloaded first.
    Search {
        /// Free text, for example `llama 8b instruct`.
        query: String,
        /// Only models for this task, for example `text-generation`.
        #[arg(long)]
        task: Option<String>,
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// A Hugging Face token (for gated and private models).
        #[arg(long, env = "HF_TOKEN", hide_env_values = true)]
        hf_token: Option<String>,
        /// The Hub (tests point it elsewhere).
        #[arg(long, env = "HF_ENDPOINT", default_value = "https://huggingface.co")]
        hub: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    match runtime.block_on(run(cli, &mut stdout)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, out: &mut impl Write) -> anyhow::Result<()> {
    let dir = config_dir(cli.config_dir.as_deref())?;
    if let Command::Login {
        url,
        client_id,
        client_secret,
    } = &cli.command
    {
        return login(&dir, url, client_id, client_secret, out).await;
    }
    if let Command::Models {
        command:
            ModelsCommand::Search {
                query,
                task,
                limit,
                hf_token,
                hub,
            },
    } = &cli.command
    {
        return search_models(
            query,
            task.as_deref(),
            *limit,
            hf_token.as_deref(),
            hub,
            cli.output,
            out,
        )
        .await;
    }
    let client = connect(cli.url.as_deref(), &dir)?;
    match cli.command {
        Command::Login { .. } | Command::Models { .. } => Ok(()),
        Command::Chat {
            url,
            model,
            prompt,
            max_tokens,
        } => chat(&client, &url, &model, &prompt, max_tokens, out).await,
        Command::Submit { file, wait } => submit(&client, &file, wait, cli.output, out).await,
        Command::List {
            project,
            filters,
            search,
            limit,
        } => list(&client, project, &filters, search, limit, cli.output, out).await,
        Command::Get { id } => {
            let workload = client.workloads().get(&id).await?;
            print_workloads(&[workload], cli.output, out)
        }
        Command::Update { id, file } => {
            let update: InferenceUpdateRequest = read_request(&file)?;
            let updated = client.inferences().update(&id, &update).await?;
            print_value(&updated, cli.output, out, |out| {
                writeln!(
                    out,
                    "updating {}: a new revision rolls out once it is ready",
                    updated.meta.name
                )
            })
        }
        Command::Delete { id } => {
            client.inferences().delete(&id).await?;
            print_value(&json!({"deleted": id}), cli.output, out, |out| {
                writeln!(out, "deleting {id}")
            })
        }
        Command::Wait {
            id,
            phase,
            timeout,
            interval,
        } => {
            let phase = Phase::from(phase.as_str());
            let options = WaitOptions::default()
                .timeout(Duration::from_secs(timeout))
                .interval(Duration::from_secs_f64(interval.max(0.01)));
            let workload = wait(&client, &id, phase, options).await?;
            print_workloads(&[workload], cli.output, out)
        }
        Command::Metrics { id, minutes, samples } => {
            metrics(&client, &id, minutes, samples, cli.output, out).await
        }
        Command::Revisions { id } => {
            let list = client.inferences().revisions(&id).await?;
            let rows: Vec<Vec<String>> = list
                .revisions
                .iter()
                .map(|r| {
                    let value = serde_json::to_value(r).unwrap_or_default();
                    let field = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or("-").to_owned();
                    vec![
                        field("name"),
                        field("phase"),
                        field("createdAt"),
                        field("phaseMessage"),
                    ]
                })
                .collect();
            print_rows(
                &list,
                &["REVISION", "PHASE", "CREATED", "MESSAGE"],
                &rows,
                cli.output,
                out,
            )
        }
    }
}

async fn search_models(
    query: &str,
    task: Option<&str>,
    limit: usize,
    hf_token: Option<&str>,
    hub: &str,
    output: Output,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    use runai::client::catalog::{ModelSearch, ModelSort};
    // The Hub needs no control plane: a client with no credentials carries the calls.
    let client = Client::builder(hub).user_agent("runai-rs-cli").build()?;
    let mut hub_client = client.huggingface().base_url(hub);
    if let Some(token) = hf_token {
        hub_client = hub_client.token(token);
    }
    let mut search = ModelSearch::new()
        .search(query)
        .sort(ModelSort::Downloads)
        .limit(u32::try_from(limit.clamp(1, 100)).unwrap_or(100));
    if let Some(task) = task {
        search = search.pipeline_tag(task);
    }
    let models: Vec<_> = hub_client.search_all(search).take(limit).try_collect().await?;
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            let count = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
            vec![
                m.id.clone(),
                m.pipeline_tag.clone().unwrap_or_else(|| "-".to_owned()),
                count(m.downloads),
                count(m.likes),
                m.gated.map_or_else(|| "-".to_owned(), |g| g.to_string()),
            ]
        })
        .collect();
    print_rows(
        &models,
        &["MODEL", "TASK", "DOWNLOADS", "LIKES", "GATED"],
        &rows,
        output,
        out,
    )
}

/// Streams the answer as it comes, then a line with time to first token and token counts.
async fn chat(
    client: &Client,
    url: &str,
    model: &str,
    prompt: &str,
    max_tokens: u32,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    use futures_util::StreamExt as _;
    use runai::client::openai::{ChatCompletionRequest, ChatMessage};
    let request = ChatCompletionRequest::new(model, vec![ChatMessage::user(prompt)])
        .max_tokens(max_tokens)
        .include_usage(true);
    let mut stream = client.openai(url)?.chat_stream(&request).await?;
    while let Some(chunk) = stream.next().await {
        if let Some(text) = chunk?.text() {
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    writeln!(out)?;
    let ttft = stream
        .time_to_first_token()
        .map_or_else(|| "-".to_owned(), |t| format!("{} ms", t.as_millis()));
    let tokens = stream.usage().map_or_else(
        || "-".to_owned(),
        |u| format!("{} prompt + {} completion", u.prompt_tokens, u.completion_tokens),
    );
    eprintln!("time to first token {ttft}; tokens {tokens}");
    Ok(())
}

/// The configuration folder: as given, else `~/.runai`.
fn config_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    let home = std::env::var_os("HOME").context("HOME is not set; pass --config-dir")?;
    Ok(PathBuf::from(home).join(".runai"))
}

/// A client from the environment's credentials or the stored login.
fn connect(url: Option<&str>, dir: &Path) -> anyhow::Result<Client> {
    let stored_url = || -> Option<String> {
        let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
        let config: Value = serde_json::from_str(&text).ok()?;
        config.pointer("/control_plane/url")?.as_str().map(str::to_owned)
    };
    let url = url
        .map(str::to_owned)
        .or_else(stored_url)
        .context("no control plane: pass --url (or RUNAI_URL), or run `login` first")?;
    let credentials = match (
        std::env::var("RUNAI_CLIENT_ID"),
        std::env::var("RUNAI_CLIENT_SECRET"),
    ) {
        (Ok(id), Ok(secret)) => Credentials::client_credentials(id, secret),
        _ => Credentials::from_cli_dir(dir)?,
    };
    Ok(Client::builder(url)
        .credentials(credentials)
        .user_agent("runai-rs-cli")
        .build()?)
}

async fn login(dir: &Path, url: &str, id: &str, secret: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let client = Client::builder(url)
        .credentials(Credentials::client_credentials(id, secret))
        .build()?;
    let token = client.token().await?.context("the control plane gave no token")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&token);
    write_private(&dir.join("authentication.json"), &json!({"accessToken": encoded}))?;
    write_private(&dir.join("config.json"), &json!({"control_plane": {"url": url}}))?;
    writeln!(out, "logged in to {url}")?;
    Ok(())
}

/// Writes a file only its owner can read: it holds a token.
fn write_private(path: &Path, value: &Value) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(serde_json::to_string_pretty(value)?.as_bytes())?;
    Ok(())
}

/// Reads a YAML or JSON request, strictly (a misspelt field is an error with a suggestion),
/// and validates it, every mistake at once.
fn read_request<T>(path: &Path) -> anyhow::Result<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate,
{
    let document = read_document(path)?;
    let request: T =
        runai::core::parse::strict_value(document).with_context(|| format!("in {}", path.display()))?;
    if let Err(errors) = request.validate() {
        bail!("{} is not valid:\n{errors}", path.display());
    }
    Ok(request)
}

fn read_document(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    Ok(if yaml {
        serde_saphyr::from_str(&text).with_context(|| format!("{} is not YAML", path.display()))?
    } else {
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?
    })
}

async fn submit(
    client: &Client,
    file: &Path,
    wait_for: bool,
    output: Output,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let document = read_document(file)?;
    // The request's shape says its type: NIM services have `metadata`, distributed
    // inference a leader.
    let (id, name) = if document.get("metadata").is_some() {
        let request: NimServiceCreateRequest = read_request(file)?;
        let created = client.nim_services().create(&request).await?;
        (created.metadata.id.to_string(), created.metadata.name)
    } else if document.pointer("/spec/leader").is_some() {
        let request: DistributedInferenceCreationRequest = read_request(file)?;
        let created = client.distributed_inferences().create(&request).await?;
        (created.meta.workload_id.to_string(), created.meta.name)
    } else {
        let request: InferenceCreationRequest = read_request(file)?;
        let created = client.inferences().create(&request).await?;
        (created.meta.workload_id.to_string(), created.meta.name)
    };
    if wait_for {
        let workload = wait(client, &id, Phase::Running, WaitOptions::default()).await?;
        return print_workloads(&[workload], output, out);
    }
    print_value(&json!({"id": id, "name": name}), output, out, |out| {
        writeln!(out, "submitted {name} ({id})")
    })
}

/// Waits, with one status line on the terminal that says the phase and the time so far.
async fn wait(client: &Client, id: &str, phase: Phase, options: WaitOptions) -> anyhow::Result<Workload> {
    const SPINNER: [char; 4] = ['|', '/', '-', '\\'];
    let started = Instant::now();
    let mut turn = 0;
    let mut err = std::io::stderr();
    let result = client
        .workloads()
        .wait_for(id, phase, options, |w| {
            let message = w.phase_message.as_deref().unwrap_or("");
            let _ = write!(
                err,
                "\r{} {:<12} {:>5}s {message:<60.60}",
                SPINNER[turn % SPINNER.len()],
                w.phase.as_str(),
                started.elapsed().as_secs()
            );
            let _ = err.flush();
            turn += 1;
        })
        .await;
    let _ = writeln!(err);
    Ok(result?)
}

async fn list(
    client: &Client,
    project: Option<String>,
    filters: &[String],
    search: Option<String>,
    limit: usize,
    output: Output,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut query = ListQuery::default()
        .limit(u16::try_from(limit.clamp(1, 500)).unwrap_or(500))
        .sort("createdAt", SortOrder::Desc);
    if let Some(project) = project {
        query = query.filter(Filter::new("projectName", FilterOp::Eq, project));
    }
    for filter in filters {
        query = query.filter(filter.parse()?);
    }
    if let Some(search) = search {
        query = query.search(search);
    }
    let workloads: Vec<Workload> = client
        .workloads()
        .list_all(query)
        .take(limit)
        .try_collect()
        .await?;
    print_workloads(&workloads, output, out)
}

async fn metrics(
    client: &Client,
    id: &str,
    minutes: u64,
    samples: u16,
    output: Output,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let query = MetricsQuery::new(
        [InferenceMetricType::Throughput, InferenceMetricType::Latency],
        rfc3339(now.saturating_sub(minutes * 60)),
        rfc3339(now),
    )
    .samples(samples);
    let metrics = client.inferences().metrics(id, &query).await?;
    if metrics.partial {
        eprintln!("note: the control plane returned only some of the metrics");
    }
    let mut rows = Vec::new();
    for measurement in &metrics.response.measurements {
        let value = serde_json::to_value(measurement).unwrap_or_default();
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned();
        for sample in value
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |key: &str| sample.get(key).and_then(Value::as_str).unwrap_or("-").to_owned();
            rows.push(vec![kind.clone(), field("timestamp"), field("value")]);
        }
    }
    print_rows(
        &metrics.response,
        &["METRIC", "TIME", "VALUE"],
        &rows,
        output,
        out,
    )
}

fn print_workloads(workloads: &[Workload], output: Output, out: &mut impl Write) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = workloads
        .iter()
        .map(|w| {
            vec![
                w.name.clone(),
                w.kind.clone(),
                w.project_name.clone(),
                w.phase.as_str().to_owned(),
                w.running_pods.to_string(),
                w.urls
                    .as_ref()
                    .and_then(|u| u.first().cloned())
                    .unwrap_or_else(|| "-".to_owned()),
                w.id.to_string(),
            ]
        })
        .collect();
    print_rows(
        &workloads,
        &["NAME", "TYPE", "PROJECT", "PHASE", "PODS", "URL", "ID"],
        &rows,
        output,
        out,
    )
}

fn print_rows(
    value: &impl Serialize,
    headers: &[&str],
    rows: &[Vec<String>],
    output: Output,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    print_value(value, output, out, |out| {
        out.write_all(table(headers, rows).as_bytes())
    })
}

fn print_value(
    value: &impl Serialize,
    output: Output,
    out: &mut impl Write,
    table: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(value)?)?,
        Output::Table => table(out)?,
    }
    Ok(())
}

/// Columns padded to their widest cell, two spaces apart.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = line(headers.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// `seconds` since the epoch as an RFC 3339 UTC time.
fn rfc3339(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn fixture(relative: &str) -> Value {
        let path = format!(
            "{}/runai-core/tests/fixtures/{relative}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn workload(name: &str, phase: &str) -> Value {
        let mut workload = fixture("responses/workloads-list.json")["workloads"][0].clone();
        workload["name"] = json!(name);
        workload["phase"] = json!(phase);
        workload["id"] = json!(format!("0b2c1a7e-5f3d-4e21-9a8b-6c4d2e1f3a{:02}", name.len()));
        workload
    }

    /// Runs the CLI with `args` against `server`, logged in with a stored token.
    async fn cli(server: &MockServer, dir: &Path, args: &[&str]) -> anyhow::Result<String> {
        let uri = server.uri();
        let mut argv = vec!["runai", "--url", uri.as_str()];
        let dir = dir.to_str().unwrap();
        argv.extend(["--config-dir", dir]);
        argv.extend(args);
        let mut out = Vec::new();
        run(Cli::try_parse_from(argv)?, &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn logged_in(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("runai-cli-test-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token = base64::engine::general_purpose::STANDARD.encode("head.body.sig");
        std::fs::write(
            dir.join("authentication.json"),
            json!({"accessToken": token}).to_string(),
        )
        .unwrap();
        dir
    }

    #[tokio::test]
    async fn login_stores_a_token_the_next_commands_send() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v1/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"accessToken": "head.body.sig"})))
            .expect(1)
            .mount(&server)
            .await;
        let dir = std::env::temp_dir().join(format!("runai-cli-login-{}", std::process::id()));
        let out = cli(
            &server,
            &dir,
            &[
                "login",
                "--url",
                &server.uri(),
                "--client-id",
                "sa",
                "--client-secret",
                "s3cret",
            ],
        )
        .await
        .unwrap();
        assert!(out.starts_with("logged in to http://127.0.0.1:"), "{out}");
        // The next command finds the URL and the token on its own.
        Mock::given(method("GET"))
            .and(path("/api/v1/workloads/w1"))
            .and(header("authorization", "Bearer head.body.sig"))
            .respond_with(ResponseTemplate::new(200).set_body_json(workload("llama", "Running")))
            .expect(1)
            .mount(&server)
            .await;
        let mut out = Vec::new();
        let argv = ["runai", "--config-dir", dir.to_str().unwrap(), "get", "w1"];
        run(Cli::try_parse_from(argv).unwrap(), &mut out).await.unwrap();
        assert!(String::from_utf8(out).unwrap().contains("llama"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn list_prints_a_table_or_json() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/workloads"))
            .and(query_param("filterBy", "projectName==search-platform"))
            .and(query_param("sortBy", "createdAt"))
            .and(header("authorization", "Bearer head.body.sig"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"workloads": [
                workload("llama-3-1-8b", "Running"),
                workload("mistral-7b", "Initializing"),
            ]})))
            .mount(&server)
            .await;
        let dir = logged_in("list");
        let table = cli(&server, &dir, &["list", "--project", "search-platform"])
            .await
            .unwrap();
        insta::assert_snapshot!("cli_list_table", table);
        let json = cli(
            &server,
            &dir,
            &["list", "--project", "search-platform", "-o", "json"],
        )
        .await
        .unwrap();
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed[1]["phase"], "Initializing");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn submit_validates_first_then_waits_until_running() {
        let server = MockServer::start().await;
        let dir = logged_in("submit");
        // A spec with several mistakes never reaches the server; every mistake is shown.
        let bad = dir.join("bad.yaml");
        std::fs::write(
            &bad,
            "name: llama\nprojectId: \"1\"\nclusterId: 71f69d83-ba66-4822-adf5-55ce55efd210\nspec:\n  image: vllm/vllm-openai:v0.11.0\n  servingPort: {container: 70000}\n  autoscaling: {minReplicas: 3, maxReplicas: 1}\n",
        )
        .unwrap();
        let error = cli(&server, &dir, &["submit", bad.to_str().unwrap()])
            .await
            .unwrap_err();
        let text = format!("{error:#}").replace(dir.to_str().unwrap(), "DIR");
        insta::assert_snapshot!("cli_submit_invalid", text);
        assert!(server.received_requests().await.unwrap().is_empty());

        let good = dir.join("llama.json");
        std::fs::write(
            &good,
            fixture("requests/inference-create-minimal.json").to_string(),
        )
        .unwrap();
        Mock::given(method("POST"))
            .and(path("/api/v1/workloads/inferences"))
            .respond_with(ResponseTemplate::new(202).set_body_json(fixture("responses/inference.json")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/workloads/0b2c1a7e-5f3d-4e21-9a8b-6c4d2e1f3a90"))
            .respond_with(ResponseTemplate::new(200).set_body_json(workload("llama-3-1-8b", "Running")))
            .mount(&server)
            .await;
        let out = cli(&server, &dir, &["submit", good.to_str().unwrap(), "--wait"])
            .await
            .unwrap();
        assert!(out.contains("llama-3-1-8b") && out.contains("Running"), "{out}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn metrics_and_revisions_print_tables() {
        let server = MockServer::start().await;
        let dir = logged_in("metrics");
        Mock::given(method("GET"))
            .and(path("/api/v1/workloads/inferences/w1/metrics"))
            .and(query_param("metricType", "THROUGHPUT,LATENCY"))
            .and(query_param("numberOfSamples", "12"))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture("responses/metrics.json")))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/workloads/inferences/w1/revisions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture("responses/revisions-list.json")))
            .mount(&server)
            .await;
        insta::assert_snapshot!(
            "cli_metrics_table",
            cli(&server, &dir, &["metrics", "w1"]).await.unwrap()
        );
        insta::assert_snapshot!(
            "cli_revisions_table",
            cli(&server, &dir, &["revisions", "w1"]).await.unwrap()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn models_search_shows_downloads_and_gated() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/models"))
            .and(query_param("search", "llama 8b"))
            .and(query_param("sort", "downloads"))
            .and(query_param("pipeline_tag", "text-generation"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"id": "meta-llama/Llama-3.1-8B-Instruct", "downloads": 5_821_004, "likes": 4310,
                 "gated": "manual", "pipeline_tag": "text-generation"},
                {"id": "unsloth/Llama-3.1-8B-Instruct", "downloads": 310_552, "likes": 190,
                 "gated": false, "pipeline_tag": "text-generation"}
            ])))
            .expect(1)
            .mount(&server)
            .await;
        let dir = logged_in("models");
        let hub = server.uri();
        let out = cli(
            &server,
            &dir,
            &[
                "models",
                "search",
                "llama 8b",
                "--task",
                "text-generation",
                "--hub",
                &hub,
            ],
        )
        .await
        .unwrap();
        insta::assert_snapshot!("cli_models_search", out);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn chat_streams_the_answer() {
        let server = MockServer::start().await;
        let events = [
            json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "Paris"}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": " is the capital."}}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}}),
        ];
        let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        body.push_str("data: [DONE]\n\n");
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", "Bearer head.body.sig"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
            .expect(1)
            .mount(&server)
            .await;
        let dir = logged_in("chat");
        let url = server.uri();
        let out = cli(
            &server,
            &dir,
            &["chat", &url, "--model", "llama", "What is the capital of France?"],
        )
        .await
        .unwrap();
        assert_eq!(out, "Paris is the capital.\n");
        let sent: Value = serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(sent["stream"], true);
        assert_eq!(sent["messages"][0]["content"], "What is the capital of France?");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_651_200), "2026-11-26T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
