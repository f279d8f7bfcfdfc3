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

/// What a resource is, one variant per kind: each holds its kind's spec
/// (serialized as before, the spec's fields beside `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    Packages(PackagesSpec),
    File(FileSpec),
    Directory(DirectorySpec),
    IniEdit(IniEditSpec),
    Service(ServiceSpec),
    Command(CommandSpec),
    GaleraStatus(GaleraStatusSpec),
    SqlDatabase(SqlDatabaseSpec),
    SqlUser(SqlUserSpec),
    KeystoneApi(KeystoneApiSpec),
    KeystoneProject(KeystoneProjectSpec),
    KeystoneUser(KeystoneUserSpec),
    KeystoneRole(KeystoneRoleSpec),
    KeystoneAssignment(KeystoneAssignmentSpec),
    KeystoneService(KeystoneServiceSpec),
    KeystoneEndpoint(KeystoneEndpointSpec),
    KeystoneEndpoints(KeystoneEndpointsSpec),
    SqlGrant(SqlGrantSpec),
}

/// Installed packages (one install command for the set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackagesSpec {
    pub names: Vec<String>,
}

/// A whole file, rendered from a template (content holds secret placeholders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSpec {
    pub path: String,
    pub content: String,
    pub perms: Perms,
    pub notify: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectorySpec {
    pub path: String,
    pub perms: Perms,
}

/// Keys set in a file a package ships (the rest of it is left alone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IniEditSpec {
    pub path: String,
    pub settings: Vec<IniSetting>,
    pub perms: Perms,
    pub notify: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSpec {
    pub name: String,
    pub enabled: bool,
    pub running: bool,
    /// A TCP port the service listens on: after a start or restart, apply
    /// waits until it does (daemons answer seconds after systemd says started).
    pub port: Option<u16>,
}

/// A command with guards: it runs only when `creates` is missing or `unless` fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandSpec {
    pub name: String,
    pub run: String,
    /// Run as this user (`su -s /bin/sh -c`), as Debian's own scripts do.
    pub user: Option<String>,
    /// Sent on stdin; may hold secret placeholders (the only way secrets reach a command).
    pub stdin: Option<String>,
    pub creates: Option<String>,
    pub unless: Option<String>,
    /// Sent on the `unless` check's stdin (a password to test, as a placeholder).
    pub unless_stdin: Option<String>,
    /// Needs nothing when this Keystone user logged in with its secret while
    /// the catalog was read (no check of its own runs on the host).
    pub unless_login: Option<String>,
    /// Needs nothing when this RabbitMQ user logs in over AMQP and opens
    /// the vhost (read beside the facts script, no `rabbitmqctl` started).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unless_amqp: Option<Box<AmqpLogin>>,
    /// What a failed `unless` means, for the plan (default: the check itself).
    pub explain: Option<String>,
    pub notify: Vec<String>,
    pub timeout_secs: u64,
    /// It starts this service as the first node of a cluster (Galera's
    /// `galera_new_cluster`): the service's pending restart is done by it,
    /// and a host whose plan runs it is applied before the site's others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_cluster: Option<String>,
}

/// An HA site's Galera cluster as this node sees it: nothing to change,
/// but the plan says when the cluster is smaller than `nodes` or this node
/// is not synced (read with one check: see planner::galera).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GaleraStatusSpec {
    pub service: String,
    pub nodes: u32,
    /// The other controllers' addresses (space-separated): a start after
    /// an outage is refused at run time when one of them answers by then.
    pub peers: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlDatabaseSpec {
    pub name: String,
    /// Default character set and collation (MySQL 5.1 has no utf8mb4).
    pub charset: String,
    pub collation: String,
}

/// A MariaDB user at `localhost` and `%`, with a password from the secrets file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlUserSpec {
    pub name: String,
    pub password: String,
    /// `create` (CREATE USER IF NOT EXISTS + ALTER USER, MariaDB 10.2+) or
    /// `grant` (GRANT USAGE ... IDENTIFIED BY, for MySQL 5.1 and MariaDB 5.5).
    pub syntax: SqlUserSyntax,
}

/// The Keystone API the catalog resources after it talk to (and wait for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeystoneApiSpec {
    pub admin: Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeystoneProjectSpec {
    pub name: String,
    pub description: String,
}

