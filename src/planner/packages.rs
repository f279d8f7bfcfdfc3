//! `packages`: one install command for the names not installed yet.

use super::{Cx, Decision, PlanError, change, exec, noop};
use crate::desired::resource::{Kind, Resource};
use crate::host_commands;
use crate::plan::{Action, Op};

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::Packages { names } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !facts.packages.contains_key(*n))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(noop(format!("installed: {}", names.join(" "))));
    }
    let mut ops: Vec<Op> = host_commands::package_lock(&facts.os)
        .map(|path| Op::LockHolder { path: path.into() })
        .into_iter()
        .collect();
    ops.push(exec(host_commands::install(&facts.os, &missing)));
    Ok(change(
        r,
        Action::Create,
        format!("not installed: {}", missing.join(" ")),
        ops,
    )
    .into())
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::Kind;
    use crate::plan::Action::Create;
    use crate::planner::testkit::*;

    fn packages(names: &[&str]) -> crate::desired::resource::Resource {
        res(Kind::Packages {
            names: names.iter().map(|n| n.to_string()).collect(),
        })
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
}
