//! `galera_status`: an HA site's Galera cluster as one node sees it. The plan
//! warns when the cluster is smaller than the site's controllers or this node
//! is not synced (one read-only check gives both, in its exit status). After
//! an outage that no node may end by itself (none marked safe_to_bootstrap),
//! the node the site-wide choice names (the highest seqno: see
//! `pipeline::galera`) starts the cluster again here.

use super::GaleraRole;
use super::{Cx, Decision, PlanError, change, exec, noop};
use crate::desired::resource::{GaleraStatusSpec, Resource};
use crate::host_commands;
use crate::plan::{Action, ClusterStart};

/// One read-only check (one `mysql`) whose exit status is the cluster size
/// this node sees (0: in none), plus 100 when it is not Synced in a Primary
/// component.
const STATUS: &str = "mysql -N -B -e \"SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment', 'wsrep_cluster_status')\" 2>/dev/null | awk '$1 == \"wsrep_cluster_size\" {n = $2} $2 == \"Synced\" {s = 1} $2 == \"Primary\" {p = 1} END {exit n + (s && p ? 0 : 100)}'";

pub(super) const CHECKS: [&str; 1] = [STATUS];

pub(super) fn plan(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &GaleraStatusSpec,
) -> Result<Decision, PlanError> {
    let GaleraStatusSpec {
        service,
        nodes,
        peers,
    } = s;
    let facts = cx.facts;
    match cx.galera_bootstrap {
        Some(GaleraRole::Starts(reason)) => return Ok(bootstrap(cx, r, service, peers, reason)),
        Some(GaleraRole::Joins(starter)) if !facts.service(service).running => {
            return Ok(reset(
                r,
                service,
                format!(
                    "{starter} starts the cluster again; this node's start left waiting at boot for the lost node would keep the new cluster from forming, so it is killed (it has not opened InnoDB yet) and starts afresh after {starter}'s"
                ),
            ));
        }
        _ => {}
    }
    if !facts.service(service).running
        && facts
            .galera
            .as_ref()
            .is_some_and(|g| g.unit == "deactivating")
    {
        return Ok(reset(
            r,
            service,
            format!(
                "{service}'s start at boot waited for a cluster past its timeout and ignores the stop; it is killed (it has not opened InnoDB yet) so that the start below joins afresh"
            ),
        ));
    }
    if !facts.service(service).running {
        return Ok(noop(format!("{service} is not running here (yet)")));
    }
    let code = facts.checks.get(STATUS).copied().unwrap_or(100);
    let (size, synced) = (code % 100, code < 100);
    let seen = format!(
        "cluster size {size} of {nodes}, {}",
        if synced {
            "this node Synced in the Primary component"
        } else {
            "this node NOT synced in a Primary component"
        }
    );
    if size < *nodes as i32 || !synced {
        cx.warnings.push(format!(
            "the Galera cluster is degraded: {seen} (docs/ha.md, \"After an outage\")"
        ));
    }
    Ok(noop(seen))
}

/// Start the cluster here from this node's data: mark it safe to bootstrap
/// (what Galera's docs tell an operator to do by hand) and run
/// galera_new_cluster, unless another controller answers by then. A start
/// left waiting at boot for the lost node (pc.recovery) ignores SIGTERM
/// while it waits (`systemctl stop` waited 10 minutes on the test bed), so
/// it is killed: InnoDB is not open yet at that point (its journal shows no
/// InnoDB start), and galera_recovery reads the position again.
fn bootstrap(cx: &mut Cx<'_>, r: &Resource, service: &str, peers: &str, reason: &str) -> Decision {
    let w = crate::quote::shell_word;
    let script = format!(
        "for a in {peers}; do if timeout 2 bash -c \"exec 3<>/dev/tcp/$a/3306; head -c 5 <&3 | grep -q .\" 2>/dev/null; then echo \"MariaDB at $a answers now: the cluster runs there, so this node joins it instead of starting a second one; run stackprov again\" >&2; exit 1; fi; done\n\
         {}\n\
         for a in {peers}; do i=0; while timeout 2 bash -c \"exec 3<>/dev/tcp/$a/4567\" 2>/dev/null; do i=$((i+1)); if [ $i -ge 60 ]; then echo \"Galera still runs at $a (port 4567) after 60 s: a start waiting there would keep the new cluster from forming; stop it there (systemctl kill -s KILL mariadb) and run stackprov again\" >&2; exit 1; fi; sleep 1; done; done\n\
         sed -i 's/^safe_to_bootstrap: *0/safe_to_bootstrap: 1/' /var/lib/mysql/grastate.dat\n\
         galera_new_cluster {s} || {{ echo \"the cluster did not start here; the end of {s}'s log:\" >&2; journalctl -u {s} -n 20 --no-pager -o cat >&2; exit 1; }}",
        reset_script(service),
        s = w(service)
    );
    let mut ops = Vec::new();
    if cx.notified.remove(service) {
        ops.push(exec(host_commands::journal_clear(service)));
    }
    ops.push(exec(script));
    cx.starts_cluster = Some(ClusterStart {
        change: r.id(),
        service: service.to_string(),
    });
    change(r, Action::Run, reason, ops).into()
}

