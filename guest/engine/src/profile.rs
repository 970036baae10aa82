//! The request forms an engine accepts: RFC 7644 alone, or RFC 7644 plus the documented forms
//! real identity providers send (docs/semantics.md lists each).

/// Which request forms are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// RFC 7644 plus the documented identity-provider forms (the default).
    #[default]
    Compatible,
    /// RFC 7644 forms only.
    Strict,
}

impl Profile {
    /// True for the strict profile.
    pub fn is_strict(self) -> bool {
        self == Profile::Strict
    }
}
