//! `packages`: what is not installed yet, in one transaction per host.
//!
//! The first packages resource with something to install after the host's
//! last package source (proxy, repository) installs what every later one
//! lacks too: one package transaction instead of one per role. The later
//! ones then plan as no-ops that say so. On apt hosts the install holds back
//! the start of the services this plan starts (a policy-rc.d of stackprov's
//! for the length of the install): they start once their configuration is
//! written, instead of unconfigured (keystone's uwsgi then took 15 s to stop).

use super::{Cx, Decision, PlanError, change, exec, noop};
use crate::desired::resource::{Kind, PackagesSpec, Resource};
use crate::facts::Facts;
use crate::host_commands;
use crate::plan::{Action, Op};
use std::collections::BTreeSet;

/// A host's packages, decided before its resources are planned one by one.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// The resource (by id) that installs for all, and what it installs.
    head: Option<(String, Vec<String>)>,
    /// The later resources whose missing names the head installs.
    joined: BTreeSet<String>,
    /// Services this plan starts (asked to run, not running now).
    held: Vec<String>,
}

impl Batch {
    pub(super) fn new(resources: &[Resource], facts: &Facts) -> Batch {
        let after = resources
            .iter()
            .rposition(|r| r.package_source)
            .map_or(0, |i| i + 1);
        let mut b = Batch::default();
        for r in &resources[after..] {
            let Kind::Packages(p) = &r.kind else {
                continue;
            };
            let missing = missing(&p.names, facts);
            if missing.is_empty() {
                continue;
            }
            match &mut b.head {
                None => b.head = Some((r.id(), missing)),
                Some((head, all)) => {
                    if *head == r.id() {
                        continue;
                    }
                    for n in missing {
                        if !all.contains(&n) {
                            all.push(n);
                        }
                    }
                    b.joined.insert(r.id());
                }
            }
        }
        b.held = resources
            .iter()
            .filter_map(|r| {
                let Kind::Service(s) = &r.kind else {
                    return None;
                };
                (s.running && !facts.service(&s.name).running).then(|| s.name.clone())
            })
            .collect();
        b
    }
}

