//! The site file: parse, then validate into a typed [`Site`] that cannot hold an
//! invalid state. Every problem is reported at once, each with file:line:col.

pub mod schema;
mod validate;

use crate::model::Diagnostic;
use crate::model::Roles;
use crate::model::release::{Choices, Release};
use crate::transport::{HostKeyPolicy, HostTarget};
use crate::yaml;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Larger site files are refused before parsing.
pub const MAX_SITE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The site file, as given on the command line.
    pub path: PathBuf,
    pub name: String,
    pub release: Release,
    /// Token provider, Identity API and glance-registry, checked against the release.
    pub choices: Choices,
    pub region: String,
    /// The host name the catalog's endpoints and DB connections use.
    pub controller: String,
    pub package_proxy: Option<String>,
    /// Hosts worked on at once: the site's `forks`, or `--forks`, which
    /// overrides it (see [`Site::forks`]).
    pub forks: Option<usize>,
    pub secrets_file: PathBuf,
    pub known_hosts: Option<PathBuf>,
    pub host_key_policy: HostKeyPolicy,
    pub hosts: Vec<Host>,
    /// Extra INI keys per rendered file: path → section → key → value.
    pub overrides: Overrides,
    /// A highly available control plane (`ha:`): the controllers, a VIP.
    pub ha: Option<Ha>,
    /// Where the site file names things that are checked one layer up (see
    /// [`Rules::check`]).
    pub places: Places,
    /// What is fine in the file but not yet around it (an identity file that
    /// does not exist yet): told, not refused.
    pub warnings: Vec<Diagnostic>,
    /// Where in `hosts` each host is, built with the site (whose hosts are
    /// not changed after): see [`HostIndex`].
    index: HostIndex,
}

/// Where in a site's hosts each one is, by lower-cased name, and where the
/// first controller is: a site may list thousands of hosts, and rendering
/// each one looks others up (the controller, the HA peers), so a scan of
/// the hosts for each made `validate` quadratic (7 s for 30k hosts with the
/// controller last).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct HostIndex {
    by_name: std::collections::HashMap<String, usize>,
    first_controller: Option<usize>,
}

impl HostIndex {
    fn of(hosts: &[Host]) -> HostIndex {
        let mut by_name = std::collections::HashMap::with_capacity(hosts.len());
        for (i, h) in hosts.iter().enumerate() {
            // the first of a name wins, as a scan would find it
            by_name.entry(h.name.to_ascii_lowercase()).or_insert(i);
        }
        HostIndex {
            by_name,
            first_controller: hosts.iter().position(|h| h.controller),
        }
    }
}

/// `ha:`: the controllers (every host with the role that declares
/// `controller: true`, the keystone role, an odd number of
/// at least 3, in site-file order) share a virtual IP that keepalived moves
/// and HAProxy listens on; `controller` is the name clients use for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ha {
    /// An IPv4 address on the controllers' network, held by one at a time.
    pub vip: std::net::Ipv4Addr,
    /// Its prefix length on `interface` (32 unless given as `vip: A.B.C.D/N`).
    pub prefix: u8,
    /// The network interface the VIP lives on (the same name on every controller).
    pub interface: String,
    /// VRRP's virtual_router_id: unique per VIP on the network segment.
    pub router_id: u8,
    /// A shared file system every controller mounts there, for Glance's images.
    pub image_store: Option<String>,
    /// Controller names in site-file order: the first is the one that
    /// bootstraps a new cluster and runs what is done once (db_sync, the catalog).
    pub controllers: Vec<String>,
}

/// Positions in the site file of what only the roles can judge (which files
/// they write, which options a release removed), for the checks that run on
/// the finished [`Site`] (see [`Rules::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Places {
    /// Each `overrides` file's key.
    pub override_files: BTreeMap<String, yaml::Mark>,
    /// Each `overrides` option's key: (file, section, key).
    pub override_keys: BTreeMap<(String, String, String), yaml::Mark>,
}

/// A check of a finished [`Site`] by a layer above this one (the roles): its
/// problems are reported with the site's own, all at once (a site whose
/// release is unknown is not built, so what depends on the release waits).
pub type SiteCheck<'a> = dyn Fn(&Site) -> Vec<Diagnostic> + 'a;

/// What the layers above hand the site's validation, as values: the roles
/// the playbooks declare (their names, order, what each needs and where it
/// may go), and a check of the finished site (see [`SiteCheck`]).
pub struct Rules<'a> {
    pub roles: &'a Roles,
    pub check: &'a SiteCheck<'a>,
}

