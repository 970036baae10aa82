//! Reading input files, where `-` means standard input (for at most one of them).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};

/// The path that stands for standard input.
const STDIN: &str = "-";

/// Fails unless at most one of `paths` is `-`.
pub(crate) fn check_single_stdin<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
) -> anyhow::Result<()> {
    if paths.into_iter().filter(|path| is_stdin(path)).count() > 1 {
        bail!("only one input can be read from stdin (`-`)");
    }
    Ok(())
}

/// Reads the UTF-8 text of `path` (or of stdin for `-`); `what` names it in errors.
pub(crate) fn read_text(what: &str, path: &Path) -> anyhow::Result<String> {
    if is_stdin(path) {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the {what} file {}", path.display()))
    }
}

/// Reads `path` (or stdin) and parses it as JSON.
pub(crate) fn read_json(what: &str, path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = read_text(what, path)?;
    serde_json::from_str(&text)
        .with_context(|| format!("the {what} file {} is not valid JSON", path.display()))
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}
