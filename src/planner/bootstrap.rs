//! The one site-wide choice in planning: after an outage that Galera cannot
//! end by itself, which controller starts the cluster again. Pure: the
//! controllers' facts in, a host and its reason (or a refusal) out.
//!
//! Galera's rule: start from the node with the most transactions (the
//! highest seqno). stackprov chooses it when it knows every controller's
//! seqno; when a controller cannot be reached its seqno is unknown, and only
//! the operator may decide it is gone for good (`--galera-bootstrap HOST`).

use crate::desired::resource::{Kind, Resource};
use crate::facts::Facts;
use crate::planner::GaleraRole;
use crate::site::Site;
use std::fmt;
use std::path::PathBuf;

/// The host that starts the cluster, and the reason the plan gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    pub host: String,
    pub reason: String,
}

/// What the choice means for one host: it starts the cluster, or joins the
/// one that does (every other host: only controllers have `galera_status`).
pub fn role<'a>(b: Option<&'a Bootstrap>, host: &str) -> Option<GaleraRole<'a>> {
    let b = b?;
    Some(if b.host == host {
        GaleraRole::Starts(&b.reason)
    } else {
        GaleraRole::Joins(&b.host)
    })
}

/// Why the cluster cannot be started (again) as asked, or not without the
/// operator's word (`--galera-bootstrap`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("--galera-bootstrap is for a site with `ha:` (a Galera cluster); this site has none")]
    NoHa,
    #[error(
        "--galera-bootstrap names `{host}`, which is not a controller of this site (controllers: {})",
        .controllers.join(", ")
    )]
    NotAController {
        host: String,
        controllers: Vec<String>,
    },
    /// `--galera-bootstrap` where no controller must start the cluster.
    #[error("--galera-bootstrap {host}: there is nothing to start: {why}; run without it")]
    NothingToStart { host: String, why: Nothing },
    #[error(
        "--galera-bootstrap names {host}, but {safe} is marked safe_to_bootstrap (it stopped last and holds every transaction): it starts the cluster; run without the option"
    )]
    SafeElsewhere { host: String, safe: String },
    #[error(
        "--galera-bootstrap {host}: its seqno is not known ({seqnos}), so starting from it could lose transactions; start MariaDB there once (`systemctl start mariadb`, which recovers the position) and plan again"
    )]
    SeqnoUnknown { host: String, seqnos: Box<Seqnos> },
    #[error(
        "--galera-bootstrap {host}: its seqno {seqno} is lower than {best_host}'s {best}, so the transactions after {seqno} would be lost; name {best_host} instead (seqnos: {seqnos})"
    )]
    SeqnoLower {
        host: String,
        seqno: i64,
        best_host: String,
        best: i64,
        seqnos: Box<Seqnos>,
    },
    /// The cluster is down and stackprov cannot tell where it ends.
    #[error("{0}")]
    Undecided(Box<Undecided>),
}

/// Why there is no cluster to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nothing {
    /// MariaDB runs on this controller: the others join it.
    Runs(String),
    /// The controllers' roles have no `galera_status`.
    NoCluster,
    /// This controller has no Galera state.
    NoState(String),
    /// No controller was in a cluster before.
    NeverClustered,
}

impl fmt::Display for Nothing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Nothing::Runs(h) => write!(f, "MariaDB runs on {h}, so the others join it"),
            Nothing::NoCluster => f.write_str("the controllers have no Galera cluster (yet)"),
            Nothing::NoState(h) => write!(f, "{h} has no Galera state (yet)"),
            Nothing::NeverClustered => f.write_str(
                "no controller was in a cluster before (a new cluster starts on the first)",
            ),
        }
    }
}

/// The controllers' seqnos: known, not known (reachable), not reachable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seqnos {
    pub known: Vec<(String, i64)>,
    pub unknown: Vec<String>,
    pub missing: Vec<String>,
}

impl fmt::Display for Seqnos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listing = self
            .known
            .iter()
            .map(|(n, s)| format!("{n} {s}"))
            .chain(self.unknown.iter().map(|n| format!("{n} unknown")))
            .chain(self.missing.iter().map(|n| format!("{n} not reachable")))
            .collect::<Vec<_>>()
            .join(", ");
        f.write_str(&listing)
    }
}

