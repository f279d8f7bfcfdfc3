//! Site YAML tree → [`Site`], collecting every problem with its position.

use super::{Host, MAX_SITE_BYTES, Overrides, ROLES, Site};
use crate::desired::release::{Choices, IdentityApi, RELEASES, Release, TokenProvider};
use crate::site::diagnostic::{Diagnostic, did_you_mean};
use crate::transport::HostKeyPolicy;
use crate::yaml::{self, Mark, Node, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SITE_KEYS: &[&str] = &[
    "site",
    "release",
    "region",
    "controller",
    "package_proxy",
    "secrets_file",
    "known_hosts",
    "host_key_policy",
    "hosts",
    "overrides",
    "token_provider",
    "identity_api",
    "glance_registry",
];
const HOST_KEYS: &[&str] = &[
    "name",
    "address",
    "port",
    "user",
    "become",
    "identity_file",
    "roles",
];

pub(super) fn site_from_bytes(path: &Path, bytes: &[u8]) -> Result<Site, Vec<Diagnostic>> {
    let start = Mark { line: 1, col: 1 };
    if bytes.len() > MAX_SITE_BYTES {
        return Err(vec![
            Diagnostic::new(
                path,
                start,
                "",
                format!(
                    "the file is {} bytes; site files are limited to {MAX_SITE_BYTES}",
                    bytes.len()
                ),
            )
            .hint("is this the right file?"),
        ]);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let col = good.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            return Err(vec![
                Diagnostic::new(
                    path,
                    Mark { line, col },
                    "",
                    "the file is not valid UTF-8 text",
                )
                .hint("site files are YAML text; is this a binary file?"),
            ]);
        }
    };
    let root = yaml::parse(text).map_err(|e| {
        vec![Diagnostic::new(
            path,
            e.mark,
            "",
            format!("invalid YAML: {}", e.message),
        )]
    })?;
    let mut cx = Ctx {
        file: path,
        errors: Vec::new(),
    };
    let site = cx.site(path, &root);
    match site {
        Some(site) if cx.errors.is_empty() => Ok(site),
        _ => {
            cx.errors.sort_by_key(|d| (d.line, d.col));
            Err(cx.errors)
        }
    }
}

struct Ctx<'a> {
    file: &'a Path,
    errors: Vec<Diagnostic>,
}

/// A mapping being read: keys taken are marked used; the rest are unknown.
struct Fields<'n> {
    node: &'n Node,
    path: String,
    entries: &'n [(Node, Node)],
    used: Vec<bool>,
}

impl<'n> Fields<'n> {
    fn get(&mut self, key: &str) -> Option<&'n Node> {
        let i = self
            .entries
            .iter()
            .position(|(k, _)| k.as_str() == Some(key))?;
        self.used[i] = true;
        Some(&self.entries[i].1)
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl Ctx<'_> {
    fn error(&mut self, mark: Mark, path: &str, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::new(self.file, mark, path, message);
        d.hint = hint;
        self.errors.push(d);
    }

