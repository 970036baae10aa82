//! [`Variables`]: the values behind `spin:variables`, from `--variable NAME=VALUE` flags and
//! `SPIN_VARIABLE_<NAME>` environment variables, as `spin up` resolves them.

use std::collections::BTreeMap;
use std::fmt;

/// The prefix of the environment variables Spin's environment provider reads:
/// `SPIN_VARIABLE_SCIM_TOKEN` defines the variable `scim_token`.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// Why a variable could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableError {
    /// The name is not a valid Spin variable name (lower-case ASCII letters, digits and single
    /// underscores, starting with a letter, not ending with an underscore).
    InvalidName(String),
    /// No value is defined for the name.
    Undefined(String),
}

impl fmt::Display for VariableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VariableError::InvalidName(message) => write!(f, "invalid variable name: {message}"),
            VariableError::Undefined(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for VariableError {}

/// A set of application variables (names are stored lower-case, as Spin's are).
///
/// Values from [`Variables::set`] (the `--variable` flags) take precedence over values from
/// the environment, as Spin's `--variable` provider comes before its environment provider.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for Variables {
    /// Lists the names only: values are often secrets (`scim_token`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Variables {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// The variables defined by `SPIN_VARIABLE_<NAME>` entries of `env` (for example
    /// `std::env::vars_os()`); `<NAME>` is lower-cased. Entries whose name is not a valid variable
    /// name, or whose name or value is not Unicode, are ignored.
    pub fn from_env<I, K, V>(env: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<std::ffi::OsString>,
        V: Into<std::ffi::OsString>,
    {
        let mut variables = Self::new();
        for (key, value) in env {
            let (Ok(key), Ok(value)) = (key.into().into_string(), value.into().into_string())
            else {
                continue;
            };
            if let Some(name) = key.strip_prefix(ENV_PREFIX) {
                let name = name.to_ascii_lowercase();
                if validate_name(&name).is_ok() {
                    variables.values.insert(name, value);
                }
            }
        }
        variables
    }

    /// Defines (or redefines) `name`; the name is lower-cased first, as Spin does for
    /// `--variable`.
    ///
    /// Fails with [`VariableError::InvalidName`] when the name is not a valid Spin variable name.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> Result<(), VariableError> {
        let name = name.to_ascii_lowercase();
        validate_name(&name)?;
        self.values.insert(name, value.into());
        Ok(())
    }

    /// Parses a `NAME=VALUE` flag value and defines it.
    pub fn set_assignment(&mut self, assignment: &str) -> Result<(), VariableError> {
        let (name, value) = assignment.split_once('=').ok_or_else(|| {
            VariableError::InvalidName(format!("{assignment:?} is not of the form NAME=VALUE"))
        })?;
        self.set(name, value)
    }

    /// Adds every variable of `other` that `self` does not define (so `self` wins).
    pub fn fill_from(&mut self, other: Variables) {
        for (name, value) in other.values {
            self.values.entry(name).or_insert(value);
        }
    }

    /// The value of `name`, as `spin:variables/variables.get` answers it: an invalid name is
    /// [`VariableError::InvalidName`], an unknown one [`VariableError::Undefined`].
    pub fn get(&self, name: &str) -> Result<&str, VariableError> {
        validate_name(name)?;
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| VariableError::Undefined(format!("no variable for {name:?}")))
    }

    /// Whether no variable is defined.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Spin's rule for variable names.
fn validate_name(name: &str) -> Result<(), VariableError> {
    let invalid = |why: &str| Err(VariableError::InvalidName(format!("{name:?} {why}")));
    let Some(first) = name.chars().next() else {
        return invalid("is empty");
    };
    if !first.is_ascii_lowercase() {
        return invalid("must start with a lower-case ASCII letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return invalid("may contain only lower-case ASCII letters, digits and underscores");
    }
    if name.contains("__") {
        return invalid("must not contain consecutive underscores");
    }
    if name.ends_with('_') {
        return invalid("must not end with an underscore");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_spin_variable_env_lower_cased() {
        let vars = Variables::from_env([
            ("SPIN_VARIABLE_SCIM_TOKEN", "t0k"),
            ("SPIN_VARIABLE_BAD__NAME", "x"),
            ("PATH", "/bin"),
        ]);
        assert_eq!(vars.get("scim_token"), Ok("t0k"));
        assert!(matches!(vars.get("path"), Err(VariableError::Undefined(_))));
        assert!(matches!(
            vars.get("bad__name"),
            Err(VariableError::InvalidName(_))
        ));
    }

    #[test]
    fn flags_win_over_env() {
        let mut vars = Variables::new();
        vars.set_assignment("SCIM_TOKEN=from-flag=with=equals")
            .expect("valid");
        vars.fill_from(Variables::from_env([
            ("SPIN_VARIABLE_SCIM_TOKEN", "from-env"),
            ("SPIN_VARIABLE_OTHER", "o"),
        ]));
        assert_eq!(vars.get("scim_token"), Ok("from-flag=with=equals"));
        assert_eq!(vars.get("other"), Ok("o"));
    }

    #[test]
    fn rejects_invalid_names() {
        let mut vars = Variables::new();
        for bad in ["", "1abc", "a-b", "a__b", "ab_", "no-equals"] {
            assert!(vars.set(bad, "v").is_err(), "{bad:?}");
        }
        assert!(vars.set_assignment("novalue").is_err());
        assert!(matches!(
            vars.get("Upper"),
            Err(VariableError::InvalidName(_))
        ));
        assert!(matches!(
            vars.get("unset"),
            Err(VariableError::Undefined(_))
        ));
    }
}
