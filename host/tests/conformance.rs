//! The external SCIM conformance suite, scim2-tester (PyPI `scim2-cli`, `scim2 ... test`), run
//! against `scim-host serve`.
//!
//! The suite is installed, pinned, into a Python venv under `CARGO_TARGET_TMPDIR` on first use
//! (this needs `python3` with the `venv` module, and network access or a pip wheel cache). The
//! test never skips: without Python it fails and says what is missing.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, TOKEN};

/// The scim2-cli release the suite is pinned to (it brings scim2-tester 0.5.x).
const SCIM2_CLI_VERSION: &str = "0.6.0";
/// The suite reports ~135 SUCCESS checks against this service; far fewer means it stopped early
/// (e.g. discovery failed) rather than that everything passed.
const MIN_SUCCESS_CHECKS: usize = 120;
/// Upper bound for one suite run (it takes a few seconds).
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `command`, failing the test with `what` and the output when it cannot start or fails.
fn run_or_fail(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {command:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{what}: {command:?} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The `scim2` executable of a venv with `scim2-cli==SCIM2_CLI_VERSION`, created if needed.
fn scim2_cli() -> PathBuf {
    let venv =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("scim2-cli-{SCIM2_CLI_VERSION}"));
    let scim2 = venv.join("bin").join("scim2");
    let marker = venv.join(".installed");
    if marker.exists() && scim2.exists() {
        return scim2;
    }

    let python = std::env::var("PYTHON3").unwrap_or_else(|_| "python3".into());
    match Command::new(&python).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the conformance test needs Python 3 (with venv and pip) to install scim2-cli: \
             `{python} --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "the conformance test needs Python 3 (with venv and pip) to install scim2-cli, \
             but `{python}` cannot be run: {e}. Install python3 and python3-venv, or set \
             PYTHON3 to a Python 3 interpreter."
        ),
    }

    // A half-made venv from an interrupted run is rebuilt from scratch.
    let _ = std::fs::remove_dir_all(&venv);
    run_or_fail(
        Command::new(&python).args(["-m", "venv"]).arg(&venv),
        "creating the venv for scim2-cli (is the python3-venv package installed?)",
    );
    let venv_python = venv.join("bin").join("python");
    run_or_fail(
        Command::new(&venv_python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("scim2-cli=={SCIM2_CLI_VERSION}"),
        ]),
        "installing scim2-cli with pip (needs network access or a wheel cache)",
    );
    assert!(
        scim2.exists(),
        "pip installed scim2-cli but there is no {}",
        scim2.display()
    );
    std::fs::write(&marker, SCIM2_CLI_VERSION).expect("write the venv marker");
    scim2
}

/// Removes ANSI colour sequences (click colours the status words on a terminal).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn scim2_tester_suite_passes() {
    let scim2 = scim2_cli();
    let server = Server::start("conformance");
    let url = format!("http://{}/scim/v2", server.addr);

    let mut child = Command::new(&scim2)
        .args([
            "--url",
            &url,
            "-h",
            &format!("Authorization: Bearer {TOKEN}"),
            "test",
        ])
        .env("NO_COLOR", "1")
        .env_remove("SCIM_CLI_HEADERS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", scim2.display()));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + SUITE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for scim2") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = strip_ansi(&stdout.join().expect("stdout reader"));
    let stderr = strip_ansi(&stderr.join().expect("stderr reader"));
    println!("--- scim2 {SCIM2_CLI_VERSION} test against {url} ---\n{stdout}");
    if !stderr.trim().is_empty() {
        println!("--- scim2 stderr ---\n{stderr}");
    }
    let Some(status) = status else {
        panic!("scim2 test did not finish within {SUITE_TIMEOUT:?}");
    };

    let failures: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("ERROR") || l.starts_with("CRITICAL"))
        .collect();
    let successes = stdout.lines().filter(|l| l.starts_with("SUCCESS")).count();
    println!(
        "scim2-tester: {successes} SUCCESS, {} ERROR/CRITICAL",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "scim2-tester reported failures:\n{}",
        failures.join("\n")
    );
    assert!(
        status.success(),
        "scim2 test exited with {status} (a check was not SUCCESS; see the output above)"
    );
    assert!(
        successes >= MIN_SUCCESS_CHECKS,
        "scim2-tester ran only {successes} SUCCESS checks (expected at least {MIN_SUCCESS_CHECKS})"
    );
}
