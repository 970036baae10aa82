//! [`CompileCache`]: compiled components kept on disk between runs, so that a process starts by
//! loading machine code instead of compiling the component again (seconds for the Spin
//! component, about a second for the engine).
//!
//! An entry is named by a SHA-256 over the component's bytes and the engine's compilation
//! environment (wasmtime's `precompile_compatibility_hash`: wasmtime version, target, compiler
//! flags, tunables, wasm features), so a different component, configuration or wasmtime gets
//! its own entry. The entry file is wasmtime's serialized component followed by the SHA-256 of
//! those bytes; it is written to a temporary file and renamed into place (readers never see
//! half an entry), and checked before it is loaded: a truncated, corrupt or incompatible entry
//! is compiled again and replaced, never loaded. Failing to read or write the cache never fails
//! the compilation; it only costs the time.
//!
//! The checksum guards against damage, not against an attacker: whoever can write the cache
//! directory can run code in the processes that use it, as with any directory of executables.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Turns the cache off when set to anything but the empty string (for embedders; the CLI's
/// `--no-cache` does the same).
pub const NO_CACHE_ENV: &str = "SCIM_HOST_NO_CACHE";
/// Puts the cache in this directory instead of the user's cache directory.
pub const CACHE_DIR_ENV: &str = "SCIM_HOST_CACHE_DIR";

/// The length of the checksum after the serialized component.
const CHECKSUM_LEN: usize = 32;
/// How many entries a directory keeps: storing one more removes the least recently used.
const KEEP_ENTRIES: usize = 8;
/// Named into every key, so that a change of this file's format makes new entries.
const FORMAT: &[u8] = b"scim-host compiled component v1";

/// Where compiled components are kept between runs, or nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileCache {
    /// Compile every time; nothing is read or written.
    Off,
    /// Keep compiled components in this directory (created when first needed).
    Dir(PathBuf),
}

impl Default for CompileCache {
    /// [`CompileCache::from_env`].
    fn default() -> Self {
        CompileCache::from_env()
    }
}

impl CompileCache {
    /// The cache the environment asks for: [`CompileCache::Off`] when `SCIM_HOST_NO_CACHE` is
    /// set (non-empty), else `SCIM_HOST_CACHE_DIR`, else `$XDG_CACHE_HOME/scim-host`, else
    /// `~/.cache/scim-host`; `Off` when there is no home directory either.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        if var(NO_CACHE_ENV).is_some() {
            return CompileCache::Off;
        }
        if let Some(dir) = var(CACHE_DIR_ENV) {
            return CompileCache::Dir(PathBuf::from(dir));
        }
        match (var("XDG_CACHE_HOME"), var("HOME")) {
            (Some(cache), _) => CompileCache::Dir(PathBuf::from(cache).join("scim-host")),
            (None, Some(home)) => CompileCache::Dir(PathBuf::from(home).join(".cache/scim-host")),
            (None, None) => CompileCache::Off,
        }
    }

    /// The compiled `bytes` for `engine`: loaded from a valid entry, or compiled (and stored).
    pub(crate) fn component(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let CompileCache::Dir(dir) = self else {
            return Component::from_binary(engine, bytes);
        };
        let entry = dir.join(format!("{}.cwasm", entry_name(engine, bytes)));
        if let Some(component) = load(engine, &entry) {
            return Ok(component);
        }
        let component = Component::from_binary(engine, bytes)?;
        if let Ok(serialized) = component.serialize() {
            // Best effort: a cache that cannot be written only costs the next start its time.
            if store(dir, &entry, &serialized).is_ok() {
                prune(dir);
            }
        }
        Ok(component)
    }
}

/// The hex SHA-256 of the format, the engine's compilation environment and the component.
fn entry_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut key = DigestHasher(Sha256::new());
    key.0.update(FORMAT);
    engine.precompile_compatibility_hash().hash(&mut key);
    key.0.update(bytes);
    key.0
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Feeds what a [`Hash`] writes into a SHA-256.
struct DigestHasher(Sha256);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Not used: the digest is read with `finalize`.
        0
    }
}

