//! Site YAML tree → [`Site`], collecting every problem with its position.

use super::{Choices, Ha, Host, MAX_SITE_BYTES, Site};
use crate::model::diagnostic::{Diagnostic, did_you_mean, short};
use crate::site::schema::{HOST_KEY_POLICIES, Key, SITE_KEYS};
use crate::transport::HostKeyPolicy;
use crate::yaml::{self, Mark, Node, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod ha;
mod hosts;
mod overrides;
mod release;
mod values;

use release::RELEASE_CHOICE_KEYS;

use values::is_name_char;

pub(super) fn site_from_bytes(
    path: &Path,
    bytes: &[u8],
    rules: &crate::site::Rules<'_>,
) -> Result<Site, Vec<Diagnostic>> {
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
    // editors that write a byte order mark do not show it, so neither do we
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(d) = control_character(path, text) {
        return Err(vec![d]);
    }
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
        roles: rules.roles,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let site = cx.site(path, &root);
    // what only the roles can judge, on the site as it was read
    if let Some(site) = &site {
        cx.errors.extend((rules.check)(site));
    }
    match site {
        Some(mut site) if cx.errors.is_empty() => {
            site.warnings = cx.warnings;
            Ok(site)
        }
        _ => {
            cx.errors.sort_by_key(|d| (d.line, d.col));
            Err(cx.errors)
        }
    }
}

/// The first character YAML text may not hold (C0 and C1 controls but tab,
/// line feed and carriage return; DEL). The YAML reader would take a NUL for
/// the end of the file and read on past the others, so refuse them all.
fn control_character(path: &Path, text: &str) -> Option<Diagnostic> {
    let at = text.find(|c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))?;
    let c = text[at..].chars().next()?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    let (message, hint) = if c == '\0' {
        (
            "the file holds a NUL byte, which YAML text may not contain".to_string(),
            "site files are YAML text; is this a binary file?",
        )
    } else {
        (
            format!(
                "the file holds the control character {}, which YAML text may not contain",
                c.escape_unicode()
            ),
            "remove it; editors may not show it",
        )
    };
    Some(Diagnostic::new(path, Mark { line, col }, "", message).hint(hint))
}

struct Ctx<'a> {
    file: &'a Path,
    /// The roles the playbooks declare.
    roles: &'a crate::model::Roles,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

/// A mapping being read: keys taken are marked used; the rest are unknown.
struct Fields<'n> {
    node: &'n Node,
    path: String,
    entries: &'n [(Node, Node)],
    used: Vec<bool>,
    /// The keys the mapping may hold (see [`crate::site::schema`]); empty
    /// for a free-form mapping, whose entries are read directly.
    keys: &'static [Key],
}

impl<'n> Fields<'n> {
    fn get(&mut self, key: &str) -> Option<&'n Node> {
        debug_assert!(
            self.keys.iter().any(|k| k.name == key),
            "`{key}` is read but not listed in site::schema"
        );
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
    fn warning(&mut self, mark: Mark, path: &str, message: impl Into<String>, hint: &str) {
        self.warnings
            .push(Diagnostic::new(self.file, mark, path, message).hint(hint));
    }

