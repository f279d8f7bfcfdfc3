//! Pure planning: desired resources × facts → the host's changes, each with a
//! reason, a masked diff and the exact operations. Nothing here touches a host.
//!
//! One file per resource kind (see [`crate::resource::Kind`]); this one holds
//! what they share: the inputs, the facts each kind asks for, the secrets it
//! references, and the loop over a host's resources.

mod catalog;
mod command;
mod diff;
mod directory;
mod endpoint;
mod file;
mod ini_edit;
mod keystone_api;
mod packages;
mod service;
mod sql;

pub use diff::{diff, mask_secret_lines};

use crate::facts::Facts;
use crate::openstack::keystone::Admin;
use crate::plan::{Action, Change, HostPlan, Op};
use crate::resource::{Kind, Perms, Resource};
use crate::secret::Masker;
use crate::site::secrets::SecretStore;
use crate::text;
use std::collections::BTreeSet;

/// What the planner needs besides resources and facts.
pub struct Inputs<'a> {
    pub host: &'a str,
    pub secrets: &'a SecretStore,
    pub masker: &'a Masker,
}

/// The facts each resource needs (the second, batched round trip).
pub fn query(resources: &[Resource]) -> crate::facts::FactQuery {
    let mut q = crate::facts::FactQuery::default();
    for r in resources {
        match &r.kind {
            Kind::Packages { names } => q.packages.extend(names.iter().cloned()),
            Kind::File { path, .. } | Kind::IniEdit { path, .. } => {
                q.contents.insert(path.clone());
            }
            Kind::Directory { path, .. } => {
                q.stats.insert(path.clone());
            }
            Kind::Service { name, .. } => {
                q.services.insert(name.clone());
            }
            Kind::Command {
                creates,
                unless,
                unless_stdin,
                ..
            } => {
                if let Some(c) = creates {
                    q.stats.insert(c.clone());
                }
                if let Some(u) = unless {
                    q.checks.insert(u.clone());
                    if let Some(i) = unless_stdin {
                        q.check_stdin.insert(u.clone(), i.clone());
                    }
                }
            }
            Kind::SqlDatabase { .. } | Kind::SqlGrant { .. } => q.sql = true,
            Kind::SqlUser { name, password, .. } => {
                q.sql = true;
                q.sql_logins.insert(name.clone(), password.clone());
            }
            Kind::KeystoneApi { admin } => q.catalog = Some(admin.clone()),
            Kind::KeystoneUser { name, password } => {
                q.catalog_logins.insert(name.clone(), password.clone());
            }
            Kind::KeystoneProject { .. }
            | Kind::KeystoneRole { .. }
            | Kind::KeystoneAssignment { .. }
            | Kind::KeystoneService { .. }
            | Kind::KeystoneEndpoint { .. }
            | Kind::KeystoneEndpoints { .. } => {}
        }
    }
    q
}

/// Every secret name the resources reference.
pub fn secret_names(resources: &[Resource]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in resources {
        let texts: Vec<&str> = match &r.kind {
            Kind::File { content, .. } => vec![content],
            Kind::IniEdit { settings, .. } => settings.iter().map(|s| s.value.as_str()).collect(),
            Kind::Command {
                stdin,
                unless_stdin,
                ..
            } => stdin
                .iter()
                .chain(unless_stdin)
                .map(String::as_str)
                .collect(),
            Kind::SqlUser { password, .. } => {
                out.insert(password.clone());
                vec![]
            }
            Kind::KeystoneApi { admin } => {
                out.extend(admin.token.iter().cloned());
                vec![]
            }
            _ => vec![],
        };
        for t in texts {
            out.extend(text::secret_names(t));
        }
    }
    out
}

/// Refuse secret values that no encoding can carry to where they land.
/// Keystone and Glance hand their `[database] connection` URL to alembic, whose
/// configparser interpolation rejects `%`; and `@` would have to be written `%40`.
pub fn check_secret_values(resources: &[Resource], secrets: &SecretStore) -> Result<(), String> {
    for r in resources {
        let texts: Vec<&str> = match &r.kind {
            Kind::File { content, .. } => vec![content],
            Kind::IniEdit { settings, .. } => settings.iter().map(|s| s.value.as_str()).collect(),
            _ => vec![],
        };
        for t in texts {
            for name in text::secret_names_with_encoding(t, "dburl") {
                let Some(v) = secrets.get(&name) else {
                    continue;
                };
                if let Some(c) = v.expose().chars().find(|c| matches!(c, '%' | '@')) {
                    return Err(format!(
                        "secret `{name}` contains `{c}`, but it goes into a database URL in {} that OpenStack's db_sync \
                         (alembic, through Python's configparser) cannot read with `%` or `@` in any encoding; \
                         choose a value without `%` and `@` (quotes, `$`, `#`, `/`, `:`, `;` and spaces are fine)",
                        r.id().trim_start_matches("file:")
                    ));
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
) -> Result<HostPlan, String> {
    let mut cx = Cx {
        secrets: inp.secrets,
        masker: inp.masker,
        facts,
        notified: facts.pending_restarts.clone(),
        api: None,
    };
    let mut changes = Vec::new();
    for r in resources {
        if let Some(c) = plan_one(&mut cx, r)? {
            changes.push(c);
        }
    }
    Ok(HostPlan {
        host: inp.host.to_string(),
        facts_digest: facts.digest(),
        changes,
    })
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
}

/// One resource, by kind.
fn plan_one(cx: &mut Cx<'_>, r: &Resource) -> Result<Option<Change>, String> {
    match &r.kind {
        Kind::Packages { .. } => packages::plan(cx, r),
        Kind::File { .. } => file::plan(cx, r),
        Kind::Directory { .. } => directory::plan(cx, r),
        Kind::IniEdit { .. } => ini_edit::plan(cx, r),
        Kind::Service { .. } => service::plan(cx, r),
        Kind::Command { .. } => command::plan(cx, r),
        Kind::SqlDatabase { .. } => sql::database(cx, r),
        Kind::SqlUser { .. } => sql::user(cx, r),
        Kind::SqlGrant { .. } => sql::grant(cx, r),
        Kind::KeystoneApi { .. } => keystone_api::plan(cx, r),
        Kind::KeystoneProject { .. } => catalog::project(cx, r),
        Kind::KeystoneUser { .. } => catalog::user(cx, r),
        Kind::KeystoneRole { .. } => catalog::role(cx, r),
        Kind::KeystoneAssignment { .. } => catalog::assignment(cx, r),
        Kind::KeystoneService { .. } => catalog::service(cx, r),
        Kind::KeystoneEndpoint { .. } => endpoint::v3(cx, r),
        Kind::KeystoneEndpoints { .. } => endpoint::v2(cx, r),
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
        .map(|s| exec(crate::hostops::journal_add(s)))
        .collect()
}