/// The cluster is down, no reachable controller may start it, and some
/// controller's seqno is not known (unreachable, or not recovered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    pub seqnos: Seqnos,
    /// The first controller with the highest seqno known.
    pub best: Option<String>,
    /// The site file (for the command that names the best controller).
    pub site: PathBuf,
}

impl fmt::Display for Undecided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let missing = self.seqnos.missing.join(" and ");
        let unknown = self.seqnos.unknown.join(" and ");
        let mut what = Vec::new();
        if !missing.is_empty() {
            what.push(format!("{missing} cannot be reached"));
        }
        if !unknown.is_empty() {
            what.push(format!(
                "the last position of {unknown} is not known (MariaDB there has not recovered it since the boot)"
            ));
        }
        let fix = match &self.best {
            _ if !unknown.is_empty() => format!(
                "Start MariaDB on {unknown} once (`systemctl start mariadb` recovers the position, then waits for the others) and plan again"
            ),
            Some(b) => format!(
                "Bring {missing} back (Galera then starts the cluster by itself), or, if {missing} cannot come back, start the cluster from {b}, the highest seqno known: `stackprov apply {} --galera-bootstrap {b}`",
                self.site.display()
            ),
            None => format!("Bring {missing} back (Galera then starts the cluster by itself)"),
        };
        write!(
            f,
            "the Galera cluster is down and no reachable controller may start it: none runs MariaDB or is marked safe_to_bootstrap, and {}, so stackprov cannot tell which node holds the last transactions (seqnos: {}). {fix}",
            what.join(", and "),
            self.seqnos
        )
    }
}

/// One gathered host: its name, facts and resources.
pub type Gathered<'a> = (&'a str, &'a Facts, &'a [Resource]);

/// The MariaDB service a host's `galera_status` watches.
fn galera_service(resources: &[Resource]) -> Option<&str> {
    resources.iter().find_map(|r| {
        let Kind::GaleraStatus(g) = &r.kind else {
            return None;
        };
        Some(g.service.as_str())
    })
}

