//! What a node's files say about its place in a Galera cluster that is not
//! running: read-only, for the choice of the node that starts it again.

use serde::{Deserialize, Serialize};

/// The lines of the facts script's `galera` section: grastate.dat's fields,
/// whether gvwstate.dat exists, and the position MariaDB's start recovered
/// from InnoDB this boot (Debian's unit runs galera_recovery and passes it on
/// mariadbd's command line; the journal keeps it when mariadbd gave up).
/// The position is read only while MariaDB is not active: a converged run
/// does not scan the journal.
pub const SCRIPT: &str = "g=/var/lib/mysql/grastate.dat\n\
[ -f $g ] && sed -n 's/^\\(uuid\\|seqno\\|safe_to_bootstrap\\): */\\1 /p' $g\n\
[ -f /var/lib/mysql/gvwstate.dat ] && echo gvwstate\n\
u=$(systemctl is-active mariadb); echo \"unit $u\"\n\
if [ \"$u\" != active ]; then\n\
ps -o args= -C mariadbd,mysqld | sed -n 's/.*--wsrep[-_]start[-_]position=\\([^ ]*\\).*/position \\1/p'\n\
journalctl -b -u mariadb -u mysql -o cat --no-pager | sed -n 's/.*WSREP: Recovered position:* *\\([^ ]*\\).*/position \\1/p' | tail -n 1\n\
fi\n";

/// A node's saved Galera state (`None` fields: not there).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaleraFacts {
    /// grastate.dat's cluster id (all zeros: no cluster yet).
    pub uuid: Option<String>,
    /// grastate.dat's seqno (-1 after a crash: the position is then recovered).
    pub seqno: Option<i64>,
    pub safe_to_bootstrap: bool,
    /// gvwstate.dat exists: Galera's pc.recovery makes the cluster again by
    /// itself once every node of the last view is back.
    pub gvwstate: bool,
    /// The highest seqno MariaDB's starts this boot recovered from InnoDB.
    pub recovered: Option<i64>,
    /// The cluster UUID of that recovered position (`UUID:seqno`): the
    /// cluster InnoDB's data belongs to, whatever grastate.dat says.
    #[serde(default)]
    pub recovered_uuid: Option<String>,
    /// `systemctl is-active mariadb`: `deactivating` is a start that waited
    /// for a cluster past its timeout and ignores the stop while it waits.
    #[serde(default)]
    pub unit: String,
}

impl GaleraFacts {
    pub fn parse(lines: &[&str]) -> GaleraFacts {
        let mut g = GaleraFacts::default();
        for l in lines {
            let (k, v) = l.trim().split_once(' ').unwrap_or((l.trim(), ""));
            let v = v.trim();
            match k {
                "uuid" => g.uuid = Some(v.to_string()),
                "seqno" => g.seqno = v.parse().ok(),
                "safe_to_bootstrap" => g.safe_to_bootstrap = v == "1",
                "gvwstate" => g.gvwstate = true,
                "unit" => g.unit = v.to_string(),
                "position" => {
                    let (uuid, seqno) = recovered_position(v);
                    let first = g.recovered.is_none() && g.recovered_uuid.is_none();
                    if first || seqno > g.recovered {
                        (g.recovered, g.recovered_uuid) = (seqno, uuid);
                    }
                }
                _ => {}
            }
        }
        g
    }

    /// The node was in a cluster (grastate.dat or the recovered position
    /// names one).
    pub fn had_cluster(&self) -> bool {
        !self.clusters().is_empty()
    }

    /// The clusters this node names: grastate.dat's UUID, and the recovered
    /// position's when it is another (a reset grastate.dat leaves InnoDB's
    /// data that cluster's). All zeros names none; case does not matter.
    pub fn clusters(&self) -> Vec<&str> {
        let mut named: Vec<&str> = Vec::new();
        for u in [&self.uuid, &self.recovered_uuid].into_iter().flatten() {
            let u = u.trim();
            if names_cluster(u) && !named.iter().any(|n| n.eq_ignore_ascii_case(u)) {
                named.push(u);
            }
        }
        named
    }

    /// The last transaction this node holds, when it is known.
    pub fn position(&self) -> Option<i64> {
        match (self.seqno.filter(|s| *s >= 0), self.recovered) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b).filter(|s| *s >= 0),
        }
    }
}

