//! Scalar checks: strings, words (names, hosts, addresses, users), booleans,
//! ports, URLs and local paths.

use super::Ctx;
use crate::yaml::{Node, Value};
use std::path::{Path, PathBuf};

impl Ctx<'_> {
    pub(super) fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            _ => {
                self.error(
                    node.mark,
                    path,
                    format!("expected a string, found {}", node.kind()),
                    None,
                );
                None
            }
        }
    }

    /// A string made only of the given kind of characters.
    pub(super) fn word(
        &mut self,
        node: &Node,
        path: &str,
        what: &str,
        ok: fn(char) -> bool,
    ) -> Option<String> {
        let s = self.string(node, path)?;
        if s.is_empty() || s.len() > 253 || !s.chars().all(ok) {
            self.error(
                node.mark,
                path,
                format!("`{s}` is not a valid {what}"),
                Some(word_hint(what)),
            );
            return None;
        }
        Some(s)
    }

    pub(super) fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Scalar {
                text,
                quoted: false,
            } if text == "true" => Some(true),
            Value::Scalar {
                text,
                quoted: false,
            } if text == "false" => Some(false),
            _ => {
                self.error(
                    node.mark,
                    path,
                    format!("expected true or false, found {}", node.kind()),
                    None,
                );
                None
            }
        }
    }

    /// A TCP port: an unquoted number from 1 to 65535.
    pub(super) fn port(&mut self, v: &Node, path: &str) -> Option<u16> {
        let p = v
            .as_str()
            .and_then(|s| {
                if v.kind() == "a number" {
                    s.parse::<u16>().ok()
                } else {
                    None
                }
            })
            .filter(|p| *p > 0);
        if p.is_none() {
            self.error(
                v.mark,
                path,
                format!("`{}` is not a TCP port", v.as_str().unwrap_or(v.kind())),
                Some("a number from 1 to 65535, e.g. `port: 22`".into()),
            );
        }
        p
    }

    /// An http:// or https:// proxy URL without whitespace.
    pub(super) fn proxy_url(&mut self, n: &Node, path: &str) -> Option<String> {
        let s = self.string(n, path)?;
        if !(s.starts_with("http://") || s.starts_with("https://"))
            || s.chars().any(char::is_whitespace)
        {
            self.error(
                n.mark,
                path,
                format!("`{s}` is not an http(s) URL"),
                Some("write it as http://HOST:PORT".into()),
            );
            return None;
        }
        Some(s)
    }

    pub(super) fn local_path(&mut self, node: &Node, path: &str, base: &Path) -> Option<PathBuf> {
        let s = self.string(node, path)?;
        if s.is_empty() {
            self.error(node.mark, path, "empty path", None);
            return None;
        }
        Some(resolve(base, &s))
    }
}

fn resolve(base: &Path, s: &str) -> PathBuf {
    let p = if let Some(rest) = s.strip_prefix("~/") {
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(rest))
            .unwrap_or_else(|| PathBuf::from(s))
    } else {
        PathBuf::from(s)
    };
    if p.is_absolute() { p } else { base.join(p) }
}

pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}
pub(super) fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}
pub(super) fn is_address_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':'
}
pub(super) fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

fn word_hint(what: &str) -> String {
    match what {
        "host name" => "use letters, digits, `-` and `.`".into(),
        "address" => "an IP address or DNS name".into(),
        "user name" => "use letters, digits, `-`, `_` and `.`".into(),
        _ => "use letters, digits, `-` and `_`".into(),
    }
}
