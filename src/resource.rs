//! Desired state, one value per thing stackprov manages on a host. A resource
//! never sees the transport: the planner compares it with facts.

use crate::ini::IniSetting;
use crate::openstack::keystone::Admin;
use serde::{Deserialize, Serialize};

/// Owner, group and mode of a file or directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Perms {
    pub owner: String,
    pub group: String,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// The role (playbook) it comes from.
    pub role: String,
    /// Where it is written, `playbooks/keystone.yaml:12`, for messages.
    pub source: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    /// Installed packages (one install command for the set).
    Packages {
        names: Vec<String>,
    },
    /// A whole file, rendered from a template (content holds secret placeholders).
    File {
        path: String,
        content: String,
        perms: Perms,
        notify: Vec<String>,
    },
    Directory {
        path: String,
        perms: Perms,
    },
    /// Keys set in a file a package ships (the rest of it is left alone).
    IniEdit {
        path: String,
        settings: Vec<IniSetting>,
        perms: Perms,
        notify: Vec<String>,
    },
    Service {
        name: String,
        enabled: bool,
        running: bool,
        /// A TCP port the service listens on: after a start or restart, apply
        /// waits until it does (daemons answer seconds after systemd says started).
        port: Option<u16>,
    },
    /// A command with guards: it runs only when `creates` is missing or `unless` fails.
    Command {
        name: String,
        run: String,
        /// Run as this user (`su -s /bin/sh -c`), as Debian's own scripts do.
        user: Option<String>,
        /// Sent on stdin; may hold secret placeholders (the only way secrets reach a command).
        stdin: Option<String>,
        creates: Option<String>,
        unless: Option<String>,
        /// Sent on the `unless` check's stdin (a password to test, as a placeholder).
        unless_stdin: Option<String>,
        /// What a failed `unless` means, for the plan (default: the check itself).
        explain: Option<String>,
        notify: Vec<String>,
        timeout_secs: u64,
    },
    SqlDatabase {
        name: String,
        /// Default character set and collation (MySQL 5.1 has no utf8mb4).
        charset: String,
        collation: String,
    },
    /// A MariaDB user at `localhost` and `%`, with a password from the secrets file.
    SqlUser {
        name: String,
        password: String,
        /// `create` (CREATE USER IF NOT EXISTS + ALTER USER, MariaDB 10.2+) or
        /// `grant` (GRANT USAGE ... IDENTIFIED BY, for MySQL 5.1 and MariaDB 5.5).
        syntax: SqlUserSyntax,
    },
    /// The Keystone API the catalog resources after it talk to (and wait for).
    KeystoneApi {
        admin: Admin,
    },
    KeystoneProject {
        name: String,
        description: String,
    },
    /// A user in the Default domain whose password comes from the secrets file.
    KeystoneUser {
        name: String,
        password: String,
    },
    KeystoneRole {
        name: String,
    },
    KeystoneAssignment {
        user: String,
        project: String,
        role: String,
    },
    KeystoneService {
        name: String,
        service_type: String,
        description: String,
    },
    KeystoneEndpoint {
        service_type: String,
        interface: String,
        region: String,
        url: String,
    },
    /// A v2.0 endpoint: one record with the three URLs (`endpoint-create
    /// --publicurl --internalurl --adminurl`); only after a v2.0 `keystone_api`.
    KeystoneEndpoints {
        service_type: String,
        region: String,
        publicurl: String,
        internalurl: String,
        adminurl: String,
    },
    /// ALL PRIVILEGES on `database`.* for the user at both hosts.
    SqlGrant {
        user: String,
        database: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SqlUserSyntax {
    Create,
    Grant,
}

/// The MariaDB hosts each service user is created for.
pub const SQL_USER_HOSTS: &[&str] = &["localhost", "%"];

impl Kind {
    /// Resources planned against the Keystone catalog rather than host facts.
    pub fn is_catalog(&self) -> bool {
        matches!(
            self,
            Kind::KeystoneApi { .. }
                | Kind::KeystoneProject { .. }
                | Kind::KeystoneUser { .. }
                | Kind::KeystoneRole { .. }
                | Kind::KeystoneAssignment { .. }
                | Kind::KeystoneService { .. }
                | Kind::KeystoneEndpoint { .. }
                | Kind::KeystoneEndpoints { .. }
        )
    }
}

impl Resource {
    /// A stable id, e.g. `file:/etc/keystone/keystone.conf`.
    pub fn id(&self) -> String {
        match &self.kind {
            Kind::Packages { names } => format!("packages:{}", names.join(",")),
            Kind::File { path, .. } => format!("file:{path}"),
            Kind::Directory { path, .. } => format!("directory:{path}"),
            Kind::IniEdit { path, .. } => format!("ini:{path}"),
            Kind::Service { name, .. } => format!("service:{name}"),
            Kind::Command { name, .. } => format!("command:{name}"),
            Kind::SqlDatabase { name, .. } => format!("sql_database:{name}"),
            Kind::SqlUser { name, .. } => format!("sql_user:{name}"),
            Kind::SqlGrant { user, database } => format!("sql_grant:{user}@{database}"),
            Kind::KeystoneApi { admin } => format!("keystone_api:127.0.0.1:{}", admin.port),
            Kind::KeystoneProject { name, .. } => format!("keystone_project:{name}"),
            Kind::KeystoneUser { name, .. } => format!("keystone_user:{name}"),
            Kind::KeystoneRole { name } => format!("keystone_role:{name}"),
            Kind::KeystoneAssignment {
                user,
                project,
                role,
            } => format!("keystone_assignment:{user}/{project}/{role}"),
            Kind::KeystoneService { service_type, .. } => {
                format!("keystone_service:{service_type}")
            }
            Kind::KeystoneEndpoint {
                service_type,
                interface,
                region,
                ..
            } => format!("keystone_endpoint:{service_type}/{interface}/{region}"),
            Kind::KeystoneEndpoints {
                service_type,
                region,
                ..
            } => format!("keystone_endpoints:{service_type}/{region}"),
        }
    }
}
