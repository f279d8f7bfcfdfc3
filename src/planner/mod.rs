//! Pure planning: desired resources × facts → the host's changes, each with a
//! reason, a masked diff and the exact operations. Nothing here touches a host.
//!
//! One file per resource kind (see [`crate::desired::resource::Kind`]); this one holds
//! what they share: the inputs, the facts each kind asks for, the secrets it
//! references, and the loop over a host's resources.

pub mod bootstrap;
mod catalog;
mod command;
mod diff;
mod directory;
mod endpoint;
mod file;
mod galera;
mod ini_edit;
mod keystone_api;
mod packages;
mod service;
mod sql;
#[cfg(test)]
mod testkit;
#[cfg(test)]
pub(crate) use testkit::{facts as test_facts, res as test_res, set_service};
#[cfg(test)]
mod tests;

pub use diff::{diff, mask_secret_lines, mask_secret_looking};

use crate::desired::resource::{FileSpec, IniEditSpec, Kind, Resource};
use crate::facts::Facts;
use crate::model::Perms;
use crate::plan::catalog::Admin;
use crate::plan::{Action, Change, HostPlan, NoOp, Op};
use crate::secrets::SecretStore;
use crate::secrets::encoding::Unencodable;
use crate::secrets::placeholder;
use crate::secrets::{Encoding, Masker};
use std::collections::BTreeSet;

/// Why a host cannot be planned: the site asks for something the host (or the
/// order of the resources) rules out. Each message names where it is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A `file` whose path is there as something else (a directory, a device).
    #[error("{at}: {path} exists but is not a regular file")]
    NotAFile { at: String, path: String },
    /// A `directory` whose path is there as something else.
    #[error("{at}: {path} exists but is not a directory")]
    NotADirectory { at: String, path: String },
    /// A catalog resource with no `keystone_api` before it to talk to.
    #[error("{at}: a catalog resource needs a `keystone_api` before it")]
    NoKeystoneApi { at: String },
    /// A v3 `keystone_endpoint` after a v2.0 `keystone_api`.
    #[error(
        "{at}: `keystone_endpoint` needs the v3 API; after a v2.0 `keystone_api` use `keystone_endpoints`"
    )]
    EndpointNeedsV3 { at: String },
    /// A v2.0 `keystone_endpoints` after a v3 `keystone_api`.
    #[error("{at}: `keystone_endpoints` needs a v2.0 `keystone_api` before it")]
    EndpointsNeedV2 { at: String },
    /// A secret value no encoding carries to where it lands (`file` is the
    /// resource's path, or its id when it is not a `file`).
    #[error(
        "secret `{name}` contains `{ch}`, but it goes into a database URL in {file} that OpenStack's db_sync \
         (alembic, through Python's configparser) cannot read with `%` or `@` in any encoding; \
         choose a value without `%` and `@` (quotes, `$`, `#`, `/`, `:`, `;` and spaces are fine)"
    )]
    UnencodableSecret {
        name: String,
        ch: char,
        file: String,
    },
    /// A secret value that cannot be written into a place it goes (see
    /// [`crate::secrets::Encoding::check`]); `file` as for `UnencodableSecret`.
    #[error("{0}")]
    CannotEncode(Box<CannotEncode>),
    /// Placeholders that do not resolve (a secret missing from the secrets file).
    #[error("{0}")]
    Placeholder(#[from] crate::secrets::PlaceholderError),
}

/// A secret value that cannot be written into a place it goes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "secret `{name}` contains {what}, which cannot be written into {place} in {file}: {why}; choose a value without it"
)]
pub struct CannotEncode {
    pub name: String,
    pub what: String,
    pub place: &'static str,
    pub why: &'static str,
    pub file: String,
}

/// What the planner needs besides resources and facts.
pub struct Inputs<'a> {
    pub host: &'a str,
    pub secrets: &'a SecretStore,
    pub masker: &'a Masker,
    /// The site-wide choice of the node that starts the Galera cluster again
    /// after an outage (see `pipeline::galera`), as it concerns this host.
    pub galera_bootstrap: Option<GaleraRole<'a>>,
}

