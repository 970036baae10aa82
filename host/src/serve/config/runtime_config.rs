//! [`RuntimeConfig`]: the key-value part of Spin's runtime-config file
//! (`spin up --runtime-config-file FILE`), read the way Spin reads it
//! (`crates/factor-key-value/src/runtime_config/spin.rs`, `crates/runtime-config`), so one
//! file serves both `spin up` and `scim-host serve`:
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"
//! url = "redis://redis.internal:6379"
//! ```
//!
//! - `type = "spin"`: SQLite; `path` is the database file, relative to the directory of the
//!   runtime-config file (absolute paths as they are); without `path` the store is in memory.
//! - `type = "redis"`: `url` is required.
//! - Spin's other types (`azure_cosmos`, `aws_dynamo`), unknown types, a missing or mistyped
//!   field, and any top-level setting other than `key_value_store` are errors: this file is
//!   read at start, so a mistake stops the start instead of running on the wrong store.
//!   Other members of a store's table are ignored, as Spin ignores them.
//! - A file without `[key_value_store.default]` leaves the default store where it was (Spin:
//!   `.spin/sqlite_key_value.db`; serve: `--db`). Stores with other labels are checked and
//!   listed, but the component is granted only `default` (as in `spin.toml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::KeyValueBackend;

/// The key-value stores a runtime-config file defines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeConfig {
    /// Every `[key_value_store.LABEL]` table, by label.
    pub stores: BTreeMap<String, KeyValueBackend>,
}

/// Why a runtime-config file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    /// The file could not be read.
    #[error("cannot read the runtime config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("the runtime config {} is not valid TOML: {source}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line and column).
        #[source]
        source: toml::de::Error,
    },
    /// A top-level setting that this host does not implement.
    #[error(
        "the runtime config setting `{key}` is not supported by scim-host serve (it reads only [key_value_store.LABEL] tables)"
    )]
    UnsupportedSetting {
        /// The setting's name.
        key: String,
    },
    /// `key_value_store` or one of its members is not a table.
    #[error("`{path}` in the runtime config must be a table")]
    NotATable {
        /// `key_value_store` or `key_value_store.LABEL`.
        path: String,
    },
    /// A store table without a `type`.
    #[error("[key_value_store.{label}] has no `type` (\"spin\" or \"redis\")")]
    MissingType {
        /// The store's label.
        label: String,
    },
    /// A store type this host does not serve.
    #[error(
        "[key_value_store.{label}]: store type {store_type:?} is not supported by scim-host serve (it serves \"spin\" and \"redis\")"
    )]
    UnsupportedType {
        /// The store's label.
        label: String,
        /// The `type` given.
        store_type: String,
    },
    /// A required member is missing.
    #[error("[key_value_store.{label}] of type {store_type:?} needs `{field}`")]
    MissingField {
        /// The store's label.
        label: String,
        /// The store's type.
        store_type: &'static str,
        /// The missing member.
        field: &'static str,
    },
    /// A member that must be a string is not.
    #[error("[key_value_store.{label}]: `{field}` must be a string")]
    NotAString {
        /// The store's label.
        label: String,
        /// The member.
        field: &'static str,
    },
}

impl RuntimeConfig {
    /// Reads and checks the runtime-config file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuntimeConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Checks `text`, the content of the runtime-config file at `path` (relative store paths
    /// resolve against `path`'s directory, as in Spin).
    pub fn parse(text: &str, path: &Path) -> Result<Self, RuntimeConfigError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|source| RuntimeConfigError::Syntax {
                path: path.to_path_buf(),
                source,
            })?;
        // Spin resolves against `Path::parent`, which is "" for a bare file name: the current
        // directory.
        let base_dir = path.parent().unwrap_or(Path::new(""));
        let mut stores = BTreeMap::new();
        for (key, value) in &table {
            if key != "key_value_store" {
                return Err(RuntimeConfigError::UnsupportedSetting { key: key.clone() });
            }
            let labels = value
                .as_table()
                .ok_or_else(|| RuntimeConfigError::NotATable { path: key.clone() })?;
            for (label, store) in labels {
                let store = store
                    .as_table()
                    .ok_or_else(|| RuntimeConfigError::NotATable {
                        path: format!("{key}.{label}"),
                    })?;
                stores.insert(label.clone(), store_backend(label, store, base_dir)?);
            }
        }
        Ok(RuntimeConfig { stores })
    }

    /// The `default` store, when the file configures it.
    pub fn default_store(&self) -> Option<&KeyValueBackend> {
        self.stores.get("default")
    }
}

