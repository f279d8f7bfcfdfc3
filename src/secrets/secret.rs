//! Secrets as a type: a value that never prints itself.

use std::fmt;

/// The mask shown wherever a secret would appear.
pub const MASK: &str = "********";

/// A secret value. `Debug` and `Display` print the mask; the only way to the
/// plain text is [`Secret::expose`], which call sites must justify.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The plain value, for the few places that must send it to a host (stdin,
    /// 0600 files) or a server (HTTP body over the SSH tunnel).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}

/// Values shorter than this (in characters) are weak: stackprov warns, and
/// masks them only where they stand alone (see [`super::Masker`]).
pub const MIN_SECRET_CHARS: usize = 8;
