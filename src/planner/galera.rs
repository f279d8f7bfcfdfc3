//! `galera_status`: an HA site's Galera cluster as one node sees it. Nothing
//! is changed; the plan warns when the cluster is smaller than the site's
//! controllers or this node is not synced. One read-only check gives both,
//! in its exit status.

use super::{Cx, Decision, PlanError, noop};
use crate::desired::resource::{Kind, Resource};

/// One read-only check (one `mysql`) whose exit status is the cluster size
/// this node sees (0: in none), plus 100 when it is not Synced in a Primary
/// component.
const STATUS: &str = "mysql -N -B -e \"SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment', 'wsrep_cluster_status')\" 2>/dev/null | awk '$1 == \"wsrep_cluster_size\" {n = $2} $2 == \"Synced\" {s = 1} $2 == \"Primary\" {p = 1} END {exit n + (s && p ? 0 : 100)}'";

pub(super) const CHECKS: [&str; 1] = [STATUS];

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::GaleraStatus { service, nodes } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
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

#[cfg(test)]
mod tests {
    use super::STATUS;
    use crate::desired::resource::Kind;
    use crate::facts::ServiceFact;
    use crate::planner::testkit::*;
    use crate::planner::{Cx, plan_one};

    /// The no-op's reason and the warnings, for a node that sees `size`.
    fn seen(running: bool, size: i32, synced: bool) -> (String, Vec<String>) {
        let r = res(Kind::GaleraStatus {
            service: "mariadb".into(),
            nodes: 3,
        });
        let f = facts(|f| {
            f.services.insert(
                "mariadb".into(),
                ServiceFact {
                    exists: true,
                    enabled: true,
                    running,
                },
            );
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
}
