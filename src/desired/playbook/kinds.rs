//! Each resource kind's spec, read from the body of its playbook entry
//! (`file: {path: ..., mode: ...}`): one function per kind, or per group of
//! kinds, called by [`kind`] on the kind's name.

use super::{Entry, Loader};
use crate::desired::resource::{
    CommandSpec, DirectorySpec, FileSpec, GaleraStatusSpec, IniEditSpec, KeystoneApiSpec,
    KeystoneAssignmentSpec, KeystoneEndpointSpec, KeystoneEndpointsSpec, KeystoneProjectSpec,
    KeystoneRoleSpec, KeystoneServiceSpec, KeystoneUserSpec, Kind, PackagesSpec, ServiceSpec,
    SqlDatabaseSpec, SqlGrantSpec, SqlUserSpec, SqlUserSyntax,
};
use crate::desired::{DesiredError, PlaybookReason as Why};
use crate::ini::IniSetting;
use crate::model::{AmqpLogin, Perms};
use crate::plan::catalog::Admin;
use crate::secrets::placeholder;
use crate::yaml::{Node, Value};

/// The names of the kinds, as a playbook entry's key; [`kind`] reads each.
pub(super) const KINDS: &[&str] = &[
    "packages",
    "galera_status",
    "file",
    "directory",
    "ini",
    "service",
    "command",
    "sql_database",
    "sql_user",
    "sql_grant",
    "keystone_api",
    "keystone_project",
    "keystone_user",
    "keystone_role",
    "keystone_assignment",
    "keystone_service",
    "keystone_endpoint",
    "keystone_endpoints",
];

/// The body of one playbook entry, and the name of its kind.
pub(super) struct Body<'n> {
    /// The kind's name, the entry's key (`file`).
    pub kind: &'n str,
    /// The body as written (errors point at it).
    pub node: &'n Node,
    /// Its fields (none for `packages` given as a list or a string).
    pub fields: Entry<'n>,
}

impl Body<'_> {
    fn err(&self, l: &Loader<'_>, reason: Why) -> DesiredError {
        l.err(self.node, reason)
    }

    /// A field the kind needs, rendered.
    fn need(&self, l: &mut Loader<'_>, k: &str) -> Result<String, DesiredError> {
        let n = self.fields.get(k).ok_or_else(|| {
            let (kind, key) = (self.kind.into(), k.into());
            self.err(l, Why::Needs { kind, key })
        })?;
        l.render(n)
    }

    /// A field that may be left out, rendered (empty counts as left out).
    fn opt(&self, l: &mut Loader<'_>, k: &str) -> Result<Option<String>, DesiredError> {
        self.fields
            .get(k)
            .map(|n| l.render(n))
            .transpose()
            .map(|o| o.filter(|s| !s.is_empty()))
    }

    /// `mode` (octal), `owner` and `group`.
    fn perms(&self, l: &mut Loader<'_>) -> Result<Perms, DesiredError> {
        let mode_s = self.need(l, "mode")?;
        let mode = u32::from_str_radix(&mode_s, 8)
            .map_err(|_| self.err(l, Why::NotOctal(mode_s.clone())))?;
        Ok(Perms {
            owner: self.need(l, "owner")?,
            group: self.need(l, "group")?,
            mode,
        })
    }

    /// The services a change notifies (`notify`, words).
    fn notify(&self, l: &mut Loader<'_>) -> Result<Vec<String>, DesiredError> {
        self.fields
            .get("notify")
            .map(|n| l.words(n))
            .unwrap_or(Ok(Vec::new()))
    }
}

/// Whether the entry is an INI file: an `ini`, or a `file` with `format: ini`.
pub(super) fn is_ini(l: &mut Loader<'_>, b: &Body<'_>) -> Result<bool, DesiredError> {
    Ok(match b.kind {
        "ini" => true,
        "file" => match b.opt(l, "format")?.as_deref() {
            None | Some("text") => false,
            Some("ini") => true,
            Some(other) => return Err(b.err(l, Why::FileFormat(other.into()))),
        },
        _ => false,
    })
}

