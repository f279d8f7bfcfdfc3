//! `ha`: the VIP, its interface and VRRP id, and what an HA site asks of its
//! hosts (an odd number of controllers, from 3 to 25, each with the roles of a
//! controller and an IPv4 address the cluster can use).

use super::Ctx;
use crate::model::HaPlacement;
use crate::model::diagnostic::short;
use crate::model::release::{Choices, IdentityApi, TokenProvider};
use crate::site::schema::HA_KEYS;
use crate::site::{Ha, Host};
use crate::yaml::{Mark, Node, Value};
use std::net::Ipv4Addr;

/// The most controllers an HA site may have: the VRRP priorities (250 for
/// the first, 10 less for each next, at least 1) are distinct up to 26, and
/// every controller's files list all the others, so that rendering a site
/// grows with their square (3,001 controllers took 37 s to validate).
const MAX_CONTROLLERS: usize = 25;

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
            let problem = if s.len() > 15 {
                Some("at most 15 characters (Linux's IFNAMSIZ)")
            } else if s == "." || s == ".." || s.starts_with('-') {
                Some("a Linux interface name is not `.` or `..` and does not start with `-`")
            } else if s == "lo" {
                Some("the interface of the controllers' network, where keepalived puts the VIP (`ip -br addr` lists them), not the loopback")
            } else {
                None
            };
            if let Some(hint) = problem {
                self.invalid(v, "ha.interface", s, "interface name", hint);
            }
            problem.is_none()
        })
    }

    /// `ha.router_id`: VRRP's virtual_router_id (default 51).
    fn router_id(&mut self, v: Option<&Node>) -> Option<u8> {
        match v {
            None => Some(51),
            Some(v) => {
                // a plain number, as the schema says: not `"51"`, not `051`
                // (YAML 1.1 readers take a leading zero for octal)
                let id = match &v.value {
                    Value::Scalar {
                        text,
                        quoted: false,
                    } if !text.starts_with('0') => text.parse::<u8>().ok().filter(|i| *i >= 1),
                    _ => None,
                };
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
                if let Some(why) = system_directory(&s) {
                    self.error(
                        v.mark,
                        "ha.image_store",
                        format!("`{}` {why}, not a store for Glance's images", short(&s)),
                        Some("the directory where every controller mounts the same shared file system, e.g. `/srv/glance-images` (stackprov makes it Glance's)".into()),
                    );
                    return None;
                }
                let ok = s.starts_with('/')
                    && !s.trim_end_matches('/').is_empty()
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

    /// An odd number of controllers, at least 3 and at most
    /// [`MAX_CONTROLLERS`].
    fn controller_count(&mut self, at: Mark, controllers: &[&(Host, Mark)]) {
        let controller = self.roles.controller().map_or("", |r| r.name.as_str());
        let count = controllers.len();
        if count > MAX_CONTROLLERS {
            self.error(
                at,
                "ha",
                format!(
                    "an HA site has at most {MAX_CONTROLLERS} controllers (hosts with role `{controller}`); it has {count}"
                ),
                Some(format!(
                    "keepalived's priorities stay distinct only for {MAX_CONTROLLERS} controllers, and each one's Galera, HAProxy and keepalived files name all the others: give the controller roles to 3 (or 5) hosts"
                )),
            );
        } else if count < 3 || count.is_multiple_of(2) {
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
        // each controller address's first holder (a map: sites may list
        // thousands of hosts)
        let mut first_at: std::collections::HashMap<&str, &String> =
            std::collections::HashMap::new();
        for (h, _) in hosts.iter().filter(|(h, _)| h.controller) {
            first_at.entry(h.address.as_str()).or_insert(&h.name);
        }
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
                let addr = h.address.parse::<Ipv4Addr>().ok();
                if addr.is_none() {
                    self.error(
                        *mark,
                        &format!("hosts[{i}].address"),
                        format!("controller `{}` has address `{}`; an HA controller needs an IPv4 address", h.name, short(&h.address)),
                        Some("Galera's peers and keepalived's unicast peers are written as addresses: give the controller's IPv4 address on the VIP's network".into()),
                    );
                }
                if let (Some(a), Some((v, _))) = (addr, vip)
                    && a == v
                {
                    self.error(*mark, &format!("hosts[{i}].address"), format!("controller `{}` has the VIP {v} as its address", h.name), Some("the VIP moves between controllers: give each controller its own address".into()));
                }
                if let (Some(a), Some((v, p))) = (addr, vip)
                    && a != v
                    && !on_network(a, v, p)
                {
                    self.error(*mark, &format!("hosts[{i}].address"), format!("controller `{}` has address {a}, which is not on the VIP's network {v}/{p}", h.name), Some("keepalived moves the VIP between the controllers' interfaces on one network: give the VIP's prefix length for that network, or the controller's address on it".into()));
                }
                if let Some(o) = first_at.get(h.address.as_str())
                    && **o != h.name
                {
                    let o = o.as_str();
                    self.error(*mark, &format!("hosts[{i}].address"), format!("controllers `{o}` and `{}` have the same address {}", h.name, short(&h.address)), Some("Galera and keepalived tell the controllers apart by address: give each its own".into()));
                }
            } else {
                if let (Ok(a), Some((v, _))) = (h.address.parse::<Ipv4Addr>(), vip)
                    && a == v
                {
                    self.error(*mark, &format!("hosts[{i}].address"), format!("host `{}` has the VIP {v} as its address", h.name), Some("the VIP is held by one controller at a time: give the host another address, or the VIP another".into()));
                }
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
        let parsed = addr.parse::<Ipv4Addr>().ok();
        if let (Some(a), Some(p)) = (parsed, prefix)
            && let Some(why) = not_a_vip(a, p)
        {
            self.error(
                v.mark,
                "ha.vip",
                format!("`{}` is {why}, which cannot be a virtual IP", short(&text)),
                Some("an unused unicast address on the controllers' network, neither its network nor its broadcast address, e.g. `192.0.2.100/24`".into()),
            );
            return None;
        }
        match (parsed, prefix) {
            (Some(a), Some(p)) if !a.is_unspecified() && !a.is_loopback() && !a.is_multicast() => {
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

/// Why a path is no place for Glance's images (stackprov makes the store
/// Glance's, so a system directory would be handed to it).
fn system_directory(path: &str) -> Option<&'static str> {
    let p = path.trim_end_matches('/');
    const UNDER: &[&str] = &[
        "/proc",
        "/sys",
        "/dev",
        "/run",
        "/tmp",
        "/boot",
        "/etc",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/usr",
        "/var/run",
        "/var/tmp",
        "/var/lock",
    ];
    const EXACT: &[&str] = &[
        "/var",
        "/var/lib",
        "/var/log",
        "/var/cache",
        "/home",
        "/root",
        "/srv",
        "/mnt",
        "/opt",
        "/media",
    ];
    if p.is_empty() && path.starts_with('/') {
        return Some("is the root directory");
    }
    if UNDER
        .iter()
        .any(|d| p == *d || p.starts_with(&format!("{d}/")))
    {
        return Some("is a system directory, or in one");
    }
    if EXACT.contains(&p) {
        return Some("is a system directory");
    }
    None
}

/// Why an address is no virtual IP on a network of `prefix` bits.
fn not_a_vip(a: Ipv4Addr, prefix: u8) -> Option<&'static str> {
    let bits = u32::from(a);
    let host_mask = if prefix >= 32 { 0 } else { u32::MAX >> prefix };
    if a.is_broadcast() {
        Some("the broadcast address")
    } else if a.is_link_local() {
        Some("a link-local address (169.254.0.0/16)")
    } else if a.octets()[0] >= 240 {
        Some("a reserved (class E) address")
    } else if a.octets()[0] == 0 {
        Some("in 0.0.0.0/8 (this network)")
    } else if prefix <= 30 && bits & host_mask == 0 {
        Some("its network's address")
    } else if prefix <= 30 && bits & host_mask == host_mask {
        Some("its network's broadcast address")
    } else {
        None
    }
}

/// Whether `a` is on the network `vip/prefix`.
fn on_network(a: Ipv4Addr, vip: Ipv4Addr, prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    u32::from(a) & mask == u32::from(vip) & mask
}
