//! What the planner's table tests share: facts and resources in a few words,
//! and outcomes reduced to what a plan shows (action, reason, one line per op).

use super::{Cx, Decision, PlanError, plan_one};
use crate::desired::resource::{KeystoneApiSpec, Kind, Resource};
use crate::facts::catalog::CatalogFacts;
use crate::facts::{Facts, FileFact, FileKind, OsFacts, SqlFacts};
use crate::model::Perms;
use crate::plan::catalog::Admin;
use crate::plan::{Action, Op};
use crate::secrets::SecretStore;

/// Where every test resource is written, as error messages name it.
pub const AT: &str = "playbooks/test.yaml:7";

pub fn rocky9() -> OsFacts {
    crate::facts::parse_os("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nSTACKPROV_INIT=systemd\n").unwrap()
}

pub fn centos6() -> OsFacts {
    crate::facts::parse_os("ID=centos\nVERSION_ID=6.10\nSTACKPROV_INIT=sysv\n").unwrap()
}

pub fn debian12() -> OsFacts {
    crate::facts::parse_os("ID=debian\nVERSION_ID=\"12\"\nSTACKPROV_INIT=systemd\n").unwrap()
}

/// A bare Rocky 9 host: nothing installed, no files, MariaDB not running,
/// the catalog not asked for.
pub fn bare() -> Facts {
    Facts {
        os: rocky9(),
        query: Default::default(),
        packages: Default::default(),
        files: Default::default(),
        services: Default::default(),
        checks: Default::default(),
        sql: None,
        pending_restarts: Default::default(),
        catalog: None,
        http_requests: 0,
        galera: None,
        amqp: Default::default(),
    }
}

/// `name`'s unit exists and is enabled, running or not.
pub fn set_service(f: &mut Facts, name: &str, running: bool) {
    f.services.insert(
        name.into(),
        crate::facts::ServiceFact {
            exists: true,
            enabled: true,
            running,
        },
    );
}

/// [`bare`] facts, then edited.
pub fn facts(edit: impl FnOnce(&mut Facts)) -> Facts {
    let mut f = bare();
    edit(&mut f);
    f
}

/// MariaDB running, with what `edit` puts in it.
pub fn sql(edit: impl FnOnce(&mut SqlFacts)) -> Option<SqlFacts> {
    let mut s = SqlFacts::default();
    edit(&mut s);
    Some(s)
}

/// A catalog read through the API, with what `edit` puts in it.
pub fn catalog(edit: impl FnOnce(&mut CatalogFacts)) -> Option<CatalogFacts> {
    let mut c = CatalogFacts::default();
    edit(&mut c);
    Some(c)
}

pub fn perms(owner: &str, group: &str, mode: u32) -> Perms {
    Perms {
        owner: owner.into(),
        group: group.into(),
        mode,
    }
}

pub fn regular(content: &str, p: Perms) -> FileFact {
    FileFact {
        kind: FileKind::File,
        perms: p,
        content: Some(content.into()),
    }
}

pub fn directory(p: Perms) -> FileFact {
    FileFact {
        kind: FileKind::Directory,
        perms: p,
        content: None,
    }
}

pub fn res(kind: Kind) -> Resource {
    Resource {
        role: "test".into(),
        source: AT.into(),
        kind,
        package_source: false,
    }
}

/// The v3 admin the catalog resources talk as.
pub fn v3() -> Admin {
    Admin {
        port: 5000,
        user: "admin".into(),
        project: "admin".into(),
        password: "admin".into(),
        token: None,
    }
}

/// The v2.0 admin (the guide's era): `admin_token` for every catalog call.
pub fn v2() -> Admin {
    Admin {
        port: 35357,
        token: Some("admin_token".into()),
        ..v3()
    }
}

pub fn api(admin: Admin) -> Resource {
    res(Kind::KeystoneApi(KeystoneApiSpec { admin }))
}

pub fn secrets() -> SecretStore {
    SecretStore::from_values(
        [("keystone_db", "k-db-pass"), ("admin", "admin-pass")]
            .map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

/// An outcome as the plan shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Change {
        action: Action,
        reason: String,
        /// [`Op::summary`], and what an `exec` gets on stdin after `<<< `.
        ops: Vec<String>,
    },
    NoOp(String),
}

pub fn change(action: Action, reason: &str, ops: &[&str]) -> Result<Got, PlanError> {
    Ok(Got::Change {
        action,
        reason: reason.into(),
        ops: ops.iter().map(|o| o.to_string()).collect(),
    })
}

pub fn noop(reason: &str) -> Result<Got, PlanError> {
    Ok(Got::NoOp(reason.into()))
}

pub fn got(d: &Decision) -> Got {
    match d {
        Decision::Change(c) => Got::Change {
            action: c.action,
            reason: c.reason.clone(),
            ops: c
                .ops
                .iter()
                .map(|op| match op {
                    Op::Exec { stdin: Some(s), .. } => {
                        format!("{} <<< {}", op.summary(), s.trim_end())
                    }
                    _ => op.summary(),
                })
                .collect(),
        },
        Decision::NoOp(reason) => Got::NoOp(reason.clone()),
    }
}

/// The resources planned in order, as `plan_host` plans them.
pub fn plan(resources: &[Resource], facts: &Facts) -> Result<Vec<Decision>, PlanError> {
    let secrets = secrets();
    let masker = secrets.masker();
    let mut cx = Cx::new(&secrets, &masker, facts, resources);
    resources.iter().map(|r| plan_one(&mut cx, r)).collect()
}

/// A table row: what it shows, the desired resource, the facts, the outcome.
pub type Row = (&'static str, Resource, Facts, Result<Got, PlanError>);

/// Each row's resource planned after `before` (planned first, on the same
/// facts): its outcome is the row's.
pub fn check(before: &[Resource], rows: Vec<Row>) {
    for (name, r, facts, want) in rows {
        let mut all = before.to_vec();
        all.push(r);
        let outcome = plan(&all, &facts).map(|d| got(d.last().unwrap()));
        assert_eq!(outcome, want, "row `{name}`");
    }
}