/// The kill that ends a start left waiting for a cluster (see [`bootstrap`]),
/// so that the start below is a fresh one that joins the running cluster.
///
/// systemd's kill may stop at the unit's main process: where the unit's
/// cgroup lists a process from outside the host's PID namespace (a test-bed
/// container's does), systemd's read of it fails ("Failed to send signal
/// SIGKILL to auxiliary processes: Input/output error") and the rest of the
/// cgroup is not signalled. A start killed while Debian's unit still runs
/// galera_recovery then leaves its `mariadbd --wsrep-recover` holding
/// InnoDB's lock, and the next start's recovery fails (CI, stop 21). So once
/// the unit is down, any server process left is killed too, and waited for.
fn reset_script(service: &str) -> String {
    let s = crate::quote::shell_word(service);
    format!(
        "case $(systemctl is-active {s}) in activating|deactivating) systemctl kill -s KILL {s} 2>/dev/null; timeout 120 systemctl stop {s} || {{ echo \"{s} did not stop within 120 s: see journalctl -u {s}\" >&2; exit 1; }};; esac\n\
         if ! systemctl is-active -q {s}; then i=0; while pgrep -x galera_recovery >/dev/null || pgrep -x 'mariadbd|mysqld' >/dev/null; do pkill -KILL -x galera_recovery; pkill -KILL -x 'mariadbd|mysqld'; i=$((i+1)); if [ $i -ge 60 ]; then echo \"a database server process outlived {s}'s stop and does not die: $(pgrep -a -x 'mariadbd|mysqld')\" >&2; exit 1; fi; sleep 0.5; done; fi\n\
         systemctl reset-failed {s} 2>/dev/null; true"
    )
}

/// A start at boot that waited for a cluster past its timeout: systemd's stop
/// then waits on it for good (it ignores SIGTERM while it waits).
fn reset(r: &Resource, service: &str, reason: String) -> Decision {
    let script = format!(
        "systemctl is-active -q {s} && exit 0\n{}",
        reset_script(service),
        s = crate::quote::shell_word(service)
    );
    change(r, Action::Run, reason, vec![exec(script)]).into()
}

#[cfg(test)]
mod tests {
    use super::STATUS;
    use crate::desired::resource::{GaleraStatusSpec, Kind};
    use crate::planner::testkit::*;
    use crate::planner::{Cx, plan_one};

    /// The no-op's reason and the warnings, for a node that sees `size`.
    fn seen(running: bool, size: i32, synced: bool) -> (String, Vec<String>) {
        let r = res(Kind::GaleraStatus(GaleraStatusSpec {
            service: "mariadb".into(),
            nodes: 3,
            peers: "192.0.2.12 192.0.2.13".into(),
        }));
        let f = facts(|f| {
            set_service(f, "mariadb", running);
            f.checks
                .insert(STATUS.into(), size + if synced { 0 } else { 100 });
        });
        let s = secrets();
        let m = s.masker();
        let mut cx = Cx::new(&s, &m, &f, std::slice::from_ref(&r));
        let d = plan_one(&mut cx, &r).unwrap();
        (format!("{:?}", got(&d)), cx.warnings)
    }