    fn error(&mut self, mark: Mark, path: &str, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::new(self.file, mark, path, message);
        d.hint = hint;
        self.errors.push(d);
    }

    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
        keys: &'static [Key],
    ) -> Option<Fields<'n>> {
        match &node.value {
            Value::Map(entries) => Some(Fields {
                node,
                path: path.to_string(),
                entries,
                used: vec![false; entries.len()],
                keys,
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

    /// Report keys nobody took, with a suggestion from the mapping's keys.
    fn finish(&mut self, f: Fields<'_>) {
        let allowed: Vec<&str> = f.keys.iter().map(|k| k.name).collect();
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
                &f.child(&short(key)),
                format!("unknown key `{}`", short(key)),
                Some(hint),
            );
        }
    }

    /// A key listed as required in [`crate::site::schema`]; when missing, the
    /// hint suggests the example value listed there.
    fn required<'n>(&mut self, f: &mut Fields<'n>, key: &str) -> Option<&'n Node> {
        let example = f
            .keys
            .iter()
            .find(|k| k.name == key)
            .and_then(|k| k.required);
        debug_assert!(
            example.is_some(),
            "`{key}` is not a required key in site::schema"
        );
        let example = example.unwrap_or_default();
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
        let mut f = self.fields(root, "", "a site definition", SITE_KEYS)?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));

        let name = self
            .required(&mut f, "site")
            .and_then(|n| self.word(n, "site", "site name", is_name_char));
        let release = self
            .required(&mut f, "release")
            .and_then(|n| self.release(n));
        let region = match f.get("region") {
            Some(n) => self.word(n, "region", "region name", is_name_char),
            None => Some("RegionOne".to_string()),
        };
        let controller = self
            .required(&mut f, "controller")
            .and_then(|n| self.host_name(n, "controller"));
        let package_proxy = f
            .get("package_proxy")
            .and_then(|n| self.proxy_url(n, "package_proxy"));
        let forks = match f.get("forks") {
            None => Some(None),
            Some(n) => self.forks(n).map(Some),
        };
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
        let host_key_policy = self.host_key_policy(f.get("host_key_policy"));
        let hosts = self
            .required(&mut f, "hosts")
            .and_then(|n| self.hosts(n, &base));
        let overrides_node = f.get("overrides");
        let overrides = match overrides_node {
            Some(n) => self.overrides(n),
            None => Some(BTreeMap::new()),
        };
        let places = overrides_node.map(overrides::places).unwrap_or_default();
        let ha_node = f.get("ha");
        let controller_mark = f
            .entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("controller"))
            .map_or(root.mark, |(_, v)| v.mark);
        let ha_mark = f
            .entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("ha"))
            .map(|(k, _)| k.mark);
        let choices = match release {
            Some(r) => self.choices(&mut f, r),
            None => {
                // they are checked against the release, which is already
                // reported: taken here so they are not also "unknown keys"
                for key in RELEASE_CHOICE_KEYS {
                    f.get(key);
                }
                None
            }
        };
        self.finish(f);

        if let Some(hosts) = &hosts {
            self.cross_checks(hosts, ha_node.is_some());
        }
        let ha = self.ha_of(ha_node, ha_mark, hosts.as_deref(), choices.as_ref());
        if let (Some(Some(_)), Some(c), Some(hosts)) = (&ha, &controller, &hosts) {
            self.controller_is_the_vip(controller_mark, c, hosts);
        }
        let site = Site {
            path: path.to_path_buf(),
            name: name?,
            release: release?,
            choices: choices?,
            region: region?,
            controller: controller?,
            package_proxy,
            forks: forks?,
            secrets_file: secrets_file?,
            known_hosts,
            host_key_policy: host_key_policy?,
            hosts: hosts.map(|h| h.into_iter().map(|(h, _)| h).collect())?,
            overrides: overrides?,
            ha: ha?,
            places,
            warnings: Vec::new(),
            index: Default::default(),
        }
        .indexed();
        Some(site)
    }

    /// `host_key_policy` (default strict); unknown names are an error that
    /// says host keys are always checked.
    fn host_key_policy(&mut self, v: Option<&Node>) -> Option<HostKeyPolicy> {
        match v {
            None => Some(HostKeyPolicy::Strict),
            Some(n) => match HOST_KEY_POLICIES
                .iter()
                .find(|(name, _)| n.as_str() == Some(*name))
            {
                Some((_, policy)) => Some(*policy),
                None => {
                    let hint = if matches!(
                        n.as_str(),
                        Some("no" | "off" | "none" | "false" | "insecure")
                    ) || n.kind() == "a boolean"
                    {
                        "host keys are always checked; use `accept-new` to record unknown keys on first contact".to_string()
                    } else {
                        let names: Vec<&str> = HOST_KEY_POLICIES.iter().map(|(n, _)| *n).collect();
                        format!("one of: {}", names.join(", "))
                    };
                    self.error(
                        n.mark,
                        "host_key_policy",
                        format!(
                            "unknown host key policy `{}`",
                            short(n.as_str().unwrap_or(n.kind()))
                        ),
                        Some(hint),
                    );
                    None
                }
            },
        }
    }

    /// The `ha` block, checked against the hosts; a site without one has no
    /// host with a role that `needs_ha` either.
    /// In an HA site `controller` names the VIP, which no host has.
    fn controller_is_the_vip(&mut self, mark: Mark, controller: &str, hosts: &[(Host, Mark)]) {
        let Some(host) = hosts
            .iter()
            .find(|(h, _)| h.name.eq_ignore_ascii_case(controller))
        else {
            return;
        };
        self.error(
            mark,
            "controller",
            format!(
                "`{controller}` is host `{}`; in an HA site `controller` is the VIP's name, which clients reach whichever controller holds it",
                host.0.name
            ),
            Some("a name that resolves to `ha.vip` (DNS or /etc/hosts), e.g. `controller: openstack`".into()),
        );
    }

    fn ha_of(
        &mut self,
        ha_node: Option<&Node>,
        ha_mark: Option<Mark>,
        hosts: Option<&[(Host, Mark)]>,
        choices: Option<&Choices>,
    ) -> Option<Option<Ha>> {
        match (ha_node, hosts) {
            (None, hosts) => {
                if let Some(hosts) = hosts {
                    self.ha_role_without_ha(hosts);
                }
                Some(None)
            }
            (Some(n), Some(hosts)) => self
                .ha(n, ha_mark.unwrap_or(n.mark), hosts, choices)
                .map(Some),
            (Some(_), None) => None,
        }
    }
}
