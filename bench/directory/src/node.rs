//! A `scim-host serve` process the harness starts on a fresh database and stops when dropped,
//! and the memory it uses (from `/proc`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

/// A running `scim-host serve` on a loopback port of its own choosing.
pub struct ServeNode {
    child: Child,
    url: String,
}

impl ServeNode {
    /// Starts `serve_bin serve` with `extra` arguments (`--db FILE` or
    /// `--runtime-config-file FILE`), the bearer `token`, and waits for its `listening on` line.
    pub fn start(serve_bin: &Path, extra: &[String], token: &str) -> anyhow::Result<ServeNode> {
        let mut child = Command::new(serve_bin)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("SPIN_VARIABLE_SCIM_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", serve_bin.display()))?;
        let stdout = child.stdout.take().context("serve's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading serve's first line")?;
        let Some(address) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!("serve did not start (its first line: {line:?})");
        };
        Ok(ServeNode {
            url: format!("{address}/scim/v2"),
            child,
        })
    }

    /// The node's SCIM base URL (`http://127.0.0.1:PORT/scim/v2`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The process's memory now and at its peak, in KiB (`VmRSS`, `VmHWM`).
    pub fn memory_kib(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for ServeNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database path under the system's temporary directory (removed by the caller).
pub fn fresh_database() -> PathBuf {
    std::env::temp_dir().join(format!(
        "scim-directory-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ))
}