/// A cluster UUID that names a cluster: not all zeros (no cluster yet).
pub fn names_cluster(uuid: &str) -> bool {
    uuid.chars().any(|c| c.is_ascii_hexdigit() && c != '0')
}

/// `--wsrep_start_position=UUID:SEQNO` (maybe more after the seqno) → the
/// UUID and the SEQNO, each when there is one.
fn recovered_position(v: &str) -> (Option<String>, Option<i64>) {
    let pos = v.rsplit('=').next().unwrap_or_default();
    let Some((uuid, rest)) = pos.split_once(':') else {
        return (None, None);
    };
    let uuid = uuid.trim();
    let digits: String = rest
        .chars()
        .enumerate()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
        .map(|(_, c)| c)
        .collect();
    (
        (!uuid.is_empty()).then(|| uuid.to_string()),
        digits.parse().ok(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crashed_node_is_known_by_its_recovered_position() {
        let g = GaleraFacts::parse(&[
            "uuid 2f4c3a0e-8d1b-11ef-9a3c-0242ac110002",
            "seqno -1",
            "safe_to_bootstrap 0",
            "gvwstate",
            "unit deactivating",
            "position 2f4c3a0e-8d1b-11ef-9a3c-0242ac110002:1234,0-1-1230",
            "position 2f4c3a0e-8d1b-11ef-9a3c-0242ac110002:1200",
        ]);
        assert!(g.had_cluster() && g.gvwstate && !g.safe_to_bootstrap);
        assert_eq!(g.unit, "deactivating");
        assert_eq!(
            (g.seqno, g.recovered, g.position()),
            (Some(-1), Some(1234), Some(1234))
        );
        assert_eq!(
            g.recovered_uuid.as_deref(),
            Some("2f4c3a0e-8d1b-11ef-9a3c-0242ac110002")
        );
    }

    #[test]
    fn the_recovered_uuid_is_the_one_of_the_highest_position() {
        let g = GaleraFacts::parse(&[
            "uuid 00000000-0000-0000-0000-000000000000",
            "seqno -1",
            "position 9a1b2c3d-0000-11ef-8888-0242ac110099:40",
            "position 2f4c3a0e-8d1b-11ef-9a3c-0242ac110002:41",
            "position 9a1b2c3d-0000-11ef-8888-0242ac110099:41",
        ]);
        assert_eq!(
            (g.recovered, g.recovered_uuid.as_deref()),
            (Some(41), Some("2f4c3a0e-8d1b-11ef-9a3c-0242ac110002"))
        );
        // a reset grastate.dat: the node still names InnoDB's cluster
        assert_eq!(g.clusters(), ["2f4c3a0e-8d1b-11ef-9a3c-0242ac110002"]);
        assert!(g.had_cluster());
        let torn = GaleraFacts {
            uuid: Some("9A1B2C3D-0000-11ef-8888-0242ac110099".into()),
            ..g.clone()
        };
        assert_eq!(torn.clusters().len(), 2);
        let same = GaleraFacts {
            uuid: Some("2F4C3A0E-8D1B-11EF-9A3C-0242AC110002 ".into()),
            ..g
        };
        assert_eq!(same.clusters().len(), 1);
        let g = GaleraFacts::parse(&["position 00000000-0000-0000-0000-000000000000:-1"]);
        assert_eq!(g.recovered, Some(-1));
        assert_eq!(g.position(), None);
        assert_eq!(
            GaleraFacts::parse(&["position garbage"]),
            GaleraFacts::default()
        );
    }

    #[test]
    fn a_clean_stop_keeps_its_seqno_and_a_new_node_has_no_cluster() {
        let g = GaleraFacts::parse(&[
            "uuid 2f4c3a0e-8d1b-11ef-9a3c-0242ac110002",
            "seqno 77",
            "safe_to_bootstrap 1",
        ]);
        assert_eq!(g.position(), Some(77));
        assert!(g.safe_to_bootstrap);
        let new = GaleraFacts::parse(&["uuid 00000000-0000-0000-0000-000000000000", "seqno -1"]);
        assert!(!new.had_cluster());
        assert_eq!(new.position(), None);
        assert_eq!(GaleraFacts::parse(&[]), GaleraFacts::default());
    }
}
