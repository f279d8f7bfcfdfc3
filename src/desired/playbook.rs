//! Roles as data: `playbooks/<role>.yaml` is a list of resources whose strings
//! are Tera templates, rendered with the site, the host and the profile.
//! Files come from `templates/`. The result is the host's desired state.

use super::templates::{context, tera, tera_error};
use super::{DesiredError, PlaybookError, PlaybookReason as Why};
use crate::desired::resource::{
    CommandSpec, DirectorySpec, FileSpec, GaleraStatusSpec, IniEditSpec, KeystoneApiSpec,
    KeystoneAssignmentSpec, KeystoneEndpointSpec, KeystoneEndpointsSpec, KeystoneProjectSpec,
    KeystoneRoleSpec, KeystoneServiceSpec, KeystoneUserSpec, Kind, PackagesSpec, Resource,
    ServiceSpec, SqlDatabaseSpec, SqlGrantSpec, SqlUserSpec, SqlUserSyntax,
};
use crate::facts::OsFacts;
use crate::ini::IniSetting;
use crate::model::{AmqpLogin, Perms};
use crate::plan::catalog::Admin;
use crate::secrets::placeholder;
use crate::site::{Host, Site};
use crate::yaml::{self, Node, Value};
use std::collections::BTreeSet;

/// Everything a host should look like, in order.
#[derive(Debug, Clone)]
pub struct Desired {
    pub resources: Vec<Resource>,
}

struct Loader<'a> {
    tera: tera::Tera,
    cx: &'a tera::Context,
    file: String,
}

impl Loader<'_> {
    fn at(&self, n: &Node) -> String {
        format!("{}:{}", self.file, n.mark.line)
    }

    fn err(&self, n: &Node, reason: Why) -> DesiredError {
        PlaybookError::new(
            format!("{}:{}:{}", self.file, n.mark.line, n.mark.col),
            reason,
        )
        .into()
    }

    fn render(&mut self, n: &Node) -> Result<String, DesiredError> {
        let Some(s) = n.as_str() else {
            return Err(self.err(n, Why::NotAString(n.kind())));
        };
        if !s.contains("{{") && !s.contains("{%") {
            return Ok(s.to_string());
        }
        let cx = self.cx;
        self.tera
            .render_str(s, cx)
            .map_err(|e| self.err(n, Why::Tera(tera_error(&e))))
    }

    fn words(&mut self, n: &Node) -> Result<Vec<String>, DesiredError> {
        match &n.value {
            Value::Seq(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.extend(self.render(i)?.split_whitespace().map(str::to_string));
                }
                Ok(out)
            }
            Value::Null => Ok(Vec::new()),
            _ => Ok(self
                .render(n)?
                .split_whitespace()
                .map(str::to_string)
                .collect()),
        }
    }

    fn template(&mut self, n: &Node) -> Result<String, DesiredError> {
        let name = self.render(n)?;
        self.tera.render(&name, self.cx).map_err(|e| {
            let message = tera_error(&e);
            self.err(n, Why::Template { name, message })
        })
    }

    fn truthy(&mut self, n: &Node) -> Result<bool, DesiredError> {
        let s = n.as_str().ok_or_else(|| self.err(n, Why::NotACondition))?;
        let cx = self.cx;
        let out = self
            .tera
            .render_str(&format!("{{% if {s} %}}yes{{% endif %}}"), cx)
            .map_err(|e| self.err(n, Why::Tera(tera_error(&e))))?;
        Ok(out == "yes")
    }
}

/// Fields of one playbook entry.
struct Entry<'n> {
    entries: &'n [(Node, Node)],
}

impl<'n> Entry<'n> {
    fn get(&self, k: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .map(|(_, v)| v)
    }
}

