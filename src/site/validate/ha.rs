//! `ha`: the VIP, its interface and VRRP id, and what an HA site asks of its
//! hosts (an odd number of controllers, at least 3, each with the roles of a
//! controller and an IPv4 address the cluster can use).

use super::Ctx;
use crate::model::HaPlacement;
use crate::model::diagnostic::short;
use crate::model::release::{Choices, IdentityApi, TokenProvider};
use crate::site::schema::HA_KEYS;
use crate::site::{Ha, Host};
use crate::yaml::{Mark, Node, Value};
use std::net::Ipv4Addr;

impl Ctx<'_> {
    pub(super) fn ha(
        &mut self,
        n: &Node,
        // the `ha` key's own position, for problems of the block as a whole
        at: Mark,
        hosts: &[(Host, Mark)],
        choices: Option<&Choices>,
    ) -> Option<Ha> {
        let mut f = self.fields(n, "ha", "the HA control plane", HA_KEYS)?;
        let vip = self.required(&mut f, "vip").and_then(|v| self.vip(v));
        let interface = self
            .required(&mut f, "interface")
            .and_then(|v| self.ha_interface(v));
        let router_id = self.router_id(f.get("router_id"));
        let image_store = self.image_store(f.get("image_store"));
        self.finish(f);

        let controllers: Vec<&(Host, Mark)> = hosts.iter().filter(|(h, _)| h.controller).collect();
        self.controller_count(at, &controllers);
        self.ha_hosts(hosts, vip);
        if let Some(c) = choices
            && (c.token_provider != TokenProvider::Fernet || c.identity_api != IdentityApi::V3)
        {
            self.error(
                at,
                "ha",
                "an HA site needs fernet tokens and the v3 Identity API (the controllers share one key set)",
                Some("use a release from ocata on with the default token_provider and identity_api".into()),
            );
        }
        let (vip, prefix) = vip?;
        Some(Ha {
            vip,
            prefix,
            interface: interface?,
            router_id: router_id?,
            image_store: image_store?,
            controllers: controllers.iter().map(|(h, _)| h.name.clone()).collect(),
        })
    }

    /// `ha.interface`: a Linux interface name.
    fn ha_interface(&mut self, v: &Node) -> Option<String> {
        self.word(v, "ha.interface", "interface name", |c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
        })
        .filter(|s| {
            let ok = s.len() <= 15;
            if !ok {
                self.invalid(
                    v,
                    "ha.interface",
                    s,
                    "interface name",
                    "at most 15 characters (Linux's IFNAMSIZ)",
                );
            }
            ok
        })
    }

    /// `ha.router_id`: VRRP's virtual_router_id (default 51).
    fn router_id(&mut self, v: Option<&Node>) -> Option<u8> {
        match v {
            None => Some(51),
            Some(v) => {
                let id = v
                    .as_str()
                    .and_then(|s| s.parse::<u8>().ok())
                    .filter(|i| *i >= 1);
                if id.is_none() {
                    self.error(
                        v.mark,
                        "ha.router_id",
                        format!("`{}` is not a VRRP virtual_router_id", short(v.as_str().unwrap_or(v.kind()))),
                        Some("a number from 1 to 255, unique per VIP on the network segment (default 51)".into()),
                    );
                }
                id
            }
        }
    }

    /// `ha.image_store`: where the controllers share Glance's images, if set.
    fn image_store(&mut self, v: Option<&Node>) -> Option<Option<String>> {
        match v {
            None => Some(None),
            Some(v) => {
                let s = v.as_str().unwrap_or_default().to_string();
                let ok = s.starts_with('/')
                    && s.len() > 1
                    && s.len() <= 255
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
                    && !s.split('/').any(|p| p == "." || p == "..");
                if !ok {
                    self.error(
                        v.mark,
                        "ha.image_store",
                        format!("`{}` is not a directory path stackprov writes", short(if s.is_empty() { v.kind() } else { &s })),
                        Some("an absolute path of letters, digits, `.`, `_`, `-` and `/` (no `..`), where every controller mounts the same shared file system, e.g. `/srv/glance-images`".into()),
                    );
                    None
                } else {
                    Some(Some(s.trim_end_matches('/').to_string()))
                }
            }
        }
    }

    /// An odd number of controllers, at least 3.
    fn controller_count(&mut self, at: Mark, controllers: &[&(Host, Mark)]) {
        let controller = self.roles.controller().map_or("", |r| r.name.as_str());
        let count = controllers.len();
        if count < 3 || count.is_multiple_of(2) {
            let names: Vec<&str> = controllers.iter().map(|(h, _)| h.name.as_str()).collect();
            self.error(
                at,
                "ha",
                format!(
                    "an HA site needs an odd number of controllers, at least 3 (hosts with role `{controller}`); it has {count}{}",
                    if names.is_empty() { String::new() } else { format!(": {}", names.join(", ")) }
                ),
                Some(
                    "Galera keeps a quorum only with a majority: give 3 (or 5) hosts the controller roles, or remove `ha:` for one controller"
                        .into(),
                ),
            );
        }
    }

    /// Each controller has a controller's roles and its own IPv4 address;
    /// no other host has a role that goes with them.
    fn ha_hosts(&mut self, hosts: &[(Host, Mark)], vip: Option<(Ipv4Addr, u8)>) {
        let roles = self.roles;
        // the role that makes a controller, and those every controller has
        let controller = roles.controller().map_or("", |r| r.name.as_str());
        let controller_roles: Vec<&str> = roles
            .0
            .iter()
            .filter(|r| r.ha != HaPlacement::Anywhere)
            .map(|r| r.name.as_str())
            .collect();
        for (i, (h, mark)) in hosts.iter().enumerate() {
            let path = format!("hosts[{i}].roles");
            if h.controller {
                let missing: Vec<&str> = controller_roles
                    .iter()
                    .copied()
                    .filter(|r| !h.has_role(r))
                    .collect();
                if !missing.is_empty() {
                    self.error(
                        *mark,
                        &path,
                        format!(
                            "controller `{}` lacks role(s) {} of an HA controller",
                            h.name,
                            missing.join(", ")
                        ),
                        Some(format!(
                            "give every controller the roles {}",
                            controller_roles.join(", ")
                        )),
                    );
                }
                let addr = h.address.parse::<Ipv4Addr>();
                if addr.is_err() {
                    self.error(
                        *mark,
                        &format!("hosts[{i}].address"),
                        format!("controller `{}` has address `{}`; an HA controller needs an IPv4 address", h.name, short(&h.address)),
                        Some("Galera's peers and keepalived's unicast peers are written as addresses: give the controller's IPv4 address on the VIP's network".into()),
                    );
                }
                if let (Ok(a), Some((v, _))) = (addr, vip)
                    && a == v
                {
                    self.error(*mark, &format!("hosts[{i}].address"), format!("controller `{}` has the VIP {v} as its address", h.name), Some("the VIP moves between controllers: give each controller its own address".into()));
                }
            } else {
                let only = roles
                    .0
                    .iter()
                    .filter(|r| r.ha == HaPlacement::ControllersOnly && !r.controller);
                for role in only.map(|r| r.name.as_str()) {
                    if h.has_role(role) {
                        self.error(*mark, &path, format!("role `{role}` on `{}`, which is not a controller (no role `{controller}`)", h.name), Some(format!("in an HA site `{role}` goes with the controller roles: add them, or remove `{role}`")));
                    }
                }
            }
        }
    }

    /// `A.B.C.D` or `A.B.C.D/N`.
    fn vip(&mut self, v: &Node) -> Option<(Ipv4Addr, u8)> {
        let text = match &v.value {
            Value::Scalar { text, .. } => text.clone(),
            _ => String::new(),
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, p.parse::<u8>().ok().filter(|p| (1..=32).contains(p))),
            None => (text.as_str(), Some(32)),
        };
        match (addr.parse::<Ipv4Addr>(), prefix) {
            (Ok(a), Some(p)) if !a.is_unspecified() && !a.is_loopback() && !a.is_multicast() => {
                Some((a, p))
            }
            _ => {
                self.error(
                    v.mark,
                    "ha.vip",
                    format!("`{}` is not a virtual IPv4 address", short(if text.is_empty() { v.kind() } else { &text })),
                    Some("an unused unicast IPv4 address on the controllers' network, e.g. `192.0.2.100` or `192.0.2.100/24`".into()),
                );
                None
            }
        }
    }

    /// A role that needs `ha:` (`needs_ha`) in a site without it.
    pub(super) fn ha_role_without_ha(&mut self, hosts: &[(Host, Mark)]) {
        let roles = self.roles;
        for (i, (h, mark)) in hosts.iter().enumerate() {
            for role in roles.0.iter().filter(|r| r.needs_ha && h.has_role(&r.name)) {
                self.error(
                    *mark,
                    &format!("hosts[{i}].roles"),
                    format!(
                        "role `{}` on `{}`, but the site has no `ha:` block",
                        role.name, h.name
                    ),
                    Some(
                        "add `ha: {vip: ..., interface: ...}` (see docs/ha.md), or remove the role"
                            .into(),
                    ),
                );
            }
        }
    }
}