/// Extra INI keys per rendered file: path → section → key → value.
pub type Overrides = BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub become_root: bool,
    pub identity_file: Option<PathBuf>,
    /// Roles in application order (as the roles declare it), with the
    /// roles they include.
    pub roles: Vec<String>,
    /// It has the role that makes a controller (`controller: true`).
    pub controller: bool,
}

/// Hosts worked on at once unless `--forks` or the site's `forks` says: each
/// host's SSH session blocks its own thread, which mostly waits on the network.
pub const DEFAULT_FORKS: usize = 32;
/// The most `--forks` and `forks` accept.
pub const MAX_FORKS: usize = 256;

impl Site {
    /// How many hosts are worked on at once: `forks` (which `--forks` sets),
    /// else [`DEFAULT_FORKS`].
    pub fn forks(&self) -> usize {
        self.forks.unwrap_or(DEFAULT_FORKS).clamp(1, MAX_FORKS)
    }

    /// Read and validate a site file by the `rules` of the layers above
    /// (`crate::desired::load_site` hands the shipped ones); `Err` holds every
    /// problem found.
    pub fn load(path: &Path, rules: &Rules<'_>) -> Result<Site, Vec<Diagnostic>> {
        let bytes = read_site_file(path).map_err(|d| vec![d])?;
        Site::from_bytes(path, &bytes, rules)
    }

    pub fn from_bytes(
        path: &Path,
        bytes: &[u8],
        rules: &Rules<'_>,
    ) -> Result<Site, Vec<Diagnostic>> {
        validate::site_from_bytes(path, bytes, rules)
    }

    /// The site with its [`HostIndex`] built.
    fn indexed(self) -> Site {
        Site {
            index: HostIndex::of(&self.hosts),
            ..self
        }
    }

    /// The directory relative paths in the site file are resolved against.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The host of that name; names compare ignoring ASCII case, as in DNS
    /// (`validate` refuses two hosts whose names differ only in case).
    pub fn host(&self, name: &str) -> Option<&Host> {
        let i = *self.index.by_name.get(&name.to_ascii_lowercase())?;
        self.hosts.get(i)
    }

    /// The first host that has the controller role (the one of a site
    /// without `ha:`), if any.
    pub fn first_controller(&self) -> Option<&Host> {
        self.hosts.get(self.index.first_controller?)
    }

    /// Where the host's own services listen and stackprov's tunnels reach
    /// them: its address in an HA site (HAProxy holds the VIP's ports, so each
    /// service binds its node's address), the loopback otherwise.
    pub fn service_address(&self, host: &Host) -> String {
        match &self.ha {
            Some(ha) if ha.controllers.contains(&host.name) => host.address.clone(),
            _ => "127.0.0.1".to_string(),
        }
    }

    /// How the transport reaches a host.
    pub fn target(&self, host: &Host) -> HostTarget {
        HostTarget {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            become_root: host.become_root,
            identity_file: host.identity_file.clone(),
            known_hosts: self.known_hosts.iter().cloned().collect(),
            host_key_policy: self.host_key_policy,
            service_address: self.service_address(host),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The bytes of a site file: a regular file of at most [`MAX_SITE_BYTES`]
/// (read by [`crate::input_file::read_regular`]: without blocking, what is
/// checked is what is read).
fn read_site_file(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    use crate::input_file::ReadError;
    let cannot = |why: String, hint: &str| {
        Diagnostic::new(
            path,
            yaml::Mark { line: 0, col: 0 },
            "",
            format!("cannot read: {why}"),
        )
        .hint(hint)
    };
    let too_big = |size: String| {
        Diagnostic::new(
            path,
            yaml::Mark { line: 1, col: 1 },
            "",
            format!("the file is {size} bytes; site files are limited to {MAX_SITE_BYTES}"),
        )
        .hint("is this the right file?")
    };
    match crate::input_file::read_regular(path, MAX_SITE_BYTES as u64) {
        Ok(input) => Ok(input.bytes),
        Err(ReadError::Io(e)) => Err(cannot(e.to_string(), "check the path to the site file")),
        Err(ReadError::NotRegular(what)) => Err(cannot(
            format!("it is {what}, not a regular file"),
            "a site file is a regular file; to use generated YAML, write it to a file first",
        )),
        Err(ReadError::TooBig(Some(n))) => Err(too_big(n.to_string())),
        Err(ReadError::TooBig(None)) => Err(too_big(format!("more than {MAX_SITE_BYTES}"))),
    }
}

impl Host {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

pub(crate) use crate::input_file::not_regular;