/// This host's part when a Galera cluster is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaleraRole<'a> {
    /// It starts the cluster, for this reason.
    Starts(&'a str),
    /// It joins the cluster this host starts.
    Joins(&'a str),
}

/// The catalog entries the resources look for (see [`CatalogWants`]).
pub fn catalog_wants(resources: &[Resource]) -> crate::facts::catalog::CatalogWants {
    let mut w = crate::facts::catalog::CatalogWants::default();
    for r in resources {
        match &r.kind {
            Kind::KeystoneProject(s) => {
                w.projects.insert(s.name.clone());
            }
            Kind::KeystoneUser(s) => {
                w.users.insert(s.name.clone());
            }
            Kind::KeystoneRole(s) => {
                w.roles.insert(s.name.clone());
            }
            Kind::KeystoneAssignment(s) => {
                w.users.insert(s.user.clone());
                w.projects.insert(s.project.clone());
                w.roles.insert(s.role.clone());
            }
            Kind::KeystoneService(s) => {
                w.services.insert(s.service_type.clone());
            }
            Kind::KeystoneEndpoint(s) => {
                w.services.insert(s.service_type.clone());
                w.endpoints.insert((
                    s.service_type.clone(),
                    s.interface.clone(),
                    s.region.clone(),
                ));
            }
            // a v2.0 catalog is read whole (openstack::keystone::v2 takes no wants);
            // the API itself is read, not looked for
            Kind::KeystoneEndpoints(_) | Kind::KeystoneApi(_) => {}
            Kind::Packages(_)
            | Kind::File(_)
            | Kind::Directory(_)
            | Kind::IniEdit(_)
            | Kind::Service(_)
            | Kind::Command(_)
            | Kind::GaleraStatus(_)
            | Kind::SqlDatabase(_)
            | Kind::SqlUser(_)
            | Kind::SqlGrant(_) => {}
        }
    }
    w
}

/// The facts each resource needs (the second, batched round trip).
pub fn query(resources: &[Resource]) -> crate::facts::FactQuery {
    let mut q = crate::facts::FactQuery::default();
    for r in resources {
        match &r.kind {
            Kind::Packages(s) => q.packages.extend(s.names.iter().cloned()),
            Kind::File(FileSpec { path, .. }) | Kind::IniEdit(IniEditSpec { path, .. }) => {
                q.contents.insert(path.clone());
            }
            Kind::Directory(s) => {
                q.stats.insert(s.path.clone());
            }
            Kind::Service(s) => {
                q.services.insert(s.name.clone());
            }
            Kind::Command(s) => {
                if let Some(a) = &s.unless_amqp {
                    q.amqp_logins.insert((**a).clone());
                }
                if let Some(c) = &s.creates {
                    q.stats.insert(c.clone());
                }
                if let Some(u) = &s.unless {
                    q.checks.insert(u.clone());
                    if let Some(i) = &s.unless_stdin {
                        q.check_stdin.insert(u.clone(), i.clone());
                    }
                }
            }
            Kind::SqlDatabase(_) | Kind::SqlGrant(_) => q.sql = true,
            Kind::GaleraStatus(s) => {
                q.services.insert(s.service.clone());
                q.galera = true;
                q.checks
                    .extend(galera::CHECKS.iter().map(|c| c.to_string()));
            }
            Kind::SqlUser(s) => {
                q.sql = true;
                q.sql_logins.insert(s.name.clone(), s.password.clone());
            }
            Kind::KeystoneApi(s) => q.catalog = Some(s.admin.clone()),
            Kind::KeystoneUser(s) => {
                q.catalog_logins.insert(s.name.clone(), s.password.clone());
            }
            Kind::KeystoneProject(_)
            | Kind::KeystoneRole(_)
            | Kind::KeystoneAssignment(_)
            | Kind::KeystoneService(_)
            | Kind::KeystoneEndpoint(_)
            | Kind::KeystoneEndpoints(_) => {}
        }
    }
    q
}

/// Where a resource's secrets are, as [`secret_names`] (which generates
/// them) and [`check_secret_values`] read them.
#[derive(Default)]
struct Secrets<'a> {
    /// Texts written into files, with placeholders (each in its encoding).
    texts: Vec<&'a str>,
    /// Texts a command reads on stdin (one line each), with placeholders.
    stdin: Vec<&'a str>,
    /// A MariaDB user's password (a secret's name): an SQL string, and a
    /// line of the MySQL option file the login check uses.
    sql_password: Option<&'a str>,
    /// A RabbitMQ user's password (a secret's name): rabbitmqctl reads it trimmed.
    amqp_password: Option<&'a str>,
    /// The v2.0 admin token (a secret's name): generated, sent as an HTTP header.
    admin_token: Option<&'a str>,
    /// A Keystone password (a secret's name) sent in an API request's JSON
    /// body, which carries any text: generated, nothing to check.
    api_password: Option<&'a str>,
}

