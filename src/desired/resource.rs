//! Desired state, one value per thing stackprov manages on a host. A resource
//! never sees the transport: the planner compares it with facts.

use crate::ini::IniSetting;
use crate::model::{AmqpLogin, Perms};
use crate::plan::catalog::Admin;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// The role (playbook) it comes from.
    pub role: String,
    /// Where it is written, `playbooks/keystone.yaml:12`, for messages.
    pub source: String,
    pub kind: Kind,
    /// It changes where packages come from (a proxy, a repository): the
    /// host's packages install in one transaction after the last of these.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub package_source: bool,
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
        /// Needs nothing when this Keystone user logged in with its secret while
        /// the catalog was read (no check of its own runs on the host).
        unless_login: Option<String>,
        /// Needs nothing when this RabbitMQ user logs in over AMQP and opens
        /// the vhost (read beside the facts script, no `rabbitmqctl` started).
        #[serde(skip_serializing_if = "Option::is_none")]
        unless_amqp: Option<Box<AmqpLogin>>,
        /// What a failed `unless` means, for the plan (default: the check itself).
        explain: Option<String>,
        notify: Vec<String>,
        timeout_secs: u64,
        /// It starts this service as the first node of a cluster (Galera's
        /// `galera_new_cluster`): the service's pending restart is done by it,
        /// and a host whose plan runs it is applied before the site's others.
        #[serde(skip_serializing_if = "Option::is_none")]
        starts_cluster: Option<String>,
    },
    /// An HA site's Galera cluster as this node sees it: nothing to change,
    /// but the plan says when the cluster is smaller than `nodes` or this node
    /// is not synced (read with one check: see planner::galera).
    GaleraStatus {
        service: String,
        nodes: u32,
        /// The other controllers' addresses (space-separated): a start after
        /// an outage is refused at run time when one of them answers by then.
        peers: String,
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
            Kind::GaleraStatus { .. } => "galera_status".to_string(),
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
