//! `galera_status`: an HA site's Galera cluster as one node sees it. Nothing
//! is changed; the plan warns when the cluster is smaller than the site's
//! controllers or this node is not synced. Two read-only checks give it:
//! the cluster size as an exit status, and whether the node is Synced.

use super::{Cx, Decision, PlanError, noop};
use crate::desired::resource::{Kind, Resource};

/// The cluster size this node sees, as its exit status (0: not in one).
const SIZE: &str = "exit $(mysql -N -B -e \"SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'\" 2>/dev/null | awk '{print $2 + 0}' | grep . || echo 0)";
/// 0 when this node is Synced in a Primary component.
const SYNCED: &str = "mysql -N -B -e \"SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_status')\" 2>/dev/null | tr '\\n\\t' '  ' | grep -q 'Synced.*Primary\\|Primary.*Synced'";

pub(super) const CHECKS: [&str; 2] = [SIZE, SYNCED];

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::GaleraStatus { service, nodes } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    if !facts.service(service).running {
        return Ok(noop(format!("{service} is not running here (yet)")));
    }
    let size = facts.checks.get(SIZE).copied().unwrap_or(0);
    let synced = facts.checks.get(SYNCED) == Some(&0);
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
    use super::{SIZE, SYNCED};
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
            f.checks.insert(SIZE.into(), size);
            f.checks.insert(SYNCED.into(), if synced { 0 } else { 1 });
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