/// The resource kind the entry's key names, read from its body.
pub(super) fn kind(l: &mut Loader<'_>, b: &Body<'_>) -> Result<Kind, DesiredError> {
    Ok(match b.kind {
        "packages" => Kind::Packages(PackagesSpec {
            names: l.words(b.node)?,
        }),
        "file" => Kind::File(file(l, b)?),
        "directory" => Kind::Directory(DirectorySpec {
            path: b.need(l, "path")?,
            perms: b.perms(l)?,
        }),
        "ini" => Kind::IniEdit(ini(l, b)?),
        "service" => Kind::Service(service(l, b)?),
        "command" => Kind::Command(command(l, b)?),
        "galera_status" => Kind::GaleraStatus(galera_status(l, b)?),
        "sql_database" => Kind::SqlDatabase(sql_database(l, b)?),
        "sql_user" => Kind::SqlUser(sql_user(l, b)?),
        "sql_grant" => Kind::SqlGrant(sql_grant(l, b)?),
        "keystone_api" => Kind::KeystoneApi(keystone_api(l, b)?),
        "keystone_project" => Kind::KeystoneProject(KeystoneProjectSpec {
            name: b.need(l, "name")?,
            description: b.opt(l, "description")?.unwrap_or_default(),
        }),
        "keystone_user" => Kind::KeystoneUser(KeystoneUserSpec {
            name: b.need(l, "name")?,
            password: b.need(l, "password")?,
        }),
        "keystone_role" => Kind::KeystoneRole(KeystoneRoleSpec {
            name: b.need(l, "name")?,
        }),
        "keystone_assignment" => Kind::KeystoneAssignment(KeystoneAssignmentSpec {
            user: b.need(l, "user")?,
            project: b.need(l, "project")?,
            role: b.need(l, "role")?,
        }),
        "keystone_service" => Kind::KeystoneService(KeystoneServiceSpec {
            name: b.need(l, "name")?,
            service_type: b.need(l, "type")?,
            description: b.opt(l, "description")?.unwrap_or_default(),
        }),
        "keystone_endpoint" => Kind::KeystoneEndpoint(KeystoneEndpointSpec {
            service_type: b.need(l, "service")?,
            interface: b.need(l, "interface")?,
            region: b.need(l, "region")?,
            url: b.need(l, "url")?,
        }),
        "keystone_endpoints" => Kind::KeystoneEndpoints(KeystoneEndpointsSpec {
            service_type: b.need(l, "service")?,
            region: b.need(l, "region")?,
            publicurl: b.need(l, "publicurl")?,
            internalurl: b.need(l, "internalurl")?,
            adminurl: b.need(l, "adminurl")?,
        }),
        other => return Err(b.err(l, Why::UnknownKind(other.into()))),
    })
}

/// `file`: `template` (a file of `templates/`) or `content`, and where.
fn file(l: &mut Loader<'_>, b: &Body<'_>) -> Result<FileSpec, DesiredError> {
    let content = match (b.fields.get("template"), b.fields.get("content")) {
        (Some(t), _) => l.template(t)?,
        (None, Some(c)) => l.render(c)?,
        _ => return Err(b.err(l, Why::NoContent)),
    };
    Ok(FileSpec {
        path: b.need(l, "path")?,
        content,
        perms: b.perms(l)?,
        notify: b.notify(l)?,
    })
}

/// `ini`: `settings`, a mapping of sections to keys and values.
fn ini(l: &mut Loader<'_>, b: &Body<'_>) -> Result<IniEditSpec, DesiredError> {
    let sn = b.fields.get("settings").ok_or_else(|| {
        let (kind, key) = ("ini".into(), "settings".into());
        b.err(l, Why::Needs { kind, key })
    })?;
    let Value::Map(secs) = &sn.value else {
        return Err(l.err(sn, Why::NotSections));
    };
    let mut settings = Vec::new();
    for (sk, sv) in secs {
        let Value::Map(keys) = &sv.value else {
            return Err(l.err(sv, Why::NotKeys));
        };
        let section = l.render(sk)?;
        for (k, v) in keys {
            settings.push(IniSetting {
                section: section.clone(),
                key: l.render(k)?,
                value: l.render(v)?,
            });
        }
    }
    Ok(IniEditSpec {
        path: b.need(l, "path")?,
        settings,
        perms: b.perms(l)?,
        notify: b.notify(l)?,
    })
}

fn service(l: &mut Loader<'_>, b: &Body<'_>) -> Result<ServiceSpec, DesiredError> {
    Ok(ServiceSpec {
        name: b.need(l, "name")?,
        enabled: b.opt(l, "enabled")?.is_none_or(|s| s == "true"),
        running: b.opt(l, "running")?.is_none_or(|s| s == "true"),
        port: match b.opt(l, "port")? {
            None => None,
            Some(p) => Some(
                p.parse()
                    .map_err(|_| b.err(l, Why::PortNotANumber(p.clone())))?,
            ),
        },
    })
}

/// `command`: at least one guard, and no secret on its command line.
fn command(l: &mut Loader<'_>, b: &Body<'_>) -> Result<CommandSpec, DesiredError> {
    let creates = b.opt(l, "creates")?;
    let unless = b.opt(l, "unless")?;
    let unless_login = b.opt(l, "unless_login")?;
    let unless_amqp = match b.fields.get("unless_amqp") {
        None => None,
        Some(n) => Some(Box::new(amqp_login(l, n)?)),
    };
    if creates.is_none() && unless.is_none() && unless_login.is_none() && unless_amqp.is_none() {
        return Err(b.err(l, Why::NoGuard));
    }
    let run = b.need(l, "run")?;
    if placeholder::has_secrets(&run) || unless.as_deref().is_some_and(placeholder::has_secrets) {
        return Err(b.err(l, Why::SecretOnCommandLine));
    }
    let timeout_secs = b
        .opt(l, "timeout")?
        .map(|t| t.parse().map_err(|_| b.err(l, Why::TimeoutNotSeconds)))
        .transpose()?
        .unwrap_or(600);
    Ok(CommandSpec {
        name: b.need(l, "name")?,
        run,
        user: b.opt(l, "user")?,
        stdin: b.opt(l, "stdin")?,
        unless_stdin: b.opt(l, "unless_stdin")?,
        unless_login,
        unless_amqp,
        explain: b.opt(l, "explain")?,
        creates,
        unless,
        notify: b.notify(l)?,
        timeout_secs,
        starts_cluster: b.opt(l, "starts_cluster")?,
    })
}

