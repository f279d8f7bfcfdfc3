//! Scalar checks: strings, words (names, hosts, addresses, users), booleans,
//! ports, URLs and local paths.

use super::Ctx;
use crate::model::diagnostic::short;
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
    pub(super) fn invalid(&mut self, node: &Node, path: &str, s: &str, what: &str, hint: &str) {
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
    /// `forks`: how many hosts at once, 1 to [`crate::site::MAX_FORKS`].
    pub(super) fn forks(&mut self, v: &Node) -> Option<usize> {
        let max = crate::site::MAX_FORKS;
        let n = match &v.value {
            Value::Scalar {
                text,
                quoted: false,
            } if text.bytes().all(|b| b.is_ascii_digit())
                && !text.is_empty()
                && !text.starts_with('0') =>
            {
                // no leading zero: YAML 1.1 readers take `010` for octal
                text.parse::<usize>().ok().filter(|n| (1..=max).contains(n))
            }
            _ => None,
        };
        if n.is_none() {
            self.error(
                v.mark,
                "forks",
                match v.as_str() {
                    Some(s) => {
                        format!("`{}` is not a number of hosts to work on at once", short(s))
                    }
                    None => format!("{} is not a number of hosts to work on at once", v.kind()),
                },
                Some(format!(
                    "a number from 1 to {max}, e.g. `forks: {}`",
                    crate::site::DEFAULT_FORKS
                )),
            );
        }
        n
    }

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

    /// An http:// or https:// proxy URL, strictly: see [`proxy_url_problem`].
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
        if let Some(problem) = proxy_url_problem(&s) {
            self.error(
                n.mark,
                path,
                format!("`{}` {problem}", short(&s)),
                Some(
                    "write it as http://HOST:PORT or http://USER:PASSWORD@HOST:PORT/, with %XX for any other character"
                        .into(),
                ),
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

/// What is wrong with an http(s) proxy URL, if anything. stackprov writes it
/// into apt.conf (`Acquire::http::Proxy "URL";`, where a quoted value has no
/// escape at all, and `"`, `;`, `{` and `}` end or open statements) and into
/// yum.conf/dnf.conf (`proxy = URL`, where `$` starts a variable and a line
/// break a new key), so only a URL of URL-safe characters is accepted:
/// `http(s)://[USER[:PASSWORD]@]HOST[:PORT][/PATH]` of letters, digits,
/// `-._~` and `%XX` escapes, with `:`, `@`, `/`, `[` and `]` only where the
/// URL syntax puts them.
pub(crate) fn proxy_url_problem(s: &str) -> Option<String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))?;
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if let Some(c) = rest
        .chars()
        .find(|c| !(unreserved(*c) || ":/@%[]".contains(*c)))
    {
        return Some(format!(
            "has `{}`, which a package proxy URL cannot contain",
            crate::secrets::encoding::shown(c)
        ));
    }
    let b = rest.as_bytes();
    for (i, _) in rest.match_indices('%') {
        if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
            return Some("has a `%` that does not start a %XX escape".into());
        }
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if path.contains(['@', '[', ']']) {
        return Some("has `@`, `[` or `]` after the host".into());
    }
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            if userinfo.is_empty() || userinfo.contains(['@', '[', ']']) {
                return Some("has a malformed `USER:PASSWORD@` part".into());
            }
            hostport
        }
        None => authority,
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Some("has a `[` without its `]`".into());
        };
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Some(format!("has `[{addr}]`, which is not an IPv6 address"));
        }
        match after {
            "" => (addr, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (addr, Some(p)),
                None => return Some("has something other than `:PORT` after `]`".into()),
            },
        }
    } else {
        if hostport.contains(['[', ']']) {
            return Some("has `[` or `]` outside an IPv6 address".into());
        }
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':')
    {
        return Some("has no host name or address".into());
    }
    if let Some(p) = port
        && !(p.len() <= 5
            && p.bytes().all(|d| d.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n)))
    {
        return Some(format!(
            "has `{p}` as its port; a port is a number from 1 to 65535"
        ));
    }
    None
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

#[cfg(test)]
mod tests {
    use super::proxy_url_problem;

    #[test]
    fn proxy_urls_are_url_safe_characters_in_url_syntax() {
        for ok in [
            "http://10.0.0.1:3128",
            "https://proxy.example.com/",
            "http://user:p%40ss@proxy:8080/apt/",
            "http://[fd00::1]:3142",
        ] {
            assert_eq!(proxy_url_problem(ok), None, "{ok}");
        }
        for (bad, problem) in [
            (
                "http://p:3128\";Dpkg::Pre-Invoke{\"id\";};",
                "has `\"`, which a package proxy URL cannot contain",
            ),
            (
                "http://p:3128/$releasever",
                "has `$`, which a package proxy URL cannot contain",
            ),
            (
                "http://p:3128\r",
                "has `\\r`, which a package proxy URL cannot contain",
            ),
            (
                "http://p:3128/%zz",
                "has a `%` that does not start a %XX escape",
            ),
            (
                "http://p:3128/%4",
                "has a `%` that does not start a %XX escape",
            ),
            ("http://:3128", "has no host name or address"),
            (
                "http://p:0",
                "has `0` as its port; a port is a number from 1 to 65535",
            ),
            (
                "http://p:99999",
                "has `99999` as its port; a port is a number from 1 to 65535",
            ),
            (
                "http://p:31:28",
                "has `31:28` as its port; a port is a number from 1 to 65535",
            ),
            ("http://@p", "has a malformed `USER:PASSWORD@` part"),
            ("http://p/a@b", "has `@`, `[` or `]` after the host"),
            ("http://[zz]:1", "has `[zz]`, which is not an IPv6 address"),
        ] {
            assert_eq!(proxy_url_problem(bad).as_deref(), Some(problem), "{bad}");
        }
    }
}