const KINDS: &[&str] = &[
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

/// The resources of every role of a host, in role order, with the site's
/// `overrides` set in the INI files among them.
pub fn desired(site: &Site, host: &Host, os: &OsFacts) -> Result<Desired, DesiredError> {
    let (mut resources, ini_files) = roles(site, host, os)?;
    // an `unless_login` guard reads a login the catalog read makes: one of
    // this host's keystone_users, or the guard would never pass
    for r in &resources {
        if let Kind::Command(CommandSpec {
            name,
            unless_login: Some(user),
            ..
        }) = &r.kind
            && !resources
                .iter()
                .any(|k| matches!(&k.kind, Kind::KeystoneUser(KeystoneUserSpec { name, .. }) if name == user))
        {
            return Err(DesiredError::UnknownLoginUser {
                command: name.clone(),
                user: user.clone(),
            });
        }
    }
    super::overrides::apply(site, &ini_files, &mut resources)?;
    Ok(Desired { resources })
}

/// The resources of a host's roles, and the paths of the INI files among them
/// (`file`s marked `format: ini`, and every `ini`), the only ones overrides edit.
pub(super) fn roles(
    site: &Site,
    host: &Host,
    os: &OsFacts,
) -> Result<(Vec<Resource>, BTreeSet<String>), DesiredError> {
    let cx = context(site, host, os)?;
    let ha_built = cx
        .get("p")
        .and_then(|p| p.pointer("/options/ha"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if site.ha.is_some() && host.has_role("ha") && !ha_built {
        return Err(DesiredError::NoHa {
            os: os.pretty_name.clone(),
        });
    }
    let mut resources = Vec::new();
    let mut ini_files = BTreeSet::new();
    for role in &host.roles {
        let file = format!("playbooks/{role}.yaml");
        let text = crate::desired::assets::text(&file)?;
        let root = yaml::parse(text).map_err(|e| PlaybookError::yaml(&file, &e))?;
        let mut l = Loader {
            tera: tera()?,
            cx: &cx,
            file: file.clone(),
        };
        let Value::Seq(items) = &root.value else {
            return Err(PlaybookError::new(file, Why::NotAList).into());
        };
        for item in items {
            if let Some((r, ini)) = resource(&mut l, role, item)? {
                if ini
                    && let Kind::File(FileSpec { path, .. })
                    | Kind::IniEdit(IniEditSpec { path, .. }) = &r.kind
                {
                    ini_files.insert(path.clone());
                }
                resources.push(r);
            }
        }
    }
    Ok((resources, ini_files))
}

/// One playbook entry: its resource (none when its `when` is false), and
/// whether it is an INI file (`ini`, or a `file` with `format: ini`).
fn resource(
    l: &mut Loader<'_>,
    role: &str,
    item: &Node,
) -> Result<Option<(Resource, bool)>, DesiredError> {
    let Value::Map(entries) = &item.value else {
        return Err(l.err(item, Why::NotAResource));
    };
    let e = Entry { entries };
    if let Some(w) = e.get("when")
        && !l.truthy(w)?
    {
        return Ok(None);
    }
    let Some((kind_key, body)) = entries
        .iter()
        .find(|(k, _)| k.as_str().is_some_and(|k| KINDS.contains(&k)))
    else {
        return Err(l.err(item, Why::NoKind(KINDS)));
    };
    let kind_name = kind_key.as_str().unwrap_or_default();
    let b = match &body.value {
        Value::Map(be) => Entry { entries: be },
        _ if kind_name == "packages" => Entry { entries: &[] },
        _ => return Err(l.err(body, Why::NotAMapping(kind_name.into()))),
    };
    let need = |l: &mut Loader<'_>, k: &str| -> Result<String, DesiredError> {
        let n = b.get(k).ok_or_else(|| {
            let (kind, key) = (kind_name.into(), k.into());
            l.err(body, Why::Needs { kind, key })
        })?;
        l.render(n)
    };
    let opt = |l: &mut Loader<'_>, k: &str| -> Result<Option<String>, DesiredError> {
        b.get(k)
            .map(|n| l.render(n))
            .transpose()
            .map(|o| o.filter(|s| !s.is_empty()))
    };
    let perms = |l: &mut Loader<'_>| -> Result<Perms, DesiredError> {
        let mode_s = need(l, "mode")?;
        let mode = u32::from_str_radix(&mode_s, 8)
            .map_err(|_| l.err(body, Why::NotOctal(mode_s.clone())))?;
        Ok(Perms {
            owner: need(l, "owner")?,
            group: need(l, "group")?,
            mode,
        })
    };
    let notify = |l: &mut Loader<'_>| -> Result<Vec<String>, DesiredError> {
        b.get("notify")
            .map(|n| l.words(n))
            .unwrap_or(Ok(Vec::new()))
    };
    let ini = match kind_name {
        "ini" => true,
        "file" => match opt(l, "format")?.as_deref() {
            None | Some("text") => false,
            Some("ini") => true,
            Some(other) => {
                return Err(l.err(body, Why::FileFormat(other.into())));
            }
        },
        _ => false,
    };
    let kind = match kind_name {
        "packages" => Kind::Packages(PackagesSpec {
            names: l.words(body)?,
        }),
        "file" => {
            let content = match (b.get("template"), b.get("content")) {
                (Some(t), _) => l.template(t)?,
                (None, Some(c)) => l.render(c)?,
                _ => return Err(l.err(body, Why::NoContent)),
            };
            Kind::File(FileSpec {
                path: need(l, "path")?,
                content,
                perms: perms(l)?,
                notify: notify(l)?,
            })
        }
        "directory" => Kind::Directory(DirectorySpec {
            path: need(l, "path")?,
            perms: perms(l)?,
        }),
        "ini" => {
            let sn = b.get("settings").ok_or_else(|| {
                let (kind, key) = ("ini".into(), "settings".into());
                l.err(body, Why::Needs { kind, key })
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
            Kind::IniEdit(IniEditSpec {
                path: need(l, "path")?,
                settings,
                perms: perms(l)?,
                notify: notify(l)?,
            })
        }
        "service" => Kind::Service(ServiceSpec {
            name: need(l, "name")?,
            enabled: opt(l, "enabled")?.is_none_or(|s| s == "true"),
            running: opt(l, "running")?.is_none_or(|s| s == "true"),
            port: match opt(l, "port")? {
                None => None,
                Some(p) => Some(
                    p.parse()
                        .map_err(|_| l.err(body, Why::PortNotANumber(p.clone())))?,
                ),
            },
        }),
        "command" => {
            let creates = opt(l, "creates")?;
            let unless = opt(l, "unless")?;
            let unless_login = opt(l, "unless_login")?;
            let unless_amqp = match b.get("unless_amqp") {
                None => None,
                Some(n) => Some(Box::new(amqp_login(l, n)?)),
            };
            if creates.is_none()
                && unless.is_none()
                && unless_login.is_none()
                && unless_amqp.is_none()
            {
                return Err(l.err(body, Why::NoGuard));
            }
            let run = need(l, "run")?;
            if placeholder::has_secrets(&run)
                || unless.as_deref().is_some_and(placeholder::has_secrets)
            {
                return Err(l.err(body, Why::SecretOnCommandLine));
            }
            let timeout_secs = opt(l, "timeout")?
                .map(|t| t.parse().map_err(|_| l.err(body, Why::TimeoutNotSeconds)))
                .transpose()?
                .unwrap_or(600);
            Kind::Command(CommandSpec {
                name: need(l, "name")?,
                run,
                user: opt(l, "user")?,
                stdin: opt(l, "stdin")?,
                unless_stdin: opt(l, "unless_stdin")?,
                unless_login,
                unless_amqp,
                explain: opt(l, "explain")?,
                creates,
                unless,
                notify: notify(l)?,
                timeout_secs,
                starts_cluster: opt(l, "starts_cluster")?,
            })
        }
        "galera_status" => Kind::GaleraStatus(GaleraStatusSpec {
            service: need(l, "service")?,
            nodes: need(l, "nodes")?
                .parse()
                .map_err(|_| l.err(body, Why::NodesNotANumber))?,
            peers: opt(l, "peers")?.unwrap_or_default(),
        }),
        "sql_database" => {
            let name = need(l, "name")?;
            let charset = opt(l, "charset")?.unwrap_or_else(|| "utf8mb4".into());
            let collation = opt(l, "collation")?.unwrap_or_else(|| "utf8mb4_general_ci".into());
            Kind::SqlDatabase(SqlDatabaseSpec {
                name: sql_ident(l, body, name)?,
                charset: sql_ident(l, body, charset)?,
                collation: sql_ident(l, body, collation)?,
            })
        }
        "sql_user" => {
            let name = need(l, "name")?;
            let syntax = match opt(l, "syntax")?.as_deref() {
                None | Some("create") => SqlUserSyntax::Create,
                Some("grant") => SqlUserSyntax::Grant,
                Some(other) => {
                    return Err(l.err(body, Why::SqlUserSyntax(other.into())));
                }
            };
            Kind::SqlUser(SqlUserSpec {
                name: sql_ident(l, body, name)?,
                password: need(l, "password")?,
                syntax,
            })
        }
        "sql_grant" => {
            let (user, database) = (need(l, "user")?, need(l, "database")?);
            Kind::SqlGrant(SqlGrantSpec {
                user: sql_ident(l, body, user)?,
                database: sql_ident(l, body, database)?,
            })
        }
        "keystone_api" => {
            let port_s = need(l, "port")?;
            let port = port_s
                .parse()
                .map_err(|_| l.err(body, Why::PortNotANumber(port_s.clone())))?;
            let admin = match opt(l, "version")?.as_deref() {
                None | Some("v3") => Admin {
                    port,
                    user: need(l, "user")?,
                    project: need(l, "project")?,
                    password: need(l, "password")?,
                    token: None,
                },
                // the guide's era: the v2.0 admin API, authenticated by the admin
                // token; the admin user (optional) is whom verify logs in as
                Some("v2.0") => Admin {
                    port,
                    user: opt(l, "user")?.unwrap_or_default(),
                    project: opt(l, "project")?.unwrap_or_default(),
                    password: opt(l, "password")?.unwrap_or_default(),
                    token: Some(need(l, "token")?),
                },
                Some(other) => {
                    return Err(l.err(body, Why::KeystoneApiVersion(other.into())));
                }
            };
            Kind::KeystoneApi(KeystoneApiSpec { admin })
        }
        "keystone_project" => Kind::KeystoneProject(KeystoneProjectSpec {
            name: need(l, "name")?,
            description: opt(l, "description")?.unwrap_or_default(),
        }),
        "keystone_user" => Kind::KeystoneUser(KeystoneUserSpec {
            name: need(l, "name")?,
            password: need(l, "password")?,
        }),
        "keystone_role" => Kind::KeystoneRole(KeystoneRoleSpec {
            name: need(l, "name")?,
        }),
        "keystone_assignment" => Kind::KeystoneAssignment(KeystoneAssignmentSpec {
            user: need(l, "user")?,
            project: need(l, "project")?,
            role: need(l, "role")?,
        }),
        "keystone_service" => Kind::KeystoneService(KeystoneServiceSpec {
            name: need(l, "name")?,
            service_type: need(l, "type")?,
            description: opt(l, "description")?.unwrap_or_default(),
        }),
        "keystone_endpoint" => Kind::KeystoneEndpoint(KeystoneEndpointSpec {
            service_type: need(l, "service")?,
            interface: need(l, "interface")?,
            region: need(l, "region")?,
            url: need(l, "url")?,
        }),
        "keystone_endpoints" => Kind::KeystoneEndpoints(KeystoneEndpointsSpec {
            service_type: need(l, "service")?,
            region: need(l, "region")?,
            publicurl: need(l, "publicurl")?,
            internalurl: need(l, "internalurl")?,
            adminurl: need(l, "adminurl")?,
        }),
        other => return Err(l.err(body, Why::UnknownKind(other.into()))),
    };
    Ok(Some((
        Resource {
            role: role.to_string(),
            source: l.at(item),
            kind,
            package_source: match e.get("package_source") {
                Some(n) => l.truthy(n)?,
                None => false,
            },
        },
        ini,
    )))
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

/// SQL names are spliced into statements, so only safe characters are allowed.
fn sql_ident(l: &Loader<'_>, n: &Node, s: String) -> Result<String, DesiredError> {
    if s.is_empty() || s.len() > 64 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(l.err(n, Why::UnsafeSqlName(s)));
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
