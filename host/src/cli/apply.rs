//! `scim-host apply`: one PATCH through the engine component.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use scim_host::{
    CompileCache, EMBEDDED_COMPONENT, PatchEngine, PatcherConfig, Profile, SandboxLimits,
};

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
    /// Compile the component instead of loading it from the compile cache, and write nothing
    /// there (as does the environment variable SCIM_HOST_NO_CACHE=1).
    #[arg(long)]
    no_cache: bool,
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

    let resource = match read_text("resource", &args.resource)? {
        Ok(text) => text,
        Err(error) => return Ok(Outcome::Scim(error)),
    };
    let patch = match read_text("patch", &args.patch)? {
        Ok(text) => text,
        Err(error) => return Ok(Outcome::Scim(error)),
    };
    let mut config = PatcherConfig {
        profile: args.profile.into(),
        ..PatcherConfig::default()
    };
    for path in &args.schemas {
        config.add_schema_document(read_json("schema", path)?);
    }

    let cache = match args.no_cache {
        true => CompileCache::Off,
        false => CompileCache::from_env(),
    };
    let engine = match &args.component {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|source| scim_host::HostError::ReadComponent {
                    path: path.clone(),
                    source,
                })?;
            PatchEngine::from_bytes_with_cache(&bytes, SandboxLimits::default(), &cache)?
        }
        None => PatchEngine::from_bytes_with_cache(
            EMBEDDED_COMPONENT,
            SandboxLimits::default(),
            &cache,
        )?,
    };
    let mut patcher = match engine.patcher(&config) {
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