    fn fields<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Option<Fields<'n>> {
        match &node.value {
            Value::Map(entries) => Some(Fields {
                node,
                path: path.to_string(),
                entries,
                used: vec![false; entries.len()],
            }),
            _ => {
                let hint = path.is_empty().then(|| {
                    "a site file maps `site`, `release`, `controller` and `hosts`; see examples/site.yaml".to_string()
                });
                self.error(
                    node.mark,
                    path,
                    format!("expected {what} (a mapping), found {}", node.kind()),
                    hint,
                );
                None
            }
        }
    }

    /// Report keys nobody took, with a suggestion.
    fn finish(&mut self, f: Fields<'_>, allowed: &[&str]) {
        for ((k, _), used) in f.entries.iter().zip(&f.used) {
            if *used {
                continue;
            }
            let key = k.as_str().unwrap_or_default();
            let hint = match did_you_mean(key, allowed.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known keys: {}", allowed.join(", ")),
            };
            self.error(
                k.mark,
                &f.child(key),
                format!("unknown key `{key}`"),
                Some(hint),
            );
        }
    }

    fn required<'n>(&mut self, f: &mut Fields<'n>, key: &str, example: &str) -> Option<&'n Node> {
        let n = f.get(key);
        if n.is_none() || matches!(n.map(|n| &n.value), Some(Value::Null)) {
            // a block mapping's own mark is after its first key; point at that key's line start
            let start = f.entries.first().map_or(f.node.mark, |(k, _)| k.mark);
            let mark = n.map_or(start, |n| n.mark);
            self.error(
                mark,
                &f.child(key),
                format!("missing required key `{key}`"),
                Some(format!("add `{key}: {example}`")),
            );
            return None;
        }
        n
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
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
    fn word(
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

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
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

    fn local_path(&mut self, node: &Node, path: &str, base: &Path) -> Option<PathBuf> {
        let s = self.string(node, path)?;
        if s.is_empty() {
            self.error(node.mark, path, "empty path", None);
            return None;
        }
        Some(resolve(base, &s))
    }

    fn site(&mut self, path: &Path, root: &Node) -> Option<Site> {
        if root.value == Value::Null {
            self.error(
                root.mark,
                "",
                "the site file is empty",
                Some("start from examples/site.yaml".into()),
            );
            return None;
        }
        let mut f = self.fields(root, "", "a site definition")?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));

        let name = self
            .required(&mut f, "site", "my-cloud")
            .and_then(|n| self.word(n, "site", "site name", is_name_char));
        let release = self
            .required(&mut f, "release", "zed")
            .and_then(|n| self.release(n));
        let region = match f.get("region") {
            Some(n) => self.word(n, "region", "region name", is_name_char),
            None => Some("RegionOne".to_string()),
        };
        let controller = self
            .required(&mut f, "controller", "controller")
            .and_then(|n| self.word(n, "controller", "host name", is_host_char));
        let package_proxy = f.get("package_proxy").and_then(|n| {
            let s = self.string(n, "package_proxy")?;
            if !(s.starts_with("http://") || s.starts_with("https://"))
                || s.chars().any(char::is_whitespace)
            {
                self.error(
                    n.mark,
                    "package_proxy",
                    format!("`{s}` is not an http(s) URL"),
                    Some("write it as http://HOST:PORT".into()),
                );
                return None;
            }
            Some(s)
        });
        let secrets_file = match f.get("secrets_file") {
            Some(n) => self.local_path(n, "secrets_file", &base),
            None => {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "site".into());
                Some(base.join(format!("{stem}.secrets.yaml")))
            }
        };
        let known_hosts = f
            .get("known_hosts")
            .and_then(|n| self.local_path(n, "known_hosts", &base));
        let host_key_policy = match f.get("host_key_policy") {
            None => Some(HostKeyPolicy::Strict),
            Some(n) => match n.as_str() {
                Some("strict") => Some(HostKeyPolicy::Strict),
                Some("accept-new") => Some(HostKeyPolicy::AcceptNew),
                _ => {
                    let hint = if matches!(
                        n.as_str(),
                        Some("no" | "off" | "none" | "false" | "insecure")
                    ) || n.kind() == "a boolean"
                    {
                        "host keys are always checked; use `accept-new` to record unknown keys on first contact".to_string()
                    } else {
                        "one of: strict, accept-new".to_string()
                    };
                    self.error(
                        n.mark,
                        "host_key_policy",
                        format!(
                            "unknown host key policy `{}`",
                            n.as_str().unwrap_or(n.kind())
                        ),
                        Some(hint),
                    );
                    None
                }
            },
        };
        let hosts = self
            .required(
                &mut f,
                "hosts",
                "[{name: controller, address: 192.0.2.10, roles: [base]}]",
            )
            .and_then(|n| self.hosts(n, &base));
        let overrides = match f.get("overrides") {
            Some(n) => self.overrides(n),
            None => Some(BTreeMap::new()),
        };
        let choices = release.and_then(|r| self.choices(&mut f, r));
        self.finish(f, SITE_KEYS);

        if let Some(hosts) = &hosts {
            self.cross_checks(hosts);
        }
        Some(Site {
            path: path.to_path_buf(),
            name: name?,
            release: release?,
            choices: choices?,
            region: region?,
            controller: controller?,
            package_proxy,
            secrets_file: secrets_file?,
            known_hosts,
            host_key_policy: host_key_policy?,
            hosts: hosts.map(|h| h.into_iter().map(|(h, _)| h).collect())?,
            overrides: overrides?,
        })
    }

    fn release(&mut self, n: &Node) -> Option<Release> {
        let s = self.string(n, "release")?;
        let r = Release::parse(&s);
        if r.is_none() {
            let hint = match did_you_mean(&s, RELEASES.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("one of: {} (or 2023.1, 2024.1, ...)", RELEASES.join(", ")),
            };
            self.error(
                n.mark,
                "release",
                format!("unknown OpenStack release `{s}`"),
                Some(hint),
            );
        }
        r
    }

    /// `token_provider`, `identity_api` and `glance_registry`: the release's
    /// defaults unless given, and refused when the release does not have them.
    fn choices(&mut self, f: &mut Fields<'_>, release: Release) -> Option<Choices> {
        let mut c = release.default_choices();
        let mut ok = true;
        let d = release.default_choices();
        let hint_for = |key: &str| {
            let default = match key {
                "token_provider" => serde_json::to_value(d.token_provider),
                "identity_api" => serde_json::to_value(d.identity_api),
                _ => serde_json::to_value(d.glance_registry),
            }
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .unwrap_or_default();
            format!(
                "remove the key ({release} defaults to `{key}: {default}`), or choose another release"
            )
        };
        if let Some(n) = f.get("token_provider") {
            match n.as_str().and_then(TokenProvider::parse) {
                None => {
                    self.error(
                        n.mark,
                        "token_provider",
                        format!(
                            "unknown token provider `{}`",
                            n.as_str().unwrap_or(n.kind())
                        ),
                        Some(format!("one of: {}", TokenProvider::NAMES.join(", "))),
                    );
                    ok = false;
                }
                Some(p) => match release.check_token_provider(p) {
                    Ok(()) => c.token_provider = p,
                    Err(why) => {
                        self.error(
                            n.mark,
                            "token_provider",
                            format!(
                                "`{}` is not available in {release}: {why}",
                                n.as_str().unwrap_or_default()
                            ),
                            Some(hint_for("token_provider")),
                        );
                        ok = false;
                    }
                },
            }
        }
        if let Some(n) = f.get("identity_api") {
            match n.as_str().and_then(IdentityApi::parse) {
                None => {
                    self.error(
                        n.mark,
                        "identity_api",
                        format!("unknown Identity API `{}`", n.as_str().unwrap_or(n.kind())),
                        Some(format!(
                            "one of: {} (quote `\"v2.0\"` if you like)",
                            IdentityApi::NAMES.join(", ")
                        )),
                    );
                    ok = false;
                }
                Some(api) => match release.check_identity_api(api) {
                    Ok(()) => c.identity_api = api,
                    Err(why) => {
                        self.error(
                            n.mark,
                            "identity_api",
                            format!(
                                "`{}` is not available in {release}: {why}",
                                n.as_str().unwrap_or_default()
                            ),
                            Some(hint_for("identity_api")),
                        );
                        ok = false;
                    }
                },
            }
        }
        if let Some(n) = f.get("glance_registry") {
            match self.boolean(n, "glance_registry") {
                None => ok = false,
                Some(wanted) => match release.check_glance_registry(wanted) {
                    Ok(()) => c.glance_registry = wanted,
                    Err(why) => {
                        self.error(
                            n.mark,
                            "glance_registry",
                            format!("glance-registry is not available in {release}: {why}"),
                            Some(hint_for("glance_registry")),
                        );
                        ok = false;
                    }
                },
            }
        }
        ok.then_some(c)
    }

    fn hosts(&mut self, n: &Node, base: &Path) -> Option<Vec<(Host, Mark)>> {
        let Value::Seq(items) = &n.value else {
            self.error(
                n.mark,
                "hosts",
                format!("expected a list of hosts, found {}", n.kind()),
                Some("write `hosts:` followed by `- name: ...` entries".into()),
            );
            return None;
        };
        if items.is_empty() {
            self.error(
                n.mark,
                "hosts",
                "no hosts",
                Some("add at least one host with `name`, `address` and `roles`".into()),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.host(item, &format!("hosts[{i}]"), base) {
                Some(h) => {
                    if let Some((_, first)) =
                        out.iter().find(|(o, _): &&(Host, Mark)| o.name == h.name)
                    {
                        self.error(
                            item.mark,
                            &format!("hosts[{i}].name"),
                            format!(
                                "duplicate host name `{}` (first at line {})",
                                h.name, first.line
                            ),
                            Some("host names must be unique".into()),
                        );
                        ok = false;
                    }
                    out.push((h, item.mark));
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn host(&mut self, n: &Node, path: &str, base: &Path) -> Option<Host> {
        let mut f = self.fields(n, path, "a host")?;
        let name = self
            .required(&mut f, "name", "controller")
            .and_then(|v| self.word(v, &format!("{path}.name"), "host name", is_host_char));
        let address = self
            .required(&mut f, "address", "192.0.2.10")
            .and_then(|v| self.word(v, &format!("{path}.address"), "address", is_address_char));
        let port = match f.get("port") {
            None => Some(22),
            Some(v) => {
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
                        &format!("{path}.port"),
                        format!("`{}` is not a TCP port", v.as_str().unwrap_or(v.kind())),
                        Some("a number from 1 to 65535, e.g. `port: 22`".into()),
                    );
                }
                p
            }
        };
        let user = match f.get("user") {
            None => Some("root".to_string()),
            Some(v) => self.word(v, &format!("{path}.user"), "user name", is_user_char),
        };
        let become_root = match f.get("become") {
            None => Some(false),
            Some(v) => self.boolean(v, &format!("{path}.become")),
        };
        let identity_file = f.get("identity_file").and_then(|v| {
            let p = self.local_path(v, &format!("{path}.identity_file"), base)?;
            if !p.is_file() {
                self.error(v.mark, &format!("{path}.identity_file"), format!("identity file {} does not exist", p.display()), Some("paths are relative to the site file; remove the key to use ssh-agent and ~/.ssh".into()));
                return None;
            }
            Some(p)
        });
        let roles = match f.get("roles") {
            None => Some(Vec::new()),
            Some(v) => self.roles(v, &format!("{path}.roles")),
        };
        self.finish(f, HOST_KEYS);
        let (user, become_root) = (user?, become_root?);
        Some(Host {
            name: name?,
            address: address?,
            port: port?,
            user,
            become_root,
            identity_file,
            roles: roles?,
        })
    }

    fn roles(&mut self, n: &Node, path: &str) -> Option<Vec<String>> {
        let Value::Seq(items) = &n.value else {
            self.error(
                n.mark,
                path,
                format!("expected a list of roles, found {}", n.kind()),
                Some(format!(
                    "e.g. `roles: [base, mariadb]`; known roles: {}",
                    ROLES.join(", ")
                )),
            );
            return None;
        };
        let mut named = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(r) = self.string(item, &p) else {
                ok = false;
                continue;
            };
            if !ROLES.contains(&r.as_str()) {
                let hint = match did_you_mean(&r, ROLES.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known roles: {}", ROLES.join(", ")),
                };
                self.error(item.mark, &p, format!("unknown role `{r}`"), Some(hint));
                ok = false;
            } else if named.contains(&r) {
                self.error(item.mark, &p, format!("role `{r}` is listed twice"), None);
                ok = false;
            } else {
                named.push(r);
            }
        }
        // applied in the canonical order, whatever order the file lists them in
        ok.then(|| {
            ROLES
                .iter()
                .filter(|r| named.iter().any(|n| n == *r))
                .map(|r| r.to_string())
                .collect()
        })
    }

    fn overrides(&mut self, n: &Node) -> Option<Overrides> {
        let files = self.fields(n, "overrides", "file paths mapped to INI sections")?;
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (k, v) in files.entries {
            let file = k.as_str().unwrap_or_default().to_string();
            let fpath = format!("overrides.{file}");
            if !file.starts_with('/') {
                self.error(
                    k.mark,
                    &fpath,
                    format!("`{file}` is not an absolute path"),
                    Some("name the rendered file, e.g. /etc/keystone/keystone.conf".into()),
                );
                ok = false;
                continue;
            }
            let Some(sections) = self.fields(v, &fpath, "INI sections") else {
                ok = false;
                continue;
            };
            let mut secs = BTreeMap::new();
            for (sk, sv) in sections.entries {
                let sname = sk.as_str().unwrap_or_default().to_string();
                let spath = format!("{fpath}.{sname}");
                if sname.is_empty() || sname.contains([']', '[', '\n']) {
                    self.error(
                        sk.mark,
                        &spath,
                        format!("`{sname}` is not an INI section name"),
                        None,
                    );
                    ok = false;
                    continue;
                }
                let Some(keys) = self.fields(sv, &spath, "INI keys and values") else {
                    ok = false;
                    continue;
                };
                let mut kv = BTreeMap::new();
                for (kk, kvn) in keys.entries {
                    let key = kk.as_str().unwrap_or_default().to_string();
                    let kpath = format!("{spath}.{key}");
                    if key.is_empty()
                        || !key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                    {
                        self.error(
                            kk.mark,
                            &kpath,
                            format!("`{key}` is not an INI key"),
                            Some("keys are letters, digits, `_`, `-` and `.`".into()),
                        );
                        ok = false;
                        continue;
                    }
                    match &kvn.value {
                        Value::Scalar { text, .. } if !text.contains('\n') => {
                            kv.insert(key, text.clone());
                        }
                        _ => {
                            self.error(
                                kvn.mark,
                                &kpath,
                                format!("expected a one-line value, found {}", kvn.kind()),
                                None,
                            );
                            ok = false;
                        }
                    }
                }
                secs.insert(sname, kv);
            }
            out.insert(file, secs);
        }
        ok.then_some(out)
    }

    fn cross_checks(&mut self, hosts: &[(Host, Mark)]) {
        let with = |role: &str| {
            hosts
                .iter()
                .enumerate()
                .filter(|(_, (h, _))| h.has_role(role))
                .collect::<Vec<_>>()
        };
        for role in ["mariadb", "keystone", "glance"] {
            let list = with(role);
            if let [(_, (first, _)), (i, (_, mark)), ..] = list.as_slice() {
                self.error(
                    *mark,
                    &format!("hosts[{i}].roles"),
                    format!(
                        "role `{role}` is on {} hosts; stackprov builds one controller",
                        list.len()
                    ),
                    Some(format!("keep `{role}` on host `{}` only", first.name)),
                );
            }
        }
        let keystone_host = with("keystone").first().map(|(_, (h, _))| h.name.clone());
        for role in ["glance", "openrc"] {
            for (i, (h, mark)) in with(role) {
                if keystone_host.is_none() {
                    self.error(
                        *mark,
                        &format!("hosts[{i}].roles"),
                        format!("role `{role}` needs a host with role `keystone`"),
                        Some(format!("add `keystone` to the roles of host `{}`", h.name)),
                    );
                }
            }
        }
        for (i, (h, mark)) in with("keystone").into_iter().chain(with("glance")) {
            if !h.has_role("mariadb") {
                self.error(
                    *mark,
                    &format!("hosts[{i}].roles"),
                    format!(
                        "role `{}` needs role `mariadb` on the same host",
                        if h.has_role("keystone") {
                            "keystone"
                        } else {
                            "glance"
                        }
                    ),
                    Some(format!("add `mariadb` to the roles of host `{}`", h.name)),
                );
            }
        }
        for (i, (h, mark)) in hosts.iter().enumerate() {
            if h.user != "root" && !h.become_root && !h.roles.is_empty() {
                self.error(*mark, &format!("hosts[{i}].become"), format!("user `{}` is not root and `become` is false, so roles cannot install packages", h.user), Some("add `become: true` (passwordless sudo) or use `user: root`".into()));
            }
        }
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

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}
fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}
fn is_address_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':'
}
fn is_user_char(c: char) -> bool {
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
