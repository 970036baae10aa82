//! Reading input files, where `-` means standard input (for at most one of them).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use scim_host::ScimErrorDoc;

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

/// Reads the bytes of `path` (or of stdin for `-`); `what` names it in errors.
fn read_bytes(what: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    if is_stdin(path) {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        Ok(bytes)
    } else {
        std::fs::read(path)
            .with_context(|| format!("cannot read the {what} file {}", path.display()))
    }
}

/// Reads the text of `path` (or of stdin for `-`). Bytes that are not UTF-8 are bad input, like
/// bad JSON: a SCIM 400 (`invalidSyntax`) for the caller to print, not a failure of the tool.
pub(crate) fn read_text(what: &str, path: &Path) -> anyhow::Result<Result<String, ScimErrorDoc>> {
    let bytes = read_bytes(what, path)?;
    Ok(String::from_utf8(bytes).map_err(|error| ScimErrorDoc {
        status: 400,
        scim_type: Some("invalidSyntax".to_owned()),
        detail: format!(
            "the {what} is not valid UTF-8 text (invalid byte at offset {})",
            error.utf8_error().valid_up_to()
        ),
    }))
}

/// Reads the text of `path` (or stdin); bytes that are not UTF-8 are a failure of the tool.
fn read_utf8(what: &str, path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read_bytes(what, path)?)
        .with_context(|| format!("the {what} file {} is not UTF-8 text", path.display()))
}

/// Reads `path` (or stdin) and parses it as JSON.
pub(crate) fn read_json(what: &str, path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = read_utf8(what, path)?;
    serde_json::from_str(&text)
        .with_context(|| format!("the {what} file {} is not valid JSON", path.display()))
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}