/// One `[key_value_store.LABEL]` table.
fn store_backend(
    label: &str,
    store: &toml::Table,
    base_dir: &Path,
) -> Result<KeyValueBackend, RuntimeConfigError> {
    let string = |field: &'static str| -> Result<Option<&str>, RuntimeConfigError> {
        store
            .get(field)
            .map(|value| {
                value
                    .as_str()
                    .ok_or_else(|| RuntimeConfigError::NotAString {
                        label: label.to_owned(),
                        field,
                    })
            })
            .transpose()
    };
    let store_type = string("type")?.ok_or_else(|| RuntimeConfigError::MissingType {
        label: label.to_owned(),
    })?;
    match store_type {
        "spin" => Ok(match string("path")? {
            Some(path) => KeyValueBackend::Sqlite(resolve(Path::new(path), base_dir)),
            None => KeyValueBackend::SqliteInMemory,
        }),
        "redis" => {
            let url = string("url")?.ok_or_else(|| RuntimeConfigError::MissingField {
                label: label.to_owned(),
                store_type: "redis",
                field: "url",
            })?;
            Ok(KeyValueBackend::Redis {
                url: url.to_owned(),
            })
        }
        other => Err(RuntimeConfigError::UnsupportedType {
            label: label.to_owned(),
            store_type: other.to_owned(),
        }),
    }
}

/// Spin's `resolve_relative_path`: absolute paths as they are, others under `base_dir`.
fn resolve(path: &Path, base_dir: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig, RuntimeConfigError> {
        RuntimeConfig::parse(text, Path::new("/etc/scim/runtime-config.toml"))
    }

    #[test]
    fn reads_redis_and_spin_stores() {
        let config = parse(
            r#"
            [key_value_store.default]
            type = "redis"
            url = "redis://redis.internal:6379"

            [key_value_store.cache]
            type = "spin"
            path = "data/cache.db"

            [key_value_store.scratch]
            type = "spin"

            [key_value_store.abs]
            type = "spin"
            path = "/var/lib/kv.db"
            ignored = "as by Spin"
            "#,
        )
        .expect("valid");
        assert_eq!(
            config.default_store(),
            Some(&KeyValueBackend::Redis {
                url: "redis://redis.internal:6379".into()
            })
        );
        assert_eq!(
            config.stores["cache"],
            KeyValueBackend::Sqlite("/etc/scim/data/cache.db".into()),
            "relative to the file's directory"
        );
        assert_eq!(config.stores["scratch"], KeyValueBackend::SqliteInMemory);
        assert_eq!(
            config.stores["abs"],
            KeyValueBackend::Sqlite("/var/lib/kv.db".into())
        );
    }

    #[test]
    fn a_bare_file_name_resolves_against_the_current_directory() {
        let config = RuntimeConfig::parse(
            "[key_value_store.default]\ntype = \"spin\"\npath = \"kv.db\"\n",
            Path::new("rc.toml"),
        )
        .expect("valid");
        assert_eq!(
            config.default_store(),
            Some(&KeyValueBackend::Sqlite("kv.db".into()))
        );
    }

    #[test]
    fn an_empty_file_configures_nothing() {
        assert_eq!(parse("").expect("valid").default_store(), None);
    }

    #[test]
    fn mistakes_are_refused_with_what_is_wrong() {
        let cases = [
            (
                "[key_value_store.default]\ntype = \"azure_cosmos\"\n",
                "not supported",
            ),
            (
                "[key_value_store.default]\ntype = \"memcached\"\n",
                "\"memcached\"",
            ),
            (
                "[key_value_store.default]\ntype = \"redis\"\n",
                "needs `url`",
            ),
            (
                "[key_value_store.default]\nurl = \"redis://x\"\n",
                "has no `type`",
            ),
            (
                "[key_value_store.default]\ntype = 3\n",
                "`type` must be a string",
            ),
            (
                "[key_value_store.default]\ntype = \"spin\"\npath = 1\n",
                "`path` must be",
            ),
            (
                "[key_value_store]\ndefault = 1\n",
                "key_value_store.default` in the",
            ),
            ("key_value_store = 1\n", "must be a table"),
            (
                "[sqlite_database.default]\ntype = \"spin\"\n",
                "`sqlite_database`",
            ),
            ("[key_value_store.default\n", "not valid TOML"),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
