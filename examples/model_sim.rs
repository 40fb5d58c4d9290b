//! An OpenAI-compatible model-server simulator, for tests, benchmarks and demos without a GPU.
//!
//! ```text
//! cargo run --release --example model_sim -- --port 8000 [--ttft-ms 200] [--itl-ms 20] \
//!     [--max-concurrency 256] [--error-rate 0.0] [--model NAME] [--seed 42] [--host 127.0.0.1]
//! ```
//!
//! Then, for example:
//!
//! ```text
//! curl -N localhost:8000/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true}'
//! ```

use std::process::ExitCode;
use std::time::Duration;

use runai::serve::model_sim::{ModelSim, ModelSimConfig};

fn usage() -> &'static str {
    "usage: model_sim --port P [--host ADDR] [--ttft-ms X] [--itl-ms Y] [--max-concurrency N] \
     [--error-rate R] [--model NAME] [--seed S]"
}

fn parse_args() -> Result<(String, ModelSimConfig), String> {
    let mut args = std::env::args().skip(1);
    let (mut host, mut port) = ("127.0.0.1".to_owned(), None::<u16>);
    let mut config = ModelSimConfig::default();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        let number = |what: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{flag}: `{value}` is not {what}"))
        };
        match flag.as_str() {
            "--host" => host.clone_from(&value),
            "--port" => {
                port = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--port: `{value}` is not a port number (0-65535)"))?,
                );
            }
            "--ttft-ms" => {
                config.ttft = Duration::from_secs_f64(number("a number of milliseconds")? / 1_000.0);
            }
            "--itl-ms" => config.itl = Duration::from_secs_f64(number("a number of milliseconds")? / 1_000.0),
            "--max-concurrency" => config.max_concurrency = number("a count")? as usize,
            "--error-rate" => {
                let rate = number("a share between 0 and 1")?;
                if rate > 1.0 {
                    return Err(format!("--error-rate: `{value}` is not a share between 0 and 1"));
                }
                config.error_rate = rate;
            }
            "--model" => config.model.clone_from(&value),
            "--seed" => {
                config.seed = value
                    .parse()
                    .map_err(|_| format!("--seed: `{value}` is not an integer"))?;
            }
            other => return Err(format!("unknown argument `{other}`\n{}", usage())),
        }
    }
    let port = port.ok_or_else(|| format!("--port is required\n{}", usage()))?;
    Ok((format!("{host}:{port}"), config))
}

fn main() -> ExitCode {
    let (address, config) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&address).await?;
        eprintln!(
            "model_sim serving {} on http://{}",
            config.model,
            listener.local_addr()?
        );
        let shutdown = async {
            // Without a signal handler the process simply ends on Ctrl-C; with one, running
            // requests finish first.
            let _ = tokio::signal::ctrl_c().await;
        };
        ModelSim::new(config).serve(listener, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("model_sim on {address}: {e}");
            ExitCode::FAILURE
        }
    }
}
