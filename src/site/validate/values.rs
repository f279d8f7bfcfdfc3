//! Scalar checks: strings, words (names, hosts, addresses, users), booleans,
//! ports, URLs and local paths.

use super::Ctx;
use crate::site::diagnostic::short;
use crate::yaml::{Node, Value};
use std::net::{Ipv4Addr, Ipv6Addr};
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
        if s.len() > 253 {
            self.invalid(node, path, &s, what, "at most 253 characters");
            return None;
        }
        if s.is_empty() || !s.chars().all(ok) {
            self.invalid(node, path, &s, what, &word_hint(what));
            return None;
        }
        Some(s)
    }

    /// "`VALUE` is not a valid WHAT", with a hint; a long value is cut short.
    fn invalid(&mut self, node: &Node, path: &str, s: &str, what: &str, hint: &str) {
        self.error(
            node.mark,
            path,
            format!("`{}` is not a valid {what}", short(s)),
            Some(hint.to_string()),
        );
    }

    /// A host name (a host's `name`, the `controller`): see [`host_name_problem`].
    pub(super) fn host_name(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.word(node, path, "host name", is_host_char)?;
        if let Some(hint) = host_name_problem(&s) {
            self.invalid(node, path, &s, "host name", &hint);
            return None;
        }
        Some(s)
    }

    /// A host's `address`: an IPv6 literal (it has a `:`) or, like a host
    /// name, an IPv4 literal or a DNS name.
    pub(super) fn address(&mut self, node: &Node, path: &str) -> Option<String> {
        if let Some(text) = node.as_str()
            && let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
            && inner.parse::<Ipv6Addr>().is_ok()
        {
            let hint = format!("write the IPv6 address without brackets: `{inner}`");
            self.invalid(node, path, text, "address", &hint);
            return None;
        }
        let s = self.word(node, path, "address", is_address_char)?;
        let problem = if s.contains(':') {
            s.parse::<Ipv6Addr>().is_err().then(|| {
                "an IPv6 address has groups of up to 4 hex digits, e.g. `2001:db8::10` (no zone, no brackets)".to_string()
            })
        } else {
            host_name_problem(&s)
        };
        if let Some(hint) = problem {
            self.invalid(node, path, &s, "address", &hint);
            return None;
        }
        Some(s)
    }

    /// A user name: POSIX characters, not starting with `-`.
    pub(super) fn user_name(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.word(node, path, "user name", is_user_char)?;
        if s.starts_with('-') {
            self.invalid(
                node,
                path,
                &s,
                "user name",
                "a user name may not start with `-`",
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

    /// A TCP port: an unquoted number from 1 to 65535, written in plain
    /// decimal (no sign, no leading zero: YAML 1.1 readers take `022` for octal).
    pub(super) fn port(&mut self, v: &Node, path: &str) -> Option<u16> {
        let Value::Scalar { text, quoted } = &v.value else {
            self.error(
                v.mark,
                path,
                format!("`{}` is not a TCP port", v.kind()),
                Some("a number from 1 to 65535, e.g. `port: 22`".into()),
            );
            return None;
        };
        let digits = text.trim_start_matches('+').trim_start_matches('0');
        let port = digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse::<u16>().ok())
            .flatten()
            .filter(|p| *p > 0);
        let (message, hint) = match port {
            Some(p) if *quoted => (
                format!("`{text}` is quoted, so it is a string, not a TCP port"),
                format!("remove the quotes: `port: {p}`"),
            ),
            Some(p) if text.starts_with('+') => (
                format!("`{}` is not a TCP port", short(text)),
                format!("write the number without a sign: `port: {p}`"),
            ),
            Some(p) if text.starts_with('0') => (
                format!("`{}` is not a TCP port", short(text)),
                format!(
                    "write the number without leading zeros: `port: {p}` (YAML 1.1 readers take `{text}` for octal)"
                ),
            ),
            Some(p) => return Some(p),
            None => (
                format!("`{}` is not a TCP port", short(text)),
                "a number from 1 to 65535, e.g. `port: 22`".to_string(),
            ),
        };
        self.error(v.mark, path, message, Some(hint));
        None
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
                format!("`{}` is not an http(s) URL", short(&s)),
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

/// Why `s` (letters, digits, `-` and `.` only) is not a host name, or `None`
/// when it is one: dot-separated DNS labels of 1 to 63 characters, none
/// starting or ending with `-` (so no name can pass for an ssh option), and a
/// name whose last label is all digits must be an IPv4 address.
pub(super) fn host_name_problem(s: &str) -> Option<String> {
    if s.starts_with('-') {
        return Some(
            "a host name may not start with `-` (ssh and other tools would read it as an option)"
                .into(),
        );
    }
    let labels: Vec<&str> = s.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Some(
            "dot-separated labels of letters, digits and `-`, none empty (no leading, trailing or doubled `.`)"
                .into(),
        );
    }
    if labels.iter().any(|l| l.len() > 63) {
        return Some("each dot-separated label is at most 63 characters".into());
    }
    if labels
        .iter()
        .any(|l| l.starts_with('-') || l.ends_with('-'))
    {
        return Some("a label may not start or end with `-`".into());
    }
    let last = labels.last().copied().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) && s.parse::<Ipv4Addr>().is_err() {
        return Some(
            "a name ending in digits must be an IPv4 address: four numbers from 0 to 255 without leading zeros"
                .into(),
        );
    }
    None
}

fn word_hint(what: &str) -> String {
    match what {
        "host name" => "use letters, digits, `-` and `.`".into(),
        "address" => "an IP address or DNS name".into(),
        "user name" => "use letters, digits, `-`, `_` and `.`".into(),
        _ => "use letters, digits, `-` and `_`".into(),
    }
}