/// `unless_amqp: {user, vhost, password, port}`: `password` names a secret,
/// `vhost` is `/` and `port` 5672 unless given.
fn amqp_login(l: &mut Loader<'_>, n: &Node) -> Result<AmqpLogin, DesiredError> {
    let Value::Map(entries) = &n.value else {
        return Err(l.err(n, Why::AmqpNotAMapping));
    };
    let e = Entry { entries };
    let mut field = |k: &str| -> Result<Option<String>, DesiredError> {
        e.get(k).map(|v| l.render(v)).transpose()
    };
    let (user, vhost, password, port) = (
        field("user")?,
        field("vhost")?,
        field("password")?,
        field("port")?,
    );
    let (Some(user), Some(password)) = (user, password) else {
        return Err(l.err(n, Why::AmqpNeedsLogin));
    };
    let vhost = vhost.unwrap_or_else(|| "/".into());
    if user.len() > 255 || vhost.len() > 255 {
        return Err(l.err(n, Why::AmqpNameTooLong));
    }
    let port = match port {
        None => 5672,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(l.err(n, Why::NotATcpPort(p))),
        },
    };
    Ok(AmqpLogin {
        user,
        vhost,
        password,
        port,
    })
}

fn galera_status(l: &mut Loader<'_>, b: &Body<'_>) -> Result<GaleraStatusSpec, DesiredError> {
    Ok(GaleraStatusSpec {
        service: b.need(l, "service")?,
        nodes: b
            .need(l, "nodes")?
            .parse()
            .map_err(|_| b.err(l, Why::NodesNotANumber))?,
        peers: b.opt(l, "peers")?.unwrap_or_default(),
    })
}

fn sql_database(l: &mut Loader<'_>, b: &Body<'_>) -> Result<SqlDatabaseSpec, DesiredError> {
    let name = b.need(l, "name")?;
    let charset = b.opt(l, "charset")?.unwrap_or_else(|| "utf8mb4".into());
    let collation = b
        .opt(l, "collation")?
        .unwrap_or_else(|| "utf8mb4_general_ci".into());
    Ok(SqlDatabaseSpec {
        name: sql_ident(l, b, name)?,
        charset: sql_ident(l, b, charset)?,
        collation: sql_ident(l, b, collation)?,
    })
}

fn sql_user(l: &mut Loader<'_>, b: &Body<'_>) -> Result<SqlUserSpec, DesiredError> {
    let name = b.need(l, "name")?;
    let syntax = match b.opt(l, "syntax")?.as_deref() {
        None | Some("create") => SqlUserSyntax::Create,
        Some("grant") => SqlUserSyntax::Grant,
        Some(other) => return Err(b.err(l, Why::SqlUserSyntax(other.into()))),
    };
    Ok(SqlUserSpec {
        name: sql_ident(l, b, name)?,
        password: b.need(l, "password")?,
        syntax,
    })
}

fn sql_grant(l: &mut Loader<'_>, b: &Body<'_>) -> Result<SqlGrantSpec, DesiredError> {
    let (user, database) = (b.need(l, "user")?, b.need(l, "database")?);
    Ok(SqlGrantSpec {
        user: sql_ident(l, b, user)?,
        database: sql_ident(l, b, database)?,
    })
}

/// SQL names are spliced into statements, so only safe characters are allowed.
fn sql_ident(l: &Loader<'_>, b: &Body<'_>, s: String) -> Result<String, DesiredError> {
    if s.is_empty() || s.len() > 64 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(b.err(l, Why::UnsafeSqlName(s)));
    }
    Ok(s)
}

/// `keystone_api`: v3 (a user's login) or v2.0 (the admin token).
fn keystone_api(l: &mut Loader<'_>, b: &Body<'_>) -> Result<KeystoneApiSpec, DesiredError> {
    let port_s = b.need(l, "port")?;
    let port = port_s
        .parse()
        .map_err(|_| b.err(l, Why::PortNotANumber(port_s.clone())))?;
    let admin = match b.opt(l, "version")?.as_deref() {
        None | Some("v3") => Admin {
            port,
            user: b.need(l, "user")?,
            project: b.need(l, "project")?,
            password: b.need(l, "password")?,
            token: None,
        },
        // the guide's era: the v2.0 admin API, authenticated by the admin
        // token; the admin user (optional) is whom verify logs in as
        Some("v2.0") => Admin {
            port,
            user: b.opt(l, "user")?.unwrap_or_default(),
            project: b.opt(l, "project")?.unwrap_or_default(),
            password: b.opt(l, "password")?.unwrap_or_default(),
            token: Some(b.need(l, "token")?),
        },
        Some(other) => return Err(b.err(l, Why::KeystoneApiVersion(other.into()))),
    };
    Ok(KeystoneApiSpec { admin })
}