    #[test]
    fn a_full_synced_cluster_says_so_and_a_smaller_one_warns() {
        let (ok, w) = seen(true, 3, true);
        assert!(ok.contains("cluster size 3 of 3, this node Synced"), "{ok}");
        assert!(w.is_empty());
        let (_, w) = seen(true, 2, true);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("degraded: cluster size 2 of 3"), "{w:?}");
        let (_, w) = seen(true, 3, false);
        assert!(w[0].contains("NOT synced"), "{w:?}");
        // not running yet (a fresh host, or one the plan starts): no warning
        let (r, w) = seen(false, 0, false);
        assert!(r.contains("not running here"), "{r}");
        assert!(w.is_empty());
    }

    #[test]
    fn the_chosen_node_marks_itself_safe_and_starts_the_cluster_unless_a_peer_answers() {
        let r = res(Kind::GaleraStatus(GaleraStatusSpec {
            service: "mariadb".into(),
            nodes: 3,
            peers: "192.0.2.12 192.0.2.13".into(),
        }));
        let f = facts(|_| {});
        let s = secrets();
        let m = s.masker();
        let mut cx = Cx::new(&s, &m, &f, std::slice::from_ref(&r));
        cx.galera_bootstrap = Some(crate::planner::GaleraRole::Starts(
            "ctl2 has the highest seqno (ctl1 10, ctl2 12)",
        ));
        let crate::planner::Decision::Change(c) = plan_one(&mut cx, &r).unwrap() else {
            panic!("the chosen node starts the cluster")
        };
        assert_eq!(c.reason, "ctl2 has the highest seqno (ctl1 10, ctl2 12)");
        let crate::plan::Op::Exec { script, .. } = &c.ops[0] else {
            panic!("{:?}", c.ops)
        };
        let lines: Vec<&str> = script.lines().map(str::trim).collect();
        assert!(
            lines[0].starts_with("for a in 192.0.2.12 192.0.2.13; do"),
            "{script}"
        );
        assert!(lines[0].contains("exit 1"), "{script}");
        assert_eq!(
            &lines[1..],
            [
                "case $(systemctl is-active mariadb) in activating|deactivating) systemctl kill -s KILL mariadb 2>/dev/null; timeout 120 systemctl stop mariadb || { echo \"mariadb did not stop within 120 s: see journalctl -u mariadb\" >&2; exit 1; };; esac",
                "if ! systemctl is-active -q mariadb; then i=0; while pgrep -x galera_recovery >/dev/null || pgrep -x 'mariadbd|mysqld' >/dev/null; do pkill -KILL -x galera_recovery; pkill -KILL -x 'mariadbd|mysqld'; i=$((i+1)); if [ $i -ge 60 ]; then echo \"a database server process outlived mariadb's stop and does not die: $(pgrep -a -x 'mariadbd|mysqld')\" >&2; exit 1; fi; sleep 0.5; done; fi",
                "systemctl reset-failed mariadb 2>/dev/null; true",
                "for a in 192.0.2.12 192.0.2.13; do i=0; while timeout 2 bash -c \"exec 3<>/dev/tcp/$a/4567\" 2>/dev/null; do i=$((i+1)); if [ $i -ge 60 ]; then echo \"Galera still runs at $a (port 4567) after 60 s: a start waiting there would keep the new cluster from forming; stop it there (systemctl kill -s KILL mariadb) and run stackprov again\" >&2; exit 1; fi; sleep 1; done; done",
                "sed -i 's/^safe_to_bootstrap: *0/safe_to_bootstrap: 1/' /var/lib/mysql/grastate.dat",
                "galera_new_cluster mariadb || { echo \"the cluster did not start here; the end of mariadb's log:\" >&2; journalctl -u mariadb -n 20 --no-pager -o cat >&2; exit 1; }"
            ]
        );
        assert_eq!(cx.starts_cluster.unwrap().change, "galera_status");
    }

    #[test]
    fn a_start_that_waited_past_its_timeout_is_killed_before_the_start() {
        let r = res(Kind::GaleraStatus(GaleraStatusSpec {
            service: "mariadb".into(),
            nodes: 3,
            peers: String::new(),
        }));
        let f = facts(|f| {
            f.galera = Some(crate::facts::galera::GaleraFacts {
                unit: "deactivating".into(),
                ..Default::default()
            })
        });
        let s = secrets();
        let m = s.masker();
        let mut cx = Cx::new(&s, &m, &f, std::slice::from_ref(&r));
        let crate::planner::Decision::Change(c) = plan_one(&mut cx, &r).unwrap() else {
            panic!("a stuck start is reset")
        };
        assert!(
            c.reason.contains("waited for a cluster past its timeout"),
            "{}",
            c.reason
        );
        let crate::plan::Op::Exec { script, .. } = &c.ops[0] else {
            panic!("{:?}", c.ops)
        };
        assert!(
            script.starts_with(
                "systemctl is-active -q mariadb && exit 0\ncase $(systemctl is-active mariadb) in activating|deactivating) systemctl kill -s KILL mariadb 2>/dev/null;"
            ),
            "{script}"
        );
        assert!(cx.starts_cluster.is_none());
        // activating (a start still waiting, which joins once a cluster runs): nothing
        let f = facts(|f| {
            f.galera = Some(crate::facts::galera::GaleraFacts {
                unit: "activating".into(),
                ..Default::default()
            })
        });
        let mut cx = Cx::new(&s, &m, &f, std::slice::from_ref(&r));
        assert!(!matches!(
            plan_one(&mut cx, &r).unwrap(),
            crate::planner::Decision::Change(_)
        ));
    }
}