/// A user in the Default domain whose password comes from the secrets file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeystoneUserSpec {
    pub name: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeystoneRoleSpec {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeystoneAssignmentSpec {
    pub user: String,
    pub project: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeystoneServiceSpec {
    pub name: String,
    pub service_type: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeystoneEndpointSpec {
    pub service_type: String,
    pub interface: String,
    pub region: String,
    pub url: String,
}

/// A v2.0 endpoint: one record with the three URLs (`endpoint-create
/// --publicurl --internalurl --adminurl`); only after a v2.0 `keystone_api`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeystoneEndpointsSpec {
    pub service_type: String,
    pub region: String,
    pub publicurl: String,
    pub internalurl: String,
    pub adminurl: String,
}

/// ALL PRIVILEGES on `database`.* for the user at both hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlGrantSpec {
    pub user: String,
    pub database: String,
}

impl IniEditSpec {
    /// The values it sets (they may hold secret placeholders).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.settings.iter().map(|s| s.value.as_str())
    }
}

impl CommandSpec {
    /// What it sends on stdin: the command's, then its `unless` check's.
    pub fn stdins(&self) -> impl Iterator<Item = &str> {
        self.stdin
            .iter()
            .chain(&self.unless_stdin)
            .map(String::as_str)
    }
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
    /// The file it writes whole (`file`) or edits (`ini`): what a site's
    /// `overrides` may name (see [`crate::desired::check::targets`]).
    pub fn written_file(&self) -> Option<&str> {
        match self {
            Kind::File(s) => Some(&s.path),
            Kind::IniEdit(s) => Some(&s.path),
            // a directory holds files, it is not one
            Kind::Directory(_) => None,
            Kind::Packages(_)
            | Kind::Service(_)
            | Kind::Command(_)
            | Kind::GaleraStatus(_)
            | Kind::SqlDatabase(_)
            | Kind::SqlUser(_)
            | Kind::SqlGrant(_)
            | Kind::KeystoneApi(_)
            | Kind::KeystoneProject(_)
            | Kind::KeystoneUser(_)
            | Kind::KeystoneRole(_)
            | Kind::KeystoneAssignment(_)
            | Kind::KeystoneService(_)
            | Kind::KeystoneEndpoint(_)
            | Kind::KeystoneEndpoints(_) => None,
        }
    }
}

impl Resource {
    /// A stable id, e.g. `file:/etc/keystone/keystone.conf`.
    pub fn id(&self) -> String {
        match &self.kind {
            Kind::Packages(s) => format!("packages:{}", s.names.join(",")),
            Kind::File(s) => format!("file:{}", s.path),
            Kind::Directory(s) => format!("directory:{}", s.path),
            Kind::IniEdit(s) => format!("ini:{}", s.path),
            Kind::Service(s) => format!("service:{}", s.name),
            Kind::Command(s) => format!("command:{}", s.name),
            Kind::GaleraStatus(_) => "galera_status".to_string(),
            Kind::SqlDatabase(s) => format!("sql_database:{}", s.name),
            Kind::SqlUser(s) => format!("sql_user:{}", s.name),
            Kind::SqlGrant(s) => format!("sql_grant:{}@{}", s.user, s.database),
            Kind::KeystoneApi(s) => format!("keystone_api:127.0.0.1:{}", s.admin.port),
            Kind::KeystoneProject(s) => format!("keystone_project:{}", s.name),
            Kind::KeystoneUser(s) => format!("keystone_user:{}", s.name),
            Kind::KeystoneRole(s) => format!("keystone_role:{}", s.name),
            Kind::KeystoneAssignment(s) => {
                format!("keystone_assignment:{}/{}/{}", s.user, s.project, s.role)
            }
            Kind::KeystoneService(s) => format!("keystone_service:{}", s.service_type),
            Kind::KeystoneEndpoint(s) => format!(
                "keystone_endpoint:{}/{}/{}",
                s.service_type, s.interface, s.region
            ),
            Kind::KeystoneEndpoints(s) => {
                format!("keystone_endpoints:{}/{}", s.service_type, s.region)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec serializes beside the kind's `type`, as the struct-like
    /// variants did.
    #[test]
    fn a_kind_serializes_flat_with_its_type() {
        let d = Kind::Directory(DirectorySpec {
            path: "/var/lib/glance".into(),
            perms: Perms {
                owner: "glance".into(),
                group: "glance".into(),
                mode: 0o750,
            },
        });
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"type":"directory","path":"/var/lib/glance","perms":{"owner":"glance","group":"glance","mode":"0750"}}"#
        );
        let c = Kind::GaleraStatus(GaleraStatusSpec {
            service: "mariadb".into(),
            nodes: 3,
            peers: String::new(),
        });
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"type":"galera_status","service":"mariadb","nodes":3,"peers":""}"#
        );
    }
}
