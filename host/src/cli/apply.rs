//! `scim-host apply`: one PATCH through the engine component.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use scim_host::{Limits, PatchEngine, PatcherConfig, Profile};

use super::Outcome;
use super::input::{check_single_stdin, read_json, read_text};

/// Arguments of `scim-host apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The SCIM resource (JSON) to patch; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    resource: PathBuf,
    /// The PATCH request body (a PatchOp, or a SCIM 1.1 partial resource); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    patch: PathBuf,
    /// Which identity-provider tolerances to apply.
    #[arg(long, value_enum, default_value_t = ProfileArg::Compatible)]
    profile: ProfileArg,
    /// An extra RFC 7643 schema document (one schema object or an array of them); repeatable.
    /// A schema the engine rejects is a SCIM error (exit status 1).
    #[arg(long = "schema", value_name = "FILE")]
    schemas: Vec<PathBuf>,
    /// Use this engine component instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    component: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// Accept the documented identity-provider forms as well as the RFC ones.
    Compatible,
    /// RFC forms only.
    Strict,
}

impl From<ProfileArg> for Profile {
    fn from(profile: ProfileArg) -> Self {
        match profile {
            ProfileArg::Compatible => Profile::Compatible,
            ProfileArg::Strict => Profile::Strict,
        }
    }
}

/// Reads the inputs, runs the patch and returns the patched resource or the engine's SCIM error.
pub(crate) fn run(args: &ApplyArgs) -> anyhow::Result<Outcome> {
    let paths = [&args.resource, &args.patch]
        .into_iter()
        .chain(&args.schemas);
    check_single_stdin(paths.map(PathBuf::as_path))?;

    let resource = read_text("resource", &args.resource)?;
    let patch = read_text("patch", &args.patch)?;
    let mut config = PatcherConfig {
        profile: args.profile.into(),
        schemas: Vec::new(),
    };
    for path in &args.schemas {
        config.add_schema_document(read_json("schema", path)?);
    }

    let engine = match &args.component {
        Some(path) => PatchEngine::from_file(path, Limits::default())?,
        None => PatchEngine::new()?,
    };
    let mut patcher = match engine.patcher(&config.to_json()) {
        Ok(patcher) => patcher,
        // The engine rejected a --schema: a SCIM error like any other.
        Err(scim_host::HostError::Config(error)) => return Ok(Outcome::Scim(error)),
        Err(error) => return Err(error).context("cannot start the engine"),
    };
    Ok(match patcher.apply(&resource, &patch)? {
        Ok(patched) => Outcome::Output(patched),
        Err(error) => Outcome::Scim(error),
    })
}