fn missing(names: &[String], facts: &Facts) -> Vec<String> {
    names
        .iter()
        .filter(|n| !facts.packages.contains_key(*n))
        .cloned()
        .collect()
}

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource, s: &PackagesSpec) -> Result<Decision, PlanError> {
    let PackagesSpec { names } = s;
    let facts = cx.facts;
    let id = r.id();
    let own = missing(names, facts);
    if let Some((head, _)) = &cx.packages.head
        && cx.packages.joined.contains(&id)
    {
        return Ok(noop(format!(
            "not installed: {}; {head} above installs them (one package transaction for the host)",
            own.join(" ")
        )));
    }
    let all = match &cx.packages.head {
        Some((head, all)) if *head == id => all.clone(),
        _ => own.clone(),
    };
    if all.is_empty() {
        return Ok(noop(format!("installed: {}", names.join(" "))));
    }
    let mut ops: Vec<Op> = host_commands::package_lock(&facts.os)
        .map(|path| Op::LockHolder { path: path.into() })
        .into_iter()
        .collect();
    ops.push(exec(host_commands::install(
        &facts.os,
        &all,
        &cx.packages.held,
    )));
    let mut why = format!("not installed: {}", own.join(" "));
    let later: Vec<&str> = all
        .iter()
        .filter(|n| !own.contains(n))
        .map(|s| s.as_str())
        .collect();
    if !later.is_empty() {
        why.push_str(&format!(
            "; with later resources' {} (one package transaction for the host)",
            later.join(" ")
        ));
    }
    Ok(change(r, Action::Create, why, ops).into())
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::{Kind, PackagesSpec, ServiceSpec};
    use crate::plan::Action::Create;
    use crate::planner::testkit::*;

    fn packages(names: &[&str]) -> crate::desired::resource::Resource {
        res(Kind::Packages(PackagesSpec {
            names: names.iter().map(|n| n.to_string()).collect(),
        }))
    }

    fn installed(names: &[&str]) -> crate::facts::Facts {
        facts(|f| {
            for n in names {
                f.packages.insert(n.to_string(), "1.0-1".into());
            }
        })
    }

    #[test]
    fn packages_table() {
        check(
            &[],
            vec![
                (
                    "none installed: one command for all",
                    packages(&["keystone", "httpd"]),
                    bare(),
                    change(
                        Create,
                        "not installed: keystone httpd",
                        &["dnf install -y -q keystone httpd"],
                    ),
                ),
                (
                    "only the missing ones",
                    packages(&["keystone", "httpd"]),
                    installed(&["httpd"]),
                    change(
                        Create,
                        "not installed: keystone",
                        &["dnf install -y -q keystone"],
                    ),
                ),
                (
                    "all installed",
                    packages(&["keystone", "httpd"]),
                    installed(&["httpd", "keystone", "mariadb"]),
                    noop("installed: keystone httpd"),
                ),
                (
                    "the host's package manager: yum on CentOS 6",
                    packages(&["openstack-keystone"]),
                    facts(|f| f.os = centos6()),
                    change(
                        Create,
                        "not installed: openstack-keystone",
                        &["yum install -y -q openstack-keystone"],
                    ),
                ),
                (
                    "apt on Debian: asked again after a failed download, waiting for another apt's lock",
                    packages(&["keystone"]),
                    facts(|f| f.os = debian12()),
                    change(
                        Create,
                        "not installed: keystone",
                        &[
                            // who holds dpkg's lock, so apply can say whom it waits for
                            "who holds /var/lib/dpkg/lock-frontend",
                            "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends -o Acquire::Retries=3 -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold keystone || { dpkg --configure -a; apt-get update -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=300 && apt-get install -y -q --no-install-recommends -o Acquire::Retries=3 -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold keystone; }",
                        ],
                    ),
                ),
            ],
        );
    }

    fn debian_bare() -> crate::facts::Facts {
        facts(|f| f.os = debian12())
    }

    fn service(name: &str) -> crate::desired::resource::Resource {
        res(Kind::Service(ServiceSpec {
            name: name.into(),
            enabled: true,
            running: true,
            port: None,
        }))
    }

    #[test]
    fn one_transaction_after_the_last_package_source() {
        let mut repos = packages(&["rdo-release"]);
        repos.package_source = true;
        let all = [
            repos,
            packages(&["chrony"]),
            service("chronyd"),
            packages(&["mariadb-server"]),
            packages(&["keystone", "httpd"]),
        ];
        let d = crate::planner::testkit::plan(&all, &installed(&["httpd"])).unwrap();
        let outcomes: Vec<Got> = d.iter().map(got).collect();
        assert_eq!(
            outcomes,
            vec![
                // a package source installs on its own, first
                change(Create, "not installed: rdo-release", &["dnf install -y -q rdo-release"]).unwrap(),
                change(
                    Create,
                    "not installed: chrony; with later resources' mariadb-server keystone (one package transaction for the host)",
                    &["dnf install -y -q chrony mariadb-server keystone"],
                )
                .unwrap(),
                change(crate::plan::Action::Update, "not installed yet; will be enabled; will be started", &["systemctl enable chronyd", "systemctl start chronyd"]).unwrap(),
                noop("not installed: mariadb-server; packages:chrony above installs them (one package transaction for the host)").unwrap(),
                noop("not installed: keystone; packages:chrony above installs them (one package transaction for the host)").unwrap(),
            ]
        );
        // installed already: the next one with something missing installs for all
        let d = crate::planner::testkit::plan(&all[1..], &installed(&["chrony", "rdo-release"]))
            .unwrap();
        assert_eq!(
            got(&d[2]),
            change(
                Create,
                "not installed: mariadb-server; with later resources' keystone httpd (one package transaction for the host)",
                &["dnf install -y -q mariadb-server keystone httpd"],
            )
            .unwrap()
        );
        assert_eq!(got(&d[0]), noop("installed: chrony").unwrap());
    }

    #[test]
    fn apt_holds_back_the_services_this_plan_starts() {
        let mut f = debian_bare();
        f.services.insert(
            "mariadb".into(),
            crate::facts::ServiceFact {
                exists: true,
                enabled: true,
                running: true,
            },
        );
        let all = [
            packages(&["keystone"]),
            service("mariadb"),
            service("keystone"),
        ];
        let d = crate::planner::testkit::plan(&all, &f).unwrap();
        let Got::Change { ops, .. } = got(&d[0]) else {
            panic!("an install")
        };
        let install = &ops[1];
        // running already (mariadb) is not held: only what this plan starts
        assert!(
            install.contains("'case ${a%.service} in keystone) exit 101 ;; esac'"),
            "{install}"
        );
        // an operator's own policy-rc.d is left alone; ours goes when the shell exits
        assert!(
            install.contains("if [ ! -e /usr/sbin/policy-rc.d ] || grep -qs 'stackprov: held for one install' /usr/sbin/policy-rc.d; then"),
            "{install}"
        );
        assert!(
            install.contains("trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi; apt-get install"),
            "{install}"
        );
        // nothing held when every service runs
        f.services.insert(
            "keystone".into(),
            crate::facts::ServiceFact {
                exists: true,
                enabled: true,
                running: true,
            },
        );
        let d = crate::planner::testkit::plan(&all, &f).unwrap();
        let Got::Change { ops, .. } = got(&d[0]) else {
            panic!("an install")
        };
        assert!(!ops[1].contains("policy-rc.d"), "{}", ops[1]);
    }
}