/// A resource's secrets, by kind: a kind that holds secrets says here
/// where, or they are never generated nor checked.
fn secrets_of(kind: &Kind) -> Secrets<'_> {
    let none = Secrets::default;
    match kind {
        Kind::File(s) => Secrets {
            texts: vec![&s.content],
            ..none()
        },
        Kind::IniEdit(s) => Secrets {
            texts: s.values().collect(),
            ..none()
        },
        Kind::Command(s) => Secrets {
            stdin: s.stdins().collect(),
            amqp_password: s.unless_amqp.as_ref().map(|a| a.password.as_str()),
            ..none()
        },
        Kind::SqlUser(s) => Secrets {
            sql_password: Some(&s.password),
            ..none()
        },
        Kind::KeystoneApi(s) => Secrets {
            admin_token: s.admin.token.as_deref(),
            api_password: Some(&s.admin.password),
            ..none()
        },
        Kind::KeystoneUser(s) => Secrets {
            api_password: Some(&s.password),
            ..none()
        },
        Kind::Packages(_)
        | Kind::Directory(_)
        | Kind::Service(_)
        | Kind::GaleraStatus(_)
        | Kind::SqlDatabase(_)
        | Kind::SqlGrant(_)
        | Kind::KeystoneProject(_)
        | Kind::KeystoneRole(_)
        | Kind::KeystoneAssignment(_)
        | Kind::KeystoneService(_)
        | Kind::KeystoneEndpoint(_)
        | Kind::KeystoneEndpoints(_) => none(),
    }
}

/// Every secret name the resources reference.
pub fn secret_names(resources: &[Resource]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in resources {
        let s = secrets_of(&r.kind);
        let named = [
            s.sql_password,
            s.amqp_password,
            s.admin_token,
            s.api_password,
        ];
        out.extend(named.into_iter().flatten().map(str::to_string));
        for t in s.texts.iter().chain(&s.stdin) {
            out.extend(placeholder::secret_names(t));
        }
    }
    out
}

