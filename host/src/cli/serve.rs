//! `scim-host serve`: the Spin SCIM component over HTTP until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use scim_host::serve::{
    ComponentSource, InstanceReuse, KeyValueBackend, MisreportSwaps, RuntimeConfig, ServeConfig,
    Server, Variables,
};

use super::Outcome;

/// Arguments of `scim-host serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the `listening on` line tells which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// SQLite database of the `default` key-value store (created with its directory if missing)
    /// [default: .spin/sqlite_key_value.db].
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Spin's runtime-config file: its `[key_value_store.default]` table (type "spin" with a
    /// `path`, or "redis" with a `url`) puts the `default` store there instead of `--db`.
    #[arg(long, value_name = "FILE")]
    runtime_config_file: Option<PathBuf>,
    /// TEST ONLY: report this fraction (0 to 1) of compare-and-swap outcomes the wrong way
    /// round, as Spin's Redis backend does (landed writes as failed, dropped ones as done).
    #[arg(long, value_name = "RATE", value_parser = parse_rate, hide = true)]
    test_misreport_swaps: Option<f64>,
    /// TEST ONLY: the seed of `--test-misreport-swaps`'s draws.
    #[arg(long, value_name = "N", default_value_t = 1, hide = true)]
    test_misreport_seed: u64,
    /// An application variable, `NAME=VALUE`; repeatable. Overrides `SPIN_VARIABLE_<NAME>`
    /// from the environment.
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    variables: Vec<(String, String)>,
    /// Serve this component file instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    component: Option<PathBuf>,
    /// Compile the component instead of loading it from the compile cache, and write nothing
    /// there (as does the environment variable SCIM_HOST_NO_CACHE=1).
    #[arg(long)]
    no_cache: bool,
    /// Wall-clock limit of one request, in seconds; past it the client gets a SCIM 500.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_seconds)]
    request_timeout: f64,
    /// Requests one component instance serves before it is dropped (as Spin's flag; 1: a fresh
    /// instance per request).
    #[arg(long, value_name = "N", default_value_t = InstanceReuse::default().max_requests, value_parser = parse_count)]
    max_instance_reuse_count: usize,
    /// Requests one component instance serves at once (as Spin's flag).
    #[arg(long, value_name = "N", default_value_t = InstanceReuse::default().max_concurrent, value_parser = parse_count)]
    max_instance_concurrent_reuse_count: usize,
    /// How long an instance with nothing to do is kept for the next request: a number of
    /// seconds, or with a suffix `s`, `ms`, `us`, `ns` (as Spin's flag).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    idle_instance_timeout: Duration,
}

fn parse_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}

/// A duration as Spin's flags write it: `2`, `2s`, `500ms`, `20us` (or `µs`), `10ns`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration such as 1s, 500ms, 20us or 10ns");
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1e3,
        "us" | "µs" | "μs" => number / 1e6,
        "ns" => number / 1e9,
        _ => return Err(invalid()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(seconds),
        _ => Err(format!("{text:?} is not a number of seconds in (0, 86400]")),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("{text:?} is not a fraction in [0, 1]")),
    }
}

/// The default store: the runtime config's `[key_value_store.default]` if it has one, else
/// `--db` (or its default). Both at once is a mistake, refused.
fn key_value_backend(args: &ServeArgs) -> anyhow::Result<KeyValueBackend> {
    const DEFAULT_DB: &str = ".spin/sqlite_key_value.db";
    let from_file = match &args.runtime_config_file {
        Some(path) => {
            let config = RuntimeConfig::from_file(path)?;
            for label in config.stores.keys().filter(|label| *label != "default") {
                eprintln!(
                    "scim-host: key-value store {label:?} in {} is not used: the component is granted only \"default\"",
                    path.display()
                );
            }
            config.default_store().cloned()
        }
        None => None,
    };
    match (from_file, &args.db) {
        (Some(_), Some(db)) => anyhow::bail!(
            "--db {} and the runtime config's [key_value_store.default] both name the default store; give one",
            db.display()
        ),
        (Some(backend), None) => Ok(backend),
        (None, db) => Ok(KeyValueBackend::Sqlite(
            db.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DB)),
        )),
    }
}

/// For the start-up line on stderr.
fn describe(backend: &KeyValueBackend) -> String {
    match backend {
        KeyValueBackend::Sqlite(path) => format!("SQLite {}", path.display()),
        KeyValueBackend::SqliteInMemory => "SQLite in memory (gone at exit)".to_owned(),
        KeyValueBackend::Redis { url } => format!("Redis {}", without_credentials(url)),
    }
}

/// `url` with any `user:password@` replaced by `***@`, so the log shows no secret.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_credentials, host)) => format!("{scheme}://***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
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

    let backend = key_value_backend(&args)?;
    if let KeyValueBackend::Sqlite(db) = &backend
        && let Some(dir) = db.parent().filter(|dir| !dir.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the database directory {}", dir.display()))?;
    }
    eprintln!(
        "scim-host: key-value store \"default\": {}",
        describe(&backend)
    );

    let mut config = ServeConfig::with_key_value(args.listen, backend);
    config.misreport_swaps = args.test_misreport_swaps.map(|rate| {
        eprintln!(
            "scim-host: TEST ONLY: misreporting {rate} of compare-and-swap outcomes (seed {})",
            args.test_misreport_seed
        );
        MisreportSwaps {
            rate,
            seed: args.test_misreport_seed,
        }
    });
    config.variables = variables;
    if args.no_cache {
        config.compile_cache = scim_host::CompileCache::Off;
    }
    config.request_limits.request_timeout = Duration::from_secs_f64(args.request_timeout);
    config.instance_reuse = InstanceReuse {
        max_requests: args.max_instance_reuse_count,
        max_concurrent: args.max_instance_concurrent_reuse_count,
        idle_timeout: args.idle_instance_timeout,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logged_redis_url_hides_credentials() {
        assert_eq!(
            without_credentials("redis://user:s3cret@redis.internal:6379/2"),
            "redis://***@redis.internal:6379/2"
        );
        assert_eq!(
            without_credentials("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    #[test]
    fn durations_are_read_as_spins_flags_write_them() {
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("20us"), Ok(Duration::from_micros(20)));
        assert_eq!(parse_duration("10ns"), Ok(Duration::from_nanos(10)));
        for bad in ["", "s", "1m", "-1s", "1.2.3", "ms5"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_count("16"), Ok(16));
        assert!(parse_count("0").is_err());
    }
}
