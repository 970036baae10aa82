//! `scim-host serve`: the Spin SCIM component over HTTP until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use scim_host::serve::{ComponentSource, ServeConfig, Server, Variables};

use super::Outcome;

/// Arguments of `scim-host serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the `listening on` line tells which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// SQLite database of the `default` key-value store (created with its directory if missing).
    #[arg(long, value_name = "FILE", default_value = ".spin/sqlite_key_value.db")]
    db: PathBuf,
    /// An application variable, `NAME=VALUE`; repeatable. Overrides `SPIN_VARIABLE_<NAME>`
    /// from the environment.
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    variables: Vec<(String, String)>,
    /// Serve this component file instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    component: Option<PathBuf>,
    /// Wall-clock limit of one request, in seconds; past it the client gets a SCIM 500.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_seconds)]
    request_timeout: f64,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(seconds),
        _ => Err(format!("{text:?} is not a number of seconds in (0, 86400]")),
    }
}

fn parse_assignment(text: &str) -> Result<(String, String), String> {
    let mut probe = Variables::new();
    probe.set_assignment(text).map_err(|e| e.to_string())?;
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not of the form NAME=VALUE"))?;
    Ok((name.to_owned(), value.to_owned()))
}

/// Starts the server, prints `listening on http://ADDR` and serves until a shutdown signal.
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let mut variables = Variables::new();
    for (name, value) in &args.variables {
        variables
            .set(name, value.as_str())
            .with_context(|| format!("invalid --variable {name}"))?;
    }
    variables.fill_from(Variables::from_env(std::env::vars_os()));

    if let Some(dir) = args.db.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the database directory {}", dir.display()))?;
    }

    let mut config = ServeConfig::new(args.listen, args.db);
    config.variables = variables;
    config.limits.request_timeout = Duration::from_secs_f64(args.request_timeout);
    if let Some(path) = args.component {
        config.component = ComponentSource::File(path);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = Server::start(config).await?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{}", server.local_addr())
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        drop(stdout);
        shutdown_signal().await?;
        eprintln!("scim-host: shutting down");
        server.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(Outcome::Done)
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C"),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")
    }
}