/// Which controller starts the Galera cluster again, if one must: only when
/// the cluster ran before and no reachable controller runs MariaDB. The one
/// marked safe_to_bootstrap if there is one, else the highest seqno.
/// `requested` is `--galera-bootstrap`. (A new cluster is the playbook's
/// command, on the first controller.)
pub fn choose(
    site: &Site,
    gathered: &[Gathered<'_>],
    requested: Option<&str>,
) -> Result<Option<Bootstrap>, Refusal> {
    let Some(ha) = &site.ha else {
        return match requested {
            Some(_) => Err(Refusal::NoHa),
            None => Ok(None),
        };
    };
    if let Some(h) = requested
        && !ha.controllers.iter().any(|c| c == h)
    {
        return Err(Refusal::NotAController {
            host: h.to_string(),
            controllers: ha.controllers.clone(),
        });
    }
    // the controllers in site order, with their facts when gathered
    let seen: Vec<(&str, Option<&Gathered<'_>>)> = ha
        .controllers
        .iter()
        .map(|c| (c.as_str(), gathered.iter().find(|(n, ..)| n == c)))
        .collect();
    let nothing = |why: Nothing| match requested {
        Some(h) => Err(Refusal::NothingToStart {
            host: h.to_string(),
            why,
        }),
        None => Ok(None),
    };
    let mut known = Vec::new(); // (host, seqno) of gathered controllers
    let mut unknown = Vec::new(); // reachable, but its seqno is not known
    let mut missing = Vec::new(); // not gathered: unreachable or not selected
    // MariaDB running anywhere comes first: the others join it, whatever
    // their files say
    for (name, g) in &seen {
        if let Some((_, facts, resources)) = g
            && galera_service(resources).is_some_and(|s| facts.service(s).running)
        {
            return nothing(Nothing::Runs(name.to_string()));
        }
    }
    for (name, g) in &seen {
        let Some((_, facts, resources)) = g else {
            missing.push(*name);
            continue;
        };
        if galera_service(resources).is_none() {
            return nothing(Nothing::NoCluster);
        }
        let Some(state) = &facts.galera else {
            return nothing(Nothing::NoState(name.to_string()));
        };
        if state.safe_to_bootstrap {
            return match requested {
                Some(h) if h != *name => Err(Refusal::SafeElsewhere {
                    host: h.to_string(),
                    safe: name.to_string(),
                }),
                _ => Ok(Some(Bootstrap {
                    host: name.to_string(),
                    reason: format!(
                        "no controller runs MariaDB, and {name} is marked safe_to_bootstrap (it stopped last and holds every transaction): it starts the cluster again"
                    ),
                })),
            };
        }
        if !state.had_cluster() {
            continue; // a new node: it joins, or (the first) starts a new cluster
        }
        match state.position() {
            Some(s) => known.push((*name, s, state.gvwstate)),
            None => unknown.push(*name),
        }
    }
    if known.is_empty() && unknown.is_empty() {
        return nothing(Nothing::NeverClustered);
    }
    let best = known.iter().map(|k| k.1).max();
    let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
    let seqnos = Seqnos {
        known: known.iter().map(|(n, s, _)| (n.to_string(), *s)).collect(),
        unknown: owned(&unknown),
        missing: owned(&missing),
    };
    let first_best = known.iter().find(|k| Some(k.1) == best).map(|k| k.0);
    if let Some(h) = requested {
        return operators_choice(h, &known, seqnos);
    }
    if missing.is_empty() && unknown.is_empty() && known.iter().all(|k| k.2) {
        // every node of the last view is back: pc.recovery ends it by itself
        return Ok(None);
    }
    if !missing.is_empty() || !unknown.is_empty() {
        return Err(Refusal::Undecided(Box::new(Undecided {
            seqnos,
            best: first_best.map(str::to_string),
            site: site.path.clone(),
        })));
    }
    let host = first_best.unwrap_or_default().to_string();
    Ok(Some(Bootstrap {
        reason: format!(
            "no controller runs MariaDB or is marked safe_to_bootstrap after the outage, and not every one can end it by itself (pc.recovery): {host} has the highest seqno ({seqnos})"
        ),
        host,
    }))
}

/// `--galera-bootstrap h` after an outage: taken when `h`'s seqno is known
/// and the highest of those known (`known`: host, seqno, has its view).
fn operators_choice(
    h: &str,
    known: &[(&str, i64, bool)],
    seqnos: Seqnos,
) -> Result<Option<Bootstrap>, Refusal> {
    let best = known.iter().map(|k| k.1).max();
    let first_best = known.iter().find(|k| Some(k.1) == best).map(|k| k.0);
    let Some(&(_, s, _)) = known.iter().find(|k| k.0 == h) else {
        return Err(Refusal::SeqnoUnknown {
            host: h.to_string(),
            seqnos: Box::new(seqnos),
        });
    };
    if Some(s) < best {
        return Err(Refusal::SeqnoLower {
            host: h.to_string(),
            seqno: s,
            best_host: first_best.unwrap_or_default().to_string(),
            best: best.unwrap_or_default(),
            seqnos: Box::new(seqnos),
        });
    }
    Ok(Some(Bootstrap {
        host: h.to_string(),
        reason: format!(
            "no controller runs MariaDB or is marked safe_to_bootstrap, and --galera-bootstrap names {h}: it has the highest seqno of those known ({seqnos})"
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::resource::GaleraStatusSpec;
    use crate::facts::galera::GaleraFacts;
    use crate::planner::{set_service, test_facts as facts, test_res as res};

    const UUID: &str = "2f4c3a0e-8d1b-11ef-9a3c-0242ac110002";

    fn site() -> Site {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ha.yaml");
        crate::desired::check::load_site(&p).expect("examples/ha.yaml is valid")
    }

    /// A controller whose MariaDB is down (or `running`), with this saved state.
    fn node(running: bool, seqno: i64, safe: bool, gvwstate: bool) -> Facts {
        facts(|f| {
            set_service(f, "mariadb", running);
            f.galera = Some(GaleraFacts {
                uuid: Some(UUID.into()),
                seqno: Some(-1),
                safe_to_bootstrap: safe,
                gvwstate,
                recovered: (seqno >= 0).then_some(seqno),
                unit: String::new(),
            });
        })
    }

    fn resources() -> Vec<Resource> {
        vec![res(Kind::GaleraStatus(GaleraStatusSpec {
            service: "mariadb".into(),
            nodes: 3,
            peers: String::new(),
        }))]
    }

    fn pick(nodes: &[(&str, Facts)], requested: Option<&str>) -> Result<Option<Bootstrap>, String> {
        let r = resources();
        let g: Vec<Gathered<'_>> = nodes.iter().map(|(n, f)| (*n, f, r.as_slice())).collect();
        choose(&site(), &g, requested).map_err(|e| e.to_string())
    }

    #[test]
    fn a_running_node_or_pc_recovery_needs_no_choice_and_a_marked_node_starts() {
        let up = [
            ("ctl1", node(true, 10, false, true)),
            ("ctl2", node(false, 10, false, true)),
        ];
        assert_eq!(pick(&up, None), Ok(None));
        let e = pick(&up, Some("ctl2")).unwrap_err();
        assert!(e.contains("MariaDB runs on ctl1"), "{e}");
        let marked = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", node(false, 12, true, false)),
            ("ctl3", node(false, 9, false, false)),
        ];
        // a marked node does not start a second cluster beside a running one
        let beside = [
            ("ctl1", node(false, 10, true, false)),
            ("ctl2", node(true, 12, false, false)),
        ];
        assert_eq!(pick(&beside, None), Ok(None));
        let b = pick(&marked, None).unwrap().unwrap();
        assert_eq!(b.host, "ctl2");
        assert!(
            b.reason.contains("ctl2 is marked safe_to_bootstrap"),
            "{}",
            b.reason
        );
        assert_eq!(pick(&marked, Some("ctl2")).unwrap().unwrap().host, "ctl2");
        let e = pick(&marked, Some("ctl1")).unwrap_err();
        assert!(e.contains("ctl2 is marked safe_to_bootstrap"), "{e}");
        // all three back after a power cut, each with its view: pc.recovery
        let all = [
            ("ctl1", node(false, 10, false, true)),
            ("ctl2", node(false, 10, false, true)),
            ("ctl3", node(false, 10, false, true)),
        ];
        assert_eq!(pick(&all, None), Ok(None));
    }

    #[test]
    fn all_known_without_views_starts_from_the_highest_seqno() {
        let nodes = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", node(false, 12, false, false)),
            ("ctl3", node(false, 12, false, true)),
        ];
        let b = pick(&nodes, None).unwrap().unwrap();
        assert_eq!(b.host, "ctl2");
        assert!(
            b.reason
                .contains("ctl2 has the highest seqno (ctl1 10, ctl2 12, ctl3 12)"),
            "{}",
            b.reason
        );
    }

    #[test]
    fn a_missing_controller_needs_the_operators_word_for_the_highest_seqno() {
        let two = [
            ("ctl1", node(false, 10, false, true)),
            ("ctl2", node(false, 12, false, true)),
        ];
        let e = pick(&two, None).unwrap_err();
        assert!(e.contains("ctl3 cannot be reached"), "{e}");
        assert!(e.contains("Bring ctl3 back"), "{e}");
        assert!(e.contains("ctl1 10, ctl2 12, ctl3 not reachable"), "{e}");
        assert!(e.contains("--galera-bootstrap ctl2`"), "{e}");
        let e = pick(&two, Some("ctl1")).unwrap_err();
        assert!(e.contains("its seqno 10 is lower than ctl2's 12"), "{e}");
        let e = pick(&two, Some("ctl3")).unwrap_err();
        assert!(e.contains("its seqno is not known"), "{e}");
        let e = pick(&two, Some("nope")).unwrap_err();
        assert!(e.contains("not a controller"), "{e}");
        let unsure = [
            ("ctl1", node(false, 10, false, true)),
            ("ctl2", node(false, -1, false, true)),
        ];
        let e = pick(&unsure, None).unwrap_err();
        assert!(e.contains("the last position of ctl2 is not known"), "{e}");
        assert!(e.contains("Start MariaDB on ctl2 once"), "{e}");
        let b = pick(&two, Some("ctl2")).unwrap().unwrap();
        assert_eq!(b.host, "ctl2");
        assert!(
            b.reason.contains("--galera-bootstrap names ctl2"),
            "{}",
            b.reason
        );
    }

    #[test]
    fn a_new_cluster_is_not_a_recovery() {
        let mut fresh = node(false, -1, false, false);
        fresh.galera = Some(GaleraFacts::default());
        let nodes = [("ctl1", fresh.clone()), ("ctl2", fresh.clone())];
        assert_eq!(pick(&nodes, None), Ok(None));
        let e = pick(&nodes, Some("ctl1")).unwrap_err();
        assert!(e.contains("nothing to start"), "{e}");
    }
}