/// Refuse secret values that no encoding can carry to where they land: each
/// placeholder in a file or INI edit is checked in its encoding
/// ([`Encoding::check`]), a SQL user's password as an SQL string and in the
/// MySQL option file the login check uses, and a command's stdin as the line
/// `read -r` reads. Keystone and Glance hand their `[database] connection`
/// URL to alembic, whose configparser interpolation rejects `%`; and `@` would
/// have to be written `%40`: those keep their own message.
pub fn check_secret_values(resources: &[Resource], secrets: &SecretStore) -> Result<(), PlanError> {
    let value = |name: &str| secrets.get(name).map(|v| v.expose().to_string());
    for r in resources {
        let file = r.id().trim_start_matches("file:").to_string();
        let refuse = |name: &str, enc: Encoding, u: Unencodable| match (enc, u.ch) {
            (Encoding::DbUrl | Encoding::DbUrlSqla07, Some(ch @ ('%' | '@'))) => {
                PlanError::UnencodableSecret {
                    name: name.to_string(),
                    ch,
                    file: file.clone(),
                }
            }
            _ => PlanError::CannotEncode(Box::new(CannotEncode {
                name: name.to_string(),
                what: u.what,
                place: enc.place(),
                why: u.why,
                file: file.clone(),
            })),
        };
        let Secrets {
            texts,
            stdin,
            sql_password,
            amqp_password,
            admin_token: _,
            // a JSON string carries any text
            api_password: _,
        } = secrets_of(&r.kind);
        if let Some(password) = sql_password
            && let Some(v) = value(password)
        {
            for enc in [Encoding::Sql, Encoding::Cnf] {
                enc.check(&v).map_err(|u| refuse(password, enc, u))?;
            }
        }
        for t in texts.iter().copied() {
            for name in placeholder::secret_names(t) {
                if crate::secrets::store::is_fernet_key(&name)
                    && let Some(v) = value(&name)
                    && !crate::secrets::store::valid_fernet_key(&v)
                {
                    return Err(PlanError::CannotEncode(Box::new(CannotEncode {
                        name,
                        what: "a value that is not a Keystone key".into(),
                        place: "a Keystone key file",
                        why: "Keystone reads 32 bytes in URL-safe base64 (44 characters, as keystone-manage fernet_setup writes them); delete the line and stackprov generates one",
                        file,
                    })));
                }
            }
        }
        for t in texts {
            for enc in Encoding::ALL {
                for name in placeholder::secret_names_with_encoding(t, enc) {
                    if let Some(v) = value(&name) {
                        enc.check(&v).map_err(|u| refuse(&name, enc, u))?;
                    }
                }
            }
        }
        // RabbitMQ's CLI trims the password it reads on stdin: RabbitMQ would
        // hold another one than the secrets file (the AMQP login shows it)
        if let Some(password) = amqp_password
            && let Some(v) = value(password)
            && v.trim() != v
        {
            return Err(PlanError::CannotEncode(Box::new(CannotEncode {
                name: password.to_string(),
                what: "leading or trailing whitespace".into(),
                place: "RabbitMQ's password",
                why: "rabbitmqctl trims the password it reads on stdin (the only way a secret reaches it), so RabbitMQ would hold another one than the secrets file",
                file,
            })));
        }
        for t in stdin {
            for name in placeholder::secret_names(t) {
                if let Some(v) = value(&name)
                    && let Some(c) = v.chars().find(|c| matches!(c, '\n' | '\0'))
                {
                    return Err(PlanError::CannotEncode(Box::new(CannotEncode {
                        name,
                        what: format!("`{}`", crate::secrets::encoding::shown(c)),
                        place: "a line of a command's stdin",
                        why: "the command reads one line with `read -r`, and a shell variable cannot hold a NUL byte",
                        file,
                    })));
                }
            }
        }
    }
    Ok(())
}

pub fn plan_host(
    inp: &Inputs<'_>,
    resources: &[Resource],
    facts: &Facts,
) -> Result<HostPlan, PlanError> {
    let mut cx = Cx::new(inp.secrets, inp.masker, facts, resources);
    cx.galera_bootstrap = inp.galera_bootstrap;
    let mut changes = Vec::new();
    let mut noops = Vec::new();
    for r in resources {
        match plan_one(&mut cx, r)? {
            Decision::Change(c) => changes.push(c),
            Decision::NoOp(reason) => noops.push(NoOp {
                id: r.id(),
                role: r.role.clone(),
                reason,
            }),
        }
    }
    Ok(HostPlan {
        host: inp.host.to_string(),
        facts_digest: facts.digest(),
        changes,
        noops,
        starts_cluster: cx.starts_cluster.take(),
        warnings: std::mem::take(&mut cx.warnings),
    })
}

/// What one resource needs: a change, or nothing (and why not).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Change(Change),
    /// The host already matches the resource, for this reason.
    NoOp(String),
}

