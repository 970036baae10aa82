//! Command-line parsing and the exit-code contract shared by all subcommands.

mod apply;
mod input;
#[cfg(feature = "serve")]
mod serve;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scim_host::ScimErrorDoc;

/// Runs SCIM PATCH requests through the scim-patch WebAssembly engine under wasmtime.
#[derive(Debug, Parser)]
#[command(name = "scim-host", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Applies a PATCH request to a resource and prints the patched resource.
    ///
    /// Exits 0 with the patched resource JSON on stdout; 1 with a SCIM Error JSON on stdout
    /// when the engine rejects the request; 2 with a message on stderr for any other failure.
    Apply(apply::ApplyArgs),
    #[cfg(feature = "serve")]
    /// Serves the Spin SCIM component over HTTP, as `spin up` would, until Ctrl-C or SIGTERM.
    ///
    /// Prints `listening on http://ADDR` on stdout once it accepts connections, and one line per
    /// request (method, path, status, milliseconds) on stderr. Exits 0 after a clean shutdown,
    /// 2 with a message on stderr when it cannot start (bad flags, address in use, ...).
    Serve(serve::ServeArgs),
}

/// What a subcommand produced when it ran to completion.
pub(crate) enum Outcome {
    /// Success: this text goes to stdout, exit status 0.
    Output(String),
    /// The engine's SCIM error: its JSON goes to stdout, exit status 1.
    Scim(ScimErrorDoc),
    /// Success with nothing more to print (the subcommand wrote its own output): status 0.
    #[cfg(feature = "serve")]
    Done,
}

const EXIT_SCIM_ERROR: u8 = 1;
const EXIT_FAILURE: u8 = 2;

/// Parses the command line, runs the subcommand and maps its result to the exit-code contract.
/// Usage errors are reported by clap, also with status 2.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Apply(args) => apply::run(&args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(args),
    };
    let (text, code) = match result {
        #[cfg(feature = "serve")]
        Ok(Outcome::Done) => return ExitCode::SUCCESS,
        Ok(Outcome::Output(text)) => (text, ExitCode::SUCCESS),
        Ok(Outcome::Scim(error)) => (error.to_json(), ExitCode::from(EXIT_SCIM_ERROR)),
        Err(error) => return fail(&error),
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => code,
        Err(error) => fail(&anyhow::Error::new(error).context("cannot write to stdout")),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("scim-host: error: {error:#}");
    ExitCode::from(EXIT_FAILURE)
}
