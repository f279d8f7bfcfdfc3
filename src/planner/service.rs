//! `service`: enabled and running; restarted when a change above notified it
//! (or an interrupted run left its restart pending).

use super::{Cx, Decision, PlanError, change, exec, noop};
use crate::desired::resource::{Resource, ServiceSpec};
use crate::host_commands;
use crate::plan::Action;

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource, s: &ServiceSpec) -> Result<Decision, PlanError> {
    let ServiceSpec {
        name,
        enabled,
        running,
        port,
    } = s;
    let facts = cx.facts;
    let os = &facts.os;
    let f = facts.service(name);
    let mut ops = Vec::new();
    let mut why = Vec::new();
    if *enabled && !f.enabled {
        ops.push(exec(host_commands::service(os, name, "enable")));
        why.push(if f.exists {
            "not enabled"
        } else {
            "not installed yet; will be enabled"
        });
    }
    // a notified service is restarted even when it looks stopped: packages
    // start daemons before their config is written, and restart also starts
    let restart = cx.notified.remove(name);
    // whether this plan starts the daemon (start or restart): then apply
    // waits for its port
    let mut starts = false;
    if *running && restart {
        ops.push(exec(host_commands::service(os, name, "restart")));
        why.push(if facts.pending_restarts.contains(name) {
            "restart left pending by an interrupted run"
        } else {
            "configuration changed: restart"
        });
        starts = true;
    } else if *running && !f.running {
        ops.push(exec(host_commands::service(os, name, "start")));
        why.push(if f.exists {
            "not running"
        } else {
            "will be started"
        });
        starts = true;
    }
    if let (true, Some(port)) = (starts, port) {
        ops.push(exec(host_commands::wait_for_port(*port, 120)));
    }
    if restart {
        ops.push(exec(host_commands::journal_clear(name)));
    }
    if ops.is_empty() {
        return Ok(noop(match (*enabled, *running) {
            (true, true) => "enabled and running",
            (true, false) => "enabled",
            (false, true) => "running",
            (false, false) => "neither enabled nor running is asked for",
        }));
    }
    let action = if restart { Action::Run } else { Action::Update };
    Ok(change(r, action, why.join("; "), ops).into())
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::{FileSpec, Kind, Resource, ServiceSpec};
    use crate::facts::ServiceFact;
    use crate::plan::Action::{Run, Update};
    use crate::planner::testkit::*;

    const WAIT_5000: &str = "i=0; until { ss -ltn 2>/dev/null || netstat -ltn; } | grep -q ':5000 '; do i=$((i+1)); if [ $i -ge 600 ]; then echo 'nothing listens on port 5000 after 120s' >&2; exit 1; fi; sleep 0.2; done";
    const CLEAR_KEYSTONE: &str = "if [ -f /var/lib/stackprov/pending-restarts ]; then sed -i '/^keystone$/d' /var/lib/stackprov/pending-restarts; fi";

    fn service(name: &str, enabled: bool, running: bool, port: Option<u16>) -> Resource {
        res(Kind::Service(ServiceSpec {
            name: name.into(),
            enabled,
            running,
            port,
        }))
    }

    fn keystone() -> Resource {
        service("keystone", true, true, Some(5000))
    }

    fn host(name: &str, exists: bool, enabled: bool, running: bool) -> crate::facts::Facts {
        facts(|f| {
            f.services.insert(
                name.into(),
                ServiceFact {
                    exists,
                    enabled,
                    running,
                },
            );
        })
    }

    #[test]
    fn service_table() {
        check(
            &[],
            vec![
                (
                    "installed, disabled and stopped: enable, start, wait for the port",
                    keystone(),
                    host("keystone", true, false, false),
                    change(
                        Update,
                        "not enabled; not running",
                        &[
                            "systemctl enable keystone",
                            "systemctl start keystone",
                            WAIT_5000,
                        ],
                    ),
                ),
                (
                    "not installed yet (its package is planned above)",
                    keystone(),
                    bare(),
                    change(
                        Update,
                        "not installed yet; will be enabled; will be started",
                        &[
                            "systemctl enable keystone",
                            "systemctl start keystone",
                            WAIT_5000,
                        ],
                    ),
                ),
                (
                    "enabled, stopped, no port: nothing to wait for",
                    service("chronyd", true, true, None),
                    host("chronyd", true, true, false),
                    change(Update, "not running", &["systemctl start chronyd"]),
                ),
                (
                    "only enabling is no start, whatever the name says: no wait",
                    service("autostart-helper", true, true, Some(9999)),
                    host("autostart-helper", true, false, true),
                    change(
                        Update,
                        "not enabled",
                        &["systemctl enable autostart-helper"],
                    ),
                ),
                (
                    "a restart an interrupted run left pending",
                    keystone(),
                    facts(|f| {
                        f.services.insert(
                            "keystone".into(),
                            ServiceFact {
                                exists: true,
                                enabled: true,
                                running: true,
                            },
                        );
                        f.pending_restarts.insert("keystone".into());
                    }),
                    change(
                        Run,
                        "restart left pending by an interrupted run",
                        &["systemctl restart keystone", WAIT_5000, CLEAR_KEYSTONE],
                    ),
                ),
                (
                    "enabled and running",
                    keystone(),
                    host("keystone", true, true, true),
                    noop("enabled and running"),
                ),
                (
                    "running is all it asks",
                    service("keystone", false, true, Some(5000)),
                    host("keystone", true, false, true),
                    noop("running"),
                ),
                (
                    "enabled is all it asks",
                    service("keystone", true, false, None),
                    host("keystone", true, true, false),
                    noop("enabled"),
                ),
                (
                    "init scripts on CentOS 6",
                    service("openstack-keystone", true, true, None),
                    facts(|f| f.os = centos6()),
                    change(
                        Update,
                        "not installed yet; will be enabled; will be started",
                        &[
                            "chkconfig openstack-keystone on",
                            "service openstack-keystone start",
                        ],
                    ),
                ),
            ],
        );
    }

    #[test]
    fn a_changed_file_that_notifies_restarts_it_once() {
        let conf = res(Kind::File(FileSpec {
            path: "/etc/keystone/keystone.conf".into(),
            content: "[DEFAULT]\n".into(),
            perms: perms("root", "keystone", 0o640),
            notify: vec!["keystone".into()],
        }));
        let running = host("keystone", true, true, true);
        let all = plan(&[conf, keystone(), keystone()], &running).unwrap();
        let got: Vec<Got> = all.iter().map(got).collect();
        assert_eq!(
            got[1..],
            [
                change(
                    Run,
                    "configuration changed: restart",
                    &["systemctl restart keystone", WAIT_5000, CLEAR_KEYSTONE],
                )
                .unwrap(),
                // the restart is done by then
                noop("enabled and running").unwrap(),
            ]
        );
    }
}
