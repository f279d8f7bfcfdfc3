//! What a host should look like: its roles' resources (`playbooks/*.yaml`,
//! rendered with `templates/`), for its OS family and the site's release.
//!
//! - [`profile`]: what a release × OS family means concretely (package,
//!   service, path names), as data in `playbooks/profiles.yaml`;
//! - [`playbook`]: roles → ordered [`resource::Resource`]s;
//! - [`check`]: the roles' checks of a finished site (override targets);
//! - [`overrides`]: the site's `overrides` set in the roles' INI files;
//! - [`removed`]: INI options a later release removed (which `validate` names);
//! - [`roles`]: the roles, as their playbooks' headers declare them;
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
pub mod roles;
pub mod templates;

/// Why a host's desired state could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    /// A problem in the shipped playbooks, profiles or templates, or in the
    /// site's overrides of them; it says where (`file:line:col`).
    #[error("{0}")]
    Playbook(#[from] PlaybookError),
    /// A command's `unless_login` guard names a login no `keystone_user` of
    /// the host's roles makes (the catalog read would never make it).
    #[error(
        "command `{command}`: `unless_login: {user}` names no keystone_user of this host's roles"
    )]
    UnknownLoginUser { command: String, user: String },
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
    /// No stand-in OS to render the roles on (`validate`; [`STAND_INS`] is
    /// never empty).
    #[error("no stand-in OS")]
    NoStandIn,
}

/// A refusal of a playbook, the profiles or a template: where (`file`,
/// `file:line` or `file:line:col`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {reason}")]
pub struct PlaybookError {
    pub at: String,
    pub reason: PlaybookReason,
}

/// Why a playbook, the profiles or a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaybookReason {
    /// The YAML reader's refusal (its own text).
    #[error("{0}")]
    Yaml(String),
    /// Tera's refusal of a template or a templated string (its own text,
    /// with its causes).
    #[error("{0}")]
    Tera(String),
    /// Tera's refusal (its own text) of the template a `file` names.
    #[error("templates/{name}: {message}")]
    Template { name: String, message: String },
    #[error("not under playbooks/ or templates/")]
    NotAnAsset,
    #[error("no such file in this build of stackprov")]
    NoSuchAsset,
    #[error("expected a list of resources")]
    NotAList,
    #[error("expected a mapping of layers")]
    NotLayers,
    #[error("expected a string, found {0}")]
    NotAString(&'static str),
    #[error("expected a condition")]
    NotACondition,
    #[error("expected a resource (a mapping)")]
    NotAResource,
    #[error("no resource kind; one of: {}", .0.join(", "))]
    NoKind(&'static [&'static str]),
    #[error("unknown resource kind `{0}`")]
    UnknownKind(String),
    #[error("`{0}` expects a mapping")]
    NotAMapping(String),
    /// A resource kind's required key is missing.
    #[error("`{kind}` needs `{key}`")]
    Needs { kind: String, key: String },
    #[error("`file` needs `template` or `content`")]
    NoContent,
    #[error("mode `{0}` is not octal")]
    NotOctal(String),
    #[error("file format `{0}`: one of ini, text")]
    FileFormat(String),
    #[error("`settings` maps sections to keys")]
    NotSections,
    #[error("expected keys and values")]
    NotKeys,
    #[error("port `{0}` is not a number")]
    PortNotANumber(String),
    #[error(
        "a command needs a guard (`creates`, `unless`, `unless_login` or `unless_amqp`) so that a re-run changes nothing"
    )]
    NoGuard,
    #[error("secrets may only reach a command on `stdin`, never in `run` or `unless`")]
    SecretOnCommandLine,
    #[error("timeout is seconds")]
    TimeoutNotSeconds,
    #[error("`nodes` must be a number")]
    NodesNotANumber,
    #[error("sql_user syntax `{0}`: one of create, grant")]
    SqlUserSyntax(String),
    #[error("`{0}` is not a safe SQL name (letters, digits, `_`)")]
    UnsafeSqlName(String),
    #[error("keystone_api version `{0}`: one of v2.0, v3")]
    KeystoneApiVersion(String),
    #[error("`unless_amqp` expects a mapping: {{user, vhost, password, port}}")]
    AmqpNotAMapping,
    #[error("`unless_amqp` needs `user` and `password` (a secret's name)")]
    AmqpNeedsLogin,
    #[error("AMQP user and vhost names are at most 255 bytes")]
    AmqpNameTooLong,
    #[error("port `{0}` is not a TCP port (1 to 65535)")]
    NotATcpPort(String),
    /// A role's playbook must begin with its declaration (`- role: {...}`).
    #[error("a role's playbook begins with `- role: {{order: N, ...}}` (see docs/architecture.md)")]
    NoRoleHeader,
    #[error("unknown key `{key}` in the role header; one of: {}", .known.join(", "))]
    RoleKey {
        key: String,
        known: &'static [&'static str],
    },
    #[error("`{0}` must be true or false")]
    NotABool(String),
    #[error("`order` must be a number")]
    OrderNotANumber,
    #[error("`{0}` must be a list of role names")]
    NotRoleNames(String),
    #[error("`{0}` is not a release stackprov knows")]
    UnknownRelease(String),
    #[error("no role `{0}` (no playbooks/{0}.yaml with a role header)")]
    UnknownRole(String),
    #[error("`ha` `{0}`: one of anywhere, every_controller, controllers_only")]
    HaPlacement(String),
    #[error(
        "roles `{0}` and `{1}` both say `controller: true`; one role makes a host a controller"
    )]
    TwoControllerRoles(String, String),
}

impl PlaybookError {
    pub fn new(at: impl Into<String>, reason: PlaybookReason) -> PlaybookError {
        PlaybookError {
            at: at.into(),
            reason,
        }
    }

    /// The YAML reader's refusal of `file`, at its line and column.
    pub fn yaml(file: &str, e: &crate::yaml::YamlError) -> PlaybookError {
        PlaybookError::new(
            format!("{file}:{}:{}", e.mark.line, e.mark.col),
            PlaybookReason::Yaml(e.message.clone()),
        )
    }
}

/// os-release of one host per supported OS family, newest first: `validate`
/// renders the roles' files as they would be on these (the first of them that
/// has packages for the site's release, for where each secret lands; all of
/// them, for which files `overrides` may name).
pub const STAND_INS: &[&str] = &[
    "ID=debian\nVERSION_ID=\"13\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nSTACKPROV_INIT=systemd\n",
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
