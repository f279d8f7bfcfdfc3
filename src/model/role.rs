//! What a role says of itself in its playbook's header (`- role: {...}`,
//! the first entry of `playbooks/NAME.yaml`): where it may go and what it
//! needs. The site's validation reads these declarations (handed down as a
//! value), so no role is named in code.

use serde::Serialize;

/// A role as its playbook declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    /// The playbook's name (`keystone` for `playbooks/keystone.yaml`).
    pub name: String,
    /// Where it comes in a host's roles: lower first, whatever order the site
    /// file lists them in.
    pub order: u32,
    /// Roles that must be on the same host (an error names the missing one).
    pub requires: Vec<String>,
    /// Roles some host of the site must have.
    pub requires_in_site: Vec<String>,
    /// Roles it brings along on its host, applied in their own order (as
    /// Ansible's role dependencies): a site need not list them.
    pub includes: Vec<String>,
    /// On one host only, unless the site is highly available: stackprov builds
    /// one controller.
    pub single: bool,
    /// Its hosts are the controllers (the ones `verify` checks, and the
    /// members of an HA control plane).
    pub controller: bool,
    /// Where it goes in an HA site (`ha:`).
    pub ha: HaPlacement,
    /// Only in a site with `ha:` (and only on an OS whose profile builds the
    /// HA control plane: `options.ha`).
    pub needs_ha: bool,
    /// The service that reads the INI files it writes, as messages name it
    /// (`Keystone`): the release a removed option is named for.
    pub service: Option<String>,
    /// The file names (`keystone.conf`) whose options that service reads.
    pub files: Vec<String>,
}

/// Where a role goes in an HA site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HaPlacement {
    /// Anywhere (the site decides).
    #[default]
    Anywhere,
    /// On every controller, and wherever else the site puts it.
    EveryController,
    /// On every controller, and on no other host.
    ControllersOnly,
}

/// The roles a site can use, in the order they are applied on a host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles(pub Vec<Role>);

impl Roles {
    pub fn get(&self, name: &str) -> Option<&Role> {
        self.0.iter().find(|r| r.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|r| r.name.as_str())
    }

    /// The role whose hosts are the controllers.
    pub fn controller(&self) -> Option<&Role> {
        self.0.iter().find(|r| r.controller)
    }

    /// `names` with the roles they include, once each, in application order.
    pub fn expand(&self, names: &[String]) -> Vec<String> {
        let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut i = 0;
        while i < want.len() {
            if let Some(r) = self.get(want[i]) {
                for inc in &r.includes {
                    if !want.contains(&inc.as_str()) {
                        want.push(inc);
                    }
                }
            }
            i += 1;
        }
        self.0
            .iter()
            .filter(|r| want.contains(&r.name.as_str()))
            .map(|r| r.name.clone())
            .collect()
    }

    /// The service that reads `path` (by file name), for messages.
    pub fn service_of(&self, path: &str) -> Option<&str> {
        let file = path.rsplit('/').next().unwrap_or(path);
        self.0
            .iter()
            .find(|r| r.files.iter().any(|f| f == file))
            .and_then(|r| r.service.as_deref())
    }
}
