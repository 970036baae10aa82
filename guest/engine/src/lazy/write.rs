//! Writing the lazily patched resource: every member back in its place.

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::patch::RawArray;
use crate::write_json;

/// Where a member was in the resource, and what to write there.
pub(super) enum Slot<'a> {
    /// A parsed member (now in the patched map, perhaps renamed or removed), by its name as read.
    Parsed(Cow<'a, str>),
    /// An untouched member, written back as it was.
    Raw(Cow<'a, str>, &'a RawValue),
    /// A multi-valued attribute whose values may still be text: the index of its [`RawArray`].
    Array(usize),
}

/// The patched resource: untouched members verbatim and in place, parsed ones from `doc` where
/// they were (under their canonical names), new members last.
pub(super) fn write(
    slots: &[Slot<'_>],
    doc: &Map<String, Value>,
    arrays: &[RawArray<'_, '_>],
    size_hint: usize,
) -> Result<String, ScimError> {
    let mut out = Vec::with_capacity(size_hint + size_hint / 8);
    out.push(b'{');
    let mut written = vec![false; doc.len()];
    let result = (|| -> Result<(), serde_json::Error> {
        for slot in slots {
            match slot {
                Slot::Raw(name, raw) => {
                    write_name(&mut out, name)?;
                    out.extend_from_slice(raw.get().as_bytes());
                }
                Slot::Parsed(name) => {
                    let found = doc
                        .iter()
                        .enumerate()
                        .find(|(i, (k, _))| !written[*i] && k.eq_ignore_ascii_case(name));
                    if let Some((i, (k, v))) = found {
                        written[i] = true;
                        write_name(&mut out, k)?;
                        write_json::value(&mut out, v)?;
                    }
                }
                Slot::Array(index) => {
                    if let Some(array) = arrays.get(*index)
                        && let Some(name) = array.written_name()
                    {
                        write_name(&mut out, name)?;
                        array.write_to(&mut out)?;
                    }
                }
            }
        }
        for (i, (k, v)) in doc.iter().enumerate() {
            if !written[i] {
                write_name(&mut out, k)?;
                write_json::value(&mut out, v)?;
            }
        }
        out.push(b'}');
        Ok(())
    })();
    result
        .map_err(|e| e.to_string())
        .and_then(|()| String::from_utf8(out).map_err(|e| e.to_string()))
        .map_err(|e| ScimError::internal(format!("could not serialize the result: {e}")))
}

/// Writes `,"name":` (no comma after the opening brace).
fn write_name(out: &mut Vec<u8>, name: &str) -> Result<(), serde_json::Error> {
    if out.len() > 1 {
        out.push(b',');
    }
    write_json::string(out, name)?;
    out.push(b':');
    Ok(())
}
