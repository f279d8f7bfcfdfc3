//! What a host should look like: its roles' resources (`playbooks/*.yaml`,
//! rendered with `templates/`), for its OS family and the site's release.
//!
//! - [`release`]: the releases stackprov knows and what each one still has;
//! - [`profile`]: what a release × OS family means concretely (package,
//!   service, path names), as data in `playbooks/profiles.yaml`;
//! - [`playbook`]: roles → ordered [`resource::Resource`]s;
//! - [`resource`]: the resource kinds the planner knows;
//! - [`assets`]: the playbooks and templates built into the binary.

pub mod assets;
pub mod playbook;
pub mod profile;
pub mod release;
pub mod resource;

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
