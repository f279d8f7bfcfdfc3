//! What a host should look like: its roles' resources (`playbooks/*.yaml`,
//! rendered with `templates/`), for its OS family and the site's release.
//!
//! - [`profile`]: what a release × OS family means concretely (package,
//!   service, path names), as data in `playbooks/profiles.yaml`;
//! - [`playbook`]: roles → ordered [`resource::Resource`]s;
//! - [`check`]: the roles' checks of a finished site (override targets);
//! - [`overrides`]: the site's `overrides` set in the roles' INI files;
//! - [`removed`]: INI options a later release removed (which `validate` names);
//! - [`resource`]: the resource kinds the planner knows;
//! - [`templates`]: the Tera context, the parsed templates, `secret()`;
//! - [`assets`]: the playbooks and templates built into the binary.

pub mod assets;
pub mod check;
pub mod overrides;
pub mod playbook;
pub mod profile;
pub mod removed;
pub mod resource;
pub mod templates;

/// Why a host's desired state could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    /// A problem in the shipped playbooks or templates, or in the site's
    /// overrides of them; the message says where (`file:line:col`).
    #[error("{0}")]
    Playbook(String),
    /// The host's OS has no packages for the site's release.
    #[error(
        "{os} has no OpenStack {release} packages; it has {range} (choose another release or another host OS)"
    )]
    NoPackages {
        os: String,
        release: String,
        range: String,
    },
    /// An HA site's controller on an OS whose HA roles are not built.
    #[error(
        "the HA control plane (`ha:`) is built and proven on Debian 12 and 13 only, not on {os} (docs/ha.md); remove `ha:` or use Debian controllers"
    )]
    NoHa { os: String },
}

impl From<String> for DesiredError {
    fn from(message: String) -> Self {
        DesiredError::Playbook(message)
    }
}

impl From<&str> for DesiredError {
    fn from(message: &str) -> Self {
        DesiredError::Playbook(message.to_string())
    }
}

/// os-release of one host per supported OS family, newest first: `validate`
/// renders the roles' files as they would be on these (the first of them that
/// has packages for the site's release, for where each secret lands; all of
/// them, for which files `overrides` may name).
pub const STAND_INS: &[&str] = &[
    "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nSTACKPROV_INIT=systemd\n",
    "ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=9.4\nPRETTY_NAME=\"Rocky Linux 9.4\"\nSTACKPROV_INIT=systemd\n",
    "ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=8.10\nPRETTY_NAME=\"Rocky Linux 8.10\"\nSTACKPROV_INIT=systemd\n",
    "ID=centos\nID_LIKE=\"rhel fedora\"\nVERSION_ID=7\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\nSTACKPROV_INIT=systemd\n",
    "ID=centos\nVERSION_ID=6.10\nPRETTY_NAME=\"CentOS release 6.10 (Final)\"\nSTACKPROV_INIT=sysv\n",
];

/// The stand-in OSes ([`STAND_INS`]) that have packages for a release, newest first.
pub fn stand_ins(release: crate::model::Release) -> Vec<crate::facts::OsFacts> {
    STAND_INS
        .iter()
        .filter_map(|t| crate::facts::parse_os(t).ok())
        .filter(|os| profile::for_host(os, release).is_ok())
        .collect()
}