impl From<Change> for Decision {
    fn from(c: Change) -> Decision {
        Decision::Change(c)
    }
}

fn noop(reason: impl Into<String>) -> Decision {
    Decision::NoOp(reason.into())
}

/// What planning one host carries from one resource to the next.
struct Cx<'a> {
    secrets: &'a SecretStore,
    masker: &'a Masker,
    facts: &'a Facts,
    /// Services whose restart is due: left pending by a killed run, or notified
    /// by a change planned above.
    notified: BTreeSet<String>,
    /// The Keystone API the catalog resources use, set by the last `keystone_api`.
    api: Option<Admin>,
    /// The host's package transaction and the services its installs hold back.
    packages: packages::Batch,
    /// A `starts_cluster` command runs (see [`HostPlan::starts_cluster`]).
    starts_cluster: Option<crate::plan::ClusterStart>,
    /// What the plan tells besides its changes (a degraded cluster).
    warnings: Vec<String>,
    /// See [`Inputs::galera_bootstrap`].
    galera_bootstrap: Option<GaleraRole<'a>>,
}

impl<'a> Cx<'a> {
    fn new(
        secrets: &'a SecretStore,
        masker: &'a Masker,
        facts: &'a Facts,
        resources: &[Resource],
    ) -> Cx<'a> {
        Cx {
            secrets,
            masker,
            facts,
            notified: facts.pending_restarts.clone(),
            api: None,
            packages: packages::Batch::new(resources, facts),
            starts_cluster: None,
            warnings: Vec::new(),
            galera_bootstrap: None,
        }
    }
}

/// One resource, by kind.
fn plan_one(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    match &r.kind {
        Kind::Packages(s) => packages::plan(cx, r, s),
        Kind::File(s) => file::plan(cx, r, s),
        Kind::Directory(s) => directory::plan(cx, r, s),
        Kind::IniEdit(s) => ini_edit::plan(cx, r, s),
        Kind::Service(s) => service::plan(cx, r, s),
        Kind::Command(s) => command::plan(cx, r, s),
        Kind::GaleraStatus(s) => galera::plan(cx, r, s),
        Kind::SqlDatabase(s) => sql::database(cx, r, s),
        Kind::SqlUser(s) => sql::user(cx, r, s),
        Kind::SqlGrant(s) => sql::grant(cx, r, s),
        Kind::KeystoneApi(s) => keystone_api::plan(cx, r, s),
        Kind::KeystoneProject(s) => catalog::project(cx, r, s),
        Kind::KeystoneUser(s) => catalog::user(cx, r, s),
        Kind::KeystoneRole(s) => catalog::role(cx, r, s),
        Kind::KeystoneAssignment(s) => catalog::assignment(cx, r, s),
        Kind::KeystoneService(s) => catalog::service(cx, r, s),
        Kind::KeystoneEndpoint(s) => endpoint::v3(cx, r, s),
        Kind::KeystoneEndpoints(s) => endpoint::v2(cx, r, s),
    }
}

fn change(r: &Resource, action: Action, reason: impl Into<String>, ops: Vec<Op>) -> Change {
    Change {
        id: r.id(),
        role: r.role.clone(),
        action,
        reason: reason.into(),
        diff: None,
        ops,
    }
}

fn exec(script: String) -> Op {
    Op::Exec {
        script,
        stdin: None,
        timeout_secs: 600,
    }
}

fn exec_stdin(script: &str, stdin: String) -> Op {
    Op::Exec {
        script: script.to_string(),
        stdin: Some(stdin),
        timeout_secs: 600,
    }
}

fn perms_text(p: &Perms) -> String {
    format!("{}:{} {:04o}", p.owner, p.group, p.mode)
}

/// The journal entries for the services a change notifies, which it then
/// marks as due for a restart.
fn notify_ops(cx: &mut Cx<'_>, notify: &[String]) -> Vec<Op> {
    cx.notified.extend(notify.iter().cloned());
    notify
        .iter()
        .map(|s| exec(crate::host_commands::journal_add(s)))
        .collect()
}