/// The entry's component, when the file is there, its checksum holds and wasmtime accepts it.
fn load(engine: &Engine, entry: &Path) -> Option<Component> {
    let file = std::fs::read(entry).ok()?;
    let split = file.len().checked_sub(CHECKSUM_LEN)?;
    let (serialized, checksum) = file.split_at(split);
    if Sha256::digest(serialized).as_slice() != checksum {
        return None;
    }
    // SAFETY: `serialized` is what `Component::serialize` wrote for this engine's compilation
    // environment (the entry's name says so), unchanged since (the checksum says so); wasmtime
    // also checks its version and configuration header and refuses a mismatch.
    let component = unsafe { Component::deserialize(engine, serialized) }.ok()?;
    // Marks the entry as used, for `prune`.
    let _ = std::fs::File::options()
        .write(true)
        .open(entry)
        .and_then(|file| file.set_modified(std::time::SystemTime::now()));
    Some(component)
}

/// Removes all but the [`KEEP_ENTRIES`] most recently used entries (each build of a component
/// makes a new one).
fn prune(dir: &Path) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = listing
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .filter_map(|path| Some((std::fs::metadata(&path).ok()?.modified().ok()?, path)))
        .collect();
    entries.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, stale) in entries.iter().skip(KEEP_ENTRIES) {
        let _ = std::fs::remove_file(stale);
    }
}

/// Writes an entry: to a temporary file in `dir`, then renamed over `entry`.
fn store(dir: &Path, entry: &Path, serialized: &[u8]) -> std::io::Result<()> {
    // Unique per process and call: writers never share a temporary file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(
        ".{}.{}-{}.tmp",
        entry
            .file_name()
            .map(|name| name.to_string_lossy())
            .unwrap_or_default(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = Vec::with_capacity(serialized.len() + CHECKSUM_LEN);
    file.extend_from_slice(serialized);
    file.extend_from_slice(&Sha256::digest(serialized));
    let written =
        std::fs::write(&temporary, &file).and_then(|()| std::fs::rename(&temporary, entry));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: the preamble alone.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    fn scratch(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("scim-host-cache-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }

    #[test]
    fn an_entry_is_written_once_and_loaded_after() {
        let dir = scratch("reuse");
        let cache = CompileCache::Dir(dir.clone());
        let engine = Engine::default();
        cache.component(&engine, EMPTY_COMPONENT).expect("compile");
        let written = entries(&dir);
        assert_eq!(written.len(), 1, "{written:?}");
        let entry = &written[0];
        assert!(load(&engine, entry).is_some(), "a fresh entry loads");
        cache.component(&engine, EMPTY_COMPONENT).expect("load");
        assert_eq!(entries(&dir), written, "no second entry, no temporary left");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_corrupt_or_truncated_entry_is_compiled_again_and_replaced() {
        let dir = scratch("corrupt");
        let cache = CompileCache::Dir(dir.clone());
        let engine = Engine::default();
        cache.component(&engine, EMPTY_COMPONENT).expect("compile");
        let entry = entries(&dir).remove(0);
        let good = std::fs::read(&entry).expect("entry");
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0xff;
        for damaged in [flipped, good[..good.len() / 2].to_vec(), Vec::new()] {
            std::fs::write(&entry, &damaged).expect("damage");
            assert!(
                load(&engine, &entry).is_none(),
                "a damaged entry is not loaded"
            );
            cache
                .component(&engine, EMPTY_COMPONENT)
                .expect("recompile");
            assert_eq!(std::fs::read(&entry).expect("entry"), good, "replaced");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn another_configuration_gets_another_entry() {
        let mut fuel = wasmtime::Config::new();
        fuel.consume_fuel(true);
        let fuel = Engine::new(&fuel).expect("engine");
        assert_ne!(
            entry_name(&Engine::default(), EMPTY_COMPONENT),
            entry_name(&fuel, EMPTY_COMPONENT)
        );
    }
}
