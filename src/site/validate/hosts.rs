//! `hosts`: each host's keys, its roles, and the checks across hosts (one
//! controller, roles that need each other).

use super::Ctx;
use crate::model::diagnostic::{did_you_mean, short};
use crate::site::Host;
use crate::site::schema::HOST_KEYS;
use crate::yaml::{Mark, Node, Value};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};

impl Ctx<'_> {
    pub(super) fn hosts(&mut self, n: &Node, base: &Path) -> Option<Vec<(Host, Mark)>> {
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
        let mut out: Vec<(Host, Mark)> = Vec::with_capacity(items.len());
        // lower-cased name → index in `out`: host names compare as DNS names do
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.host(item, &format!("hosts[{i}]"), base) {
                Some(h) => {
                    match seen.entry(h.name.to_ascii_lowercase()) {
                        Entry::Occupied(e) => {
                            let (first, mark) = &out[*e.get()];
                            let (message, hint) = if first.name == h.name {
                                (
                                    format!(
                                        "duplicate host name `{}` (first at line {})",
                                        h.name, mark.line
                                    ),
                                    "host names must be unique",
                                )
                            } else {
                                (
                                    format!(
                                        "duplicate host name `{}` (first at line {} as `{}`)",
                                        h.name, mark.line, first.name
                                    ),
                                    "host names must be unique, ignoring case (as in DNS)",
                                )
                            };
                            self.error(
                                item.mark,
                                &format!("hosts[{i}].name"),
                                message,
                                Some(hint.into()),
                            );
                            ok = false;
                        }
                        Entry::Vacant(e) => {
                            e.insert(out.len());
                        }
                    }
                    out.push((h, item.mark));
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn host(&mut self, n: &Node, path: &str, base: &Path) -> Option<Host> {
        let mut f = self.fields(n, path, "a host", HOST_KEYS)?;
        let name = self
            .required(&mut f, "name")
            .and_then(|v| self.host_name(v, &format!("{path}.name")));
        let address = self
            .required(&mut f, "address")
            .and_then(|v| self.address(v, &format!("{path}.address")));
        let port = match f.get("port") {
            None => Some(22),
            Some(v) => self.port(v, &format!("{path}.port")),
        };
        let user = match f.get("user") {
            None => Some("root".to_string()),
            Some(v) => self.user_name(v, &format!("{path}.user")),
        };
        let become_root = match f.get("become") {
            None => Some(false),
            Some(v) => self.boolean(v, &format!("{path}.become")),
        };
        let identity_file = f
            .get("identity_file")
            .and_then(|v| self.identity_file(v, &format!("{path}.identity_file"), base));
        let roles = match f.get("roles") {
            None => Some(Vec::new()),
            Some(v) => self.roles(v, &format!("{path}.roles")),
        };
        self.finish(f);
        let (user, become_root) = (user?, become_root?);
        Some(Host {
            name: name?,
            address: address?,
            port: port?,
            user,
            become_root,
            identity_file,
            controller: roles.as_ref().is_some_and(|r| {
                r.iter()
                    .any(|n| self.roles.get(n).is_some_and(|r| r.controller))
            }),
            roles: roles?,
        })
    }

    /// A host's `identity_file`: a regular file (or a link to one), never a
    /// directory, device, FIFO or socket, which ssh would fail on or hang
    /// reading. One that does not exist (yet) is only told: it may be made
    /// after the site file (vagrant/README.md's step 1), and only connecting
    /// needs it.
    fn identity_file(&mut self, v: &Node, at: &str, base: &Path) -> Option<PathBuf> {
        let p = self.local_path(v, at, base)?;
        let Ok(meta) = std::fs::metadata(&p) else {
            self.warning(v.mark, at, format!("identity file {} does not exist (yet): connecting to this host fails until it does", p.display()), "paths are relative to the site file; create the key (ssh-keygen -f PATH), or remove the key to use ssh-agent and ~/.ssh");
            return Some(p);
        };
        let Some(what) = crate::site::not_regular(&meta.file_type()) else {
            return Some(p);
        };
        let (message, hint) = if meta.is_dir() {
            (
                format!("identity file {} is a directory", p.display()),
                "name the private key file in it, e.g. `id_ed25519`",
            )
        } else {
            (
                format!(
                    "identity file {} is {what}, not a regular file",
                    p.display()
                ),
                "name a private key file (e.g. ~/.ssh/id_ed25519), or remove `identity_file` to use ssh-agent and ~/.ssh",
            )
        };
        self.error(v.mark, at, message, Some(hint.into()));
        None
    }

    fn roles(&mut self, n: &Node, path: &str) -> Option<Vec<String>> {
        let known = self.roles.names().collect::<Vec<_>>().join(", ");
        let Value::Seq(items) = &n.value else {
            self.error(
                n.mark,
                path,
                format!("expected a list of roles, found {}", n.kind()),
                Some(format!(
                    "e.g. `roles: [base, mariadb]`; known roles: {known}"
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
            if self.roles.get(&r).is_none() {
                let hint = match did_you_mean(&r, self.roles.names()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known roles: {known}"),
                };
                self.error(
                    item.mark,
                    &p,
                    format!("unknown role `{}`", short(&r)),
                    Some(hint),
                );
                ok = false;
            } else if named.contains(&r) {
                self.error(item.mark, &p, format!("role `{r}` is listed twice"), None);
                ok = false;
            } else {
                named.push(r);
            }
        }
        // applied in the roles' order, whatever order the file lists them
        // in, with the roles they include
        ok.then(|| self.roles.expand(&named))
    }

    /// What the roles declare of each other (see [`crate::model::Role`]):
    /// one host for a `single` role unless the site is HA (`ha`: whether it
    /// has an `ha:` block, whose own checks are in [`Ctx::ha`]), roles some
    /// host of the site must have, and roles needed on the same host.
    pub(super) fn cross_checks(&mut self, hosts: &[(Host, Mark)], ha: bool) {
        let roles = self.roles;
        let with = |role: &str| {
            hosts
                .iter()
                .enumerate()
                .filter(|(_, (h, _))| h.has_role(role))
                .collect::<Vec<_>>()
        };
        for role in roles.0.iter().filter(|r| r.single && !ha) {
            let role = role.name.as_str();
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
        for role in &roles.0 {
            for need in &role.requires_in_site {
                if !with(need).is_empty() {
                    continue;
                }
                for (i, (h, mark)) in with(&role.name) {
                    self.error(
                        *mark,
                        &format!("hosts[{i}].roles"),
                        format!("role `{}` needs a host with role `{need}`", role.name),
                        Some(format!("add `{need}` to the roles of host `{}`", h.name)),
                    );
                }
            }
        }
        for role in &roles.0 {
            for need in &role.requires {
                for (i, (h, mark)) in with(&role.name) {
                    if !h.has_role(need) {
                        self.error(
                            *mark,
                            &format!("hosts[{i}].roles"),
                            format!("role `{}` needs role `{need}` on the same host", role.name),
                            Some(format!("add `{need}` to the roles of host `{}`", h.name)),
                        );
                    }
                }
            }
        }
        for (i, (h, mark)) in hosts.iter().enumerate() {
            if h.user != "root" && !h.become_root && !h.roles.is_empty() {
                self.error(*mark, &format!("hosts[{i}].become"), format!("user `{}` is not root and `become` is false, so roles cannot install packages", h.user), Some("add `become: true` (passwordless sudo) or use `user: root`".into()));
            }
        }
    }
}
