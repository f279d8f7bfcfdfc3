//! The part of OpenSSH's `ssh_config` that stackprov honours: `Host` blocks with
//! `HostName`, `User`, `Port`, `IdentityFile` and `ProxyJump`.
//!
//! As in OpenSSH, keywords are case-insensitive, `key value` and `key=value` both
//! work, the first value obtained for a keyword wins (so specific blocks go first),
//! and `IdentityFile` accumulates. Host patterns support `*`, `?` and `!negation`.
//! `Match` blocks and `Include` are not evaluated (a `Match` block is skipped).

use std::path::{Path, PathBuf};

/// What ~/.ssh/config says about one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<String>,
    pub proxy_jump: Option<String>,
    /// A pattern other than a bare `*` matched (the name is a real alias).
    pub specific: bool,
}

/// Evaluate `text` (an ssh_config file) for host `host`.
pub fn lookup(text: &str, host: &str) -> HostConfig {
    let mut cfg = HostConfig::default();
    let mut active = true; // lines before the first Host apply to all hosts
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = split_kv(line);
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "host" => {
                let (m, specific) = host_matches(&value, host);
                active = m;
                if m && specific {
                    cfg.specific = true;
                }
                continue;
            }
            "match" => {
                active = false;
                continue;
            }
            _ => {}
        }
        if !active {
            continue;
        }
        let value = unquote(&value);
        match key.as_str() {
            "hostname" if cfg.hostname.is_none() => cfg.hostname = Some(value),
            "user" if cfg.user.is_none() => cfg.user = Some(value),
            "port" if cfg.port.is_none() => cfg.port = value.parse().ok(),
            "identityfile" => cfg.identity_files.push(value),
            "proxyjump" if cfg.proxy_jump.is_none() => cfg.proxy_jump = Some(value),
            _ => {}
        }
    }
    if let Some(h) = &cfg.hostname {
        cfg.hostname = Some(h.replace("%h", host).replace("%%", "%"));
    }
    cfg
}

fn split_kv(line: &str) -> (String, String) {
    let idx = line.find(|c: char| c.is_whitespace() || c == '=');
    match idx {
        None => (line.to_string(), String::new()),
        Some(i) => {
            let key = &line[..i];
            let rest = line[i..].trim_start();
            let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
            (key.to_string(), rest.to_string())
        }
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// (matches, matched by a pattern other than `*`). A negated pattern that matches
/// cancels the block, as in OpenSSH.
fn host_matches(patterns: &str, host: &str) -> (bool, bool) {
    let mut matched = false;
    let mut specific = false;
    for pat in patterns.split_whitespace() {
        let pat = unquote(pat);
        if let Some(neg) = pat.strip_prefix('!') {
            if glob(&neg.to_ascii_lowercase(), &host.to_ascii_lowercase()) {
                return (false, false);
            }
        } else if glob(&pat.to_ascii_lowercase(), &host.to_ascii_lowercase()) {
            matched = true;
            if pat != "*" {
                specific = true;
            }
        }
    }
    (matched, specific)
}

/// `*` and `?` wildcards.
pub fn glob(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A `ProxyJump` value `[user@]host[:port]` (also `ssh://[user@]host[:port]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpSpec {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// A ProxyJump value stackprov cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ProxyJump {value:?}{problem}")]
pub struct JumpError {
    pub value: String,
    /// What is wrong, as the message's tail.
    pub problem: String,
}

pub fn parse_jump(value: &str) -> Result<Option<JumpSpec>, JumpError> {
    let bad = |problem: String| JumpError {
        value: value.trim().to_string(),
        problem,
    };
    let v = value.trim();
    if v.eq_ignore_ascii_case("none") || v.is_empty() {
        return Ok(None);
    }
    if v.contains(',') {
        return Err(bad(
            " names several jump hosts; stackprov supports exactly one".into(),
        ));
    }
    let v = v.strip_prefix("ssh://").unwrap_or(v);
    let (user, hostport) = match v.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, v),
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) => (h.to_string(), tail.strip_prefix(':')),
            None => return Err(bad(": unbalanced '['".into())),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| bad(format!(": bad port {p:?}")))?,
        ),
        None => None,
    };
    Ok(Some(JumpSpec { user, host, port }))
}

/// Expand `~` and the `%d` (home), `%h` (host), `%r` (remote user), `%u` (local
/// user), `%%` tokens in an IdentityFile.
pub fn expand_path(p: &str, home: &Path, host: &str, ruser: &str) -> PathBuf {
    let local_user = std::env::var("USER").unwrap_or_default();
    let mut s = if let Some(rest) = p.strip_prefix("~/") {
        format!("{}/{}", home.display(), rest)
    } else if p == "~" {
        home.display().to_string()
    } else {
        p.to_string()
    };
    s = s
        .replace("%d", &home.display().to_string())
        .replace("%h", host)
        .replace("%r", ruser)
        .replace("%u", &local_user)
        .replace("%%", "%");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "\
# comment
Host ctl ctl.example
    HostName 10.0.0.5
    User admin
    Port=2222
    IdentityFile ~/.ssh/ctl_key
    ProxyJump jump@bastion:2200

Host *.internal !secret.internal
    User internal

Host *
    User fallback
    IdentityFile ~/.ssh/id_other
    Port 22
";

    #[test]
    fn first_value_wins_and_identity_accumulates() {
        let c = lookup(CFG, "ctl");
        assert_eq!(c.hostname.as_deref(), Some("10.0.0.5"));
        assert_eq!(c.user.as_deref(), Some("admin"));
        assert_eq!(c.port, Some(2222));
        assert_eq!(c.identity_files, vec!["~/.ssh/ctl_key", "~/.ssh/id_other"]);
        assert_eq!(c.proxy_jump.as_deref(), Some("jump@bastion:2200"));
        assert!(c.specific);
    }

    #[test]
    fn wildcards_and_negation() {
        let c = lookup(CFG, "db.internal");
        assert_eq!(c.user.as_deref(), Some("internal"));
        assert!(c.specific);
        let c = lookup(CFG, "secret.internal");
        assert_eq!(c.user.as_deref(), Some("fallback"));
        assert!(!c.specific);
        let c = lookup(CFG, "other");
        assert_eq!(c.hostname, None);
        assert_eq!(c.port, Some(22));
        assert!(!c.specific);
    }

    #[test]
    fn jump_specs() {
        assert_eq!(
            parse_jump("u@h:2200").unwrap(),
            Some(JumpSpec {
                user: Some("u".into()),
                host: "h".into(),
                port: Some(2200)
            })
        );
        assert_eq!(
            parse_jump("bastion").unwrap(),
            Some(JumpSpec {
                user: None,
                host: "bastion".into(),
                port: None
            })
        );
        assert_eq!(parse_jump("none").unwrap(), None);
        assert!(parse_jump("a,b").is_err());
        assert_eq!(parse_jump("[::1]:22").unwrap().unwrap().host, "::1");
    }

    #[test]
    fn glob_basics() {
        assert!(glob("*", "x"));
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(!glob("ctl", "ctl2"));
    }
}
