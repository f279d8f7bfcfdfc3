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
use crate::facts::galera::GaleraFacts;
use crate::planner::GaleraRole;
use crate::site::Site;

mod refusal;
pub use refusal::{Clusters, MarkedTwice, Named, Nothing, Refusal, Seqnos, Undecided};

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
/// marked safe_to_bootstrap if there is one (and no other holds more), else
/// the highest seqno.
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
    // MariaDB running anywhere comes first: the others join it, whatever
    // their files say
    for (name, g) in &seen {
        if let Some((_, facts, resources)) = g
            && galera_service(resources).is_some_and(|s| facts.service(s).running)
        {
            return nothing(Nothing::Runs(name.to_string()));
        }
    }
    let mut states = Vec::new(); // gathered controllers' Galera state
    let mut missing = Vec::new(); // not gathered: unreachable or not selected
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
        states.push((*name, state));
    }
    // a node from another cluster neither starts this one nor counts; with
    // --galera-bootstrap a node of the majority's cluster may start it
    let cluster = one_cluster(&states, requested, ha.controllers.len())?;
    let foreign: Vec<&str> = states
        .iter()
        .filter(|(_, s)| cluster.is_some_and(|c| s.had_cluster() && !only_of(&s.clusters(), c)))
        .map(|s| s.0)
        .collect();
    states.retain(|s| !foreign.contains(&s.0));
    if let Some(b) = marked(&states, requested)? {
        return Ok(Some(joins_afresh(b, &foreign)));
    }
    let mut known = Vec::new(); // (host, seqno, has its view) of gathered controllers
    let mut unknown = Vec::new(); // reachable, but its seqno is not known
    for (name, state) in &states {
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
        return operators_choice(h, &known, seqnos).map(|b| b.map(|b| joins_afresh(b, &foreign)));
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

/// A controller's saved state, as [`choose`] reads it.
type State<'a> = (&'a str, &'a GaleraFacts);

/// Whether the controllers that were in a cluster name the same one, in
/// grastate.dat and in the position recovered from InnoDB (an all-zero or
/// missing UUID is no cluster, and names none). When they do not, no node is
/// chosen; `--galera-bootstrap h` only when `h` names only the cluster most
/// of the site's `controllers` name (and no other): then it is returned, and
/// the nodes of other clusters join it afresh.
fn one_cluster<'a>(
    states: &[State<'a>],
    requested: Option<&str>,
    controllers: usize,
) -> Result<Option<&'a str>, Refusal> {
    let named: Vec<(&str, Vec<&'a str>)> = states
        .iter()
        .map(|&(n, s)| (n, s.clusters()))
        .filter(|n| !n.1.is_empty())
        .collect();
    let Some(first) = named.first() else {
        return Ok(None);
    };
    let only = |u: &str| named.iter().filter(|n| only_of(&n.1, u)).count();
    if only(first.1[0]) == named.len() {
        return Ok(None);
    }
    if let Some(h) = requested
        && let Some([u]) = named.iter().find(|n| n.0 == h).map(|n| n.1.as_slice())
        && 2 * only(u) > controllers
    {
        return Ok(Some(u));
    }
    Err(Refusal::Clusters(Box::new(Clusters {
        named: states
            .iter()
            .filter(|s| s.1.had_cluster())
            .map(|(n, s)| Named::of(n, s))
            .collect(),
        requested: requested.map(str::to_string),
    })))
}

/// Every cluster a node names (`GaleraFacts::clusters`) is `uuid`.
fn only_of(named: &[&str], uuid: &str) -> bool {
    named.iter().all(|u| u.eq_ignore_ascii_case(uuid))
}

/// The node Galera marked safe_to_bootstrap starts the cluster, when there
/// is one (`--galera-bootstrap` may name no other). Two or more marked is
/// ambiguous (Galera marks one): refused, unless `--galera-bootstrap` names
/// one of them, which is then weighed as after a crash (`Ok(None)`). So is
/// one mark on a node whose seqno is lower than another's: refused, unless
/// `--galera-bootstrap` names a node.
fn marked(states: &[State<'_>], requested: Option<&str>) -> Result<Option<Bootstrap>, Refusal> {
    let marked: Vec<&State<'_>> = states.iter().filter(|s| s.1.safe_to_bootstrap).collect();
    if let [(name, s)] = marked.as_slice()
        && let Some(seqno) = s.position()
        && let Some((best_host, best)) = highest(states)
        && seqno < best
    {
        return match requested {
            Some(_) => Ok(None),
            None => Err(Refusal::MarkedBehind {
                host: name.to_string(),
                seqno,
                best_host: best_host.to_string(),
                best,
            }),
        };
    }
    match (marked.as_slice(), requested) {
        ([], _) => Ok(None),
        ([(name, _)], Some(h)) if h != *name => Err(Refusal::SafeElsewhere {
            host: h.to_string(),
            safe: name.to_string(),
        }),
        ([(name, _)], _) => Ok(Some(Bootstrap {
            host: name.to_string(),
            reason: format!(
                "no controller runs MariaDB, and {name} is marked safe_to_bootstrap (it stopped last and holds every transaction): it starts the cluster again"
            ),
        })),
        (_, Some(h)) if marked.iter().any(|m| m.0 == h) => Ok(None),
        _ => Err(Refusal::MarkedTwice(Box::new(MarkedTwice {
            marked: marked
                .iter()
                .map(|(n, s)| (n.to_string(), s.position()))
                .collect(),
            requested: requested.map(str::to_string),
        }))),
    }
}

/// The first node with the highest seqno known, and that seqno.
fn highest<'a>(states: &[State<'a>]) -> Option<(&'a str, i64)> {
    let mut known = states
        .iter()
        .filter(|s| s.1.had_cluster())
        .filter_map(|&(n, s)| Some((n, s.position()?)));
    let best = known.clone().map(|k| k.1).max()?;
    known.find(|k| k.1 == best)
}

/// The reason, with the nodes of another cluster that join this one afresh.
fn joins_afresh(mut b: Bootstrap, foreign: &[&str]) -> Bootstrap {
    if !foreign.is_empty() {
        b.reason.push_str(&format!(
            "; {} named another cluster (in grastate.dat or its recovered position) and joins this one by a full state transfer (its own data is replaced)",
            foreign.join(" and ")
        ));
    }
    b
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
    if !seqnos.unknown.is_empty() {
        return Err(Refusal::OthersUnknown {
            host: h.to_string(),
            seqnos: Box::new(seqnos),
        });
    }
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
            "no controller runs MariaDB or is the only one marked safe_to_bootstrap, and --galera-bootstrap names {h}: it has the highest seqno of those known ({seqnos})"
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
                recovered_uuid: (seqno >= 0).then(|| UUID.into()),
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

    /// `--galera-bootstrap host` (of the majority's cluster) is taken, ctl3
    /// (of another) does not count and joins afresh; `--galera-bootstrap
    /// ctl3` is refused.
    fn majority_may_start_foreign_ctl3_may_not(nodes: &[(&str, Facts)], host: &str) {
        let b = pick(nodes, Some(host)).unwrap().unwrap();
        assert_eq!(b.host, host);
        assert!(
            b.reason.contains("ctl3 named another cluster"),
            "{}",
            b.reason
        );
        let e = pick(nodes, Some("ctl3")).unwrap_err();
        assert!(
            e.contains("--galera-bootstrap ctl3: ctl3 is not of the cluster most controllers name"),
            "{e}"
        );
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

    /// `node`, with grastate.dat (and the recovered position, if any)
    /// naming this cluster instead.
    fn of(uuid: &str, mut f: Facts) -> Facts {
        let g = f.galera.as_mut().unwrap();
        g.uuid = Some(uuid.into());
        if g.recovered_uuid.is_some() {
            g.recovered_uuid = Some(uuid.into());
        }
        f
    }

    const OTHER: &str = "9a1b2c3d-0000-11ef-8888-0242ac110099";

    #[test]
    fn a_node_of_another_cluster_never_starts_this_one() {
        // ctl3 names another cluster: it was chosen, marked or highest
        for safe in [false, true] {
            let nodes = [
                ("ctl1", node(false, 10, false, false)),
                ("ctl2", node(false, 10, false, false)),
                ("ctl3", of(OTHER, node(false, 99, safe, false))),
            ];
            let e = pick(&nodes, None).unwrap_err();
            assert!(e.contains("name different Galera clusters"), "{e}");
            assert!(
                e.contains(&format!("ctl1 {UUID}, ctl2 {UUID}, ctl3 {OTHER}")),
                "{e}"
            );
            assert!(e.contains("wiped and re-provisioned"), "{e}");
            assert!(e.contains("grastate.dat fixed"), "{e}");
            // the operator may start it from the majority's cluster: ctl3
            // does not count (nor does its mark) and joins afresh
            majority_may_start_foreign_ctl3_may_not(&nodes, "ctl1");
        }
        // two against one unreachable: no majority of the site's three
        let split = [
            ("ctl1", node(false, 10, false, true)),
            ("ctl2", of(OTHER, node(false, 12, false, true))),
        ];
        for h in [None, Some("ctl1"), Some("ctl2")] {
            let e = pick(&split, h).unwrap_err();
            assert!(e.contains(&format!("ctl1 {UUID}, ctl2 {OTHER}")), "{e}");
        }
        // pc.recovery across two clusters is no recovery either
        let views = [
            ("ctl1", node(false, 10, false, true)),
            ("ctl2", node(false, 10, false, true)),
            (
                "ctl3",
                of(OTHER.to_uppercase().as_str(), node(false, 10, false, true)),
            ),
        ];
        assert!(pick(&views, None).is_err());
        // no state (all zeros or none) names no cluster; case does not matter
        let mut fresh = node(false, -1, false, false);
        fresh.galera.as_mut().unwrap().uuid = Some("00000000-0000-0000-0000-000000000000".into());
        let mut none = node(false, -1, false, false);
        none.galera.as_mut().unwrap().uuid = None;
        let nodes = [
            ("ctl1", node(false, 10, false, false)),
            (
                "ctl2",
                of(&UUID.to_uppercase(), node(false, 12, false, false)),
            ),
            ("ctl3", fresh),
        ];
        assert_eq!(pick(&nodes, None).unwrap().unwrap().host, "ctl2");
        let nodes = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", none.clone()),
            ("ctl3", none),
        ];
        assert_eq!(pick(&nodes, None).unwrap().unwrap().host, "ctl1");
    }

    /// `node` whose grastate.dat names no cluster (`None`, or all zeros)
    /// while its recovered position names `uuid`.
    fn recovered_of(uuid: &str, grastate: Option<&str>, seqno: i64) -> Facts {
        let mut f = node(false, seqno, false, false);
        let g = f.galera.as_mut().unwrap();
        g.uuid = grastate.map(str::to_string);
        g.recovered_uuid = Some(uuid.into());
        f
    }

    #[test]
    fn a_recovered_position_names_a_cluster_as_grastate_does() {
        // ctl3's grastate.dat was reset, but InnoDB's position is another
        // cluster's: refused as a grastate.dat naming it would be
        let zeros = "00000000-0000-0000-0000-000000000000";
        for grastate in [None, Some(zeros)] {
            let nodes = [
                ("ctl1", node(false, 10, false, false)),
                ("ctl2", node(false, 10, false, false)),
                ("ctl3", recovered_of(OTHER, grastate, 99)),
            ];
            let e = pick(&nodes, None).unwrap_err();
            assert!(e.contains("name different Galera clusters"), "{e}");
            assert!(
                e.contains(&format!(
                    "ctl1 {UUID}, ctl2 {UUID}, ctl3 {OTHER} (its recovered position; grastate.dat names none)"
                )),
                "{e}"
            );
            assert!(e.contains("wiped and re-provisioned"), "{e}");
            // the majority's node may start it; ctl3 joins afresh
            majority_may_start_foreign_ctl3_may_not(&nodes, "ctl2");
        }
        // grastate.dat and InnoDB disagree on one node: it names both
        let mut torn = node(false, 99, false, false);
        torn.galera.as_mut().unwrap().recovered_uuid = Some(OTHER.into());
        let nodes = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", node(false, 10, false, false)),
            ("ctl3", torn),
        ];
        let e = pick(&nodes, None).unwrap_err();
        assert!(
            e.contains(&format!(
                "ctl3 {UUID} in grastate.dat but {OTHER} in its recovered position"
            )),
            "{e}"
        );
        // the recovered position of this cluster counts: ctl3 holds the most
        let nodes = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", node(false, 10, false, false)),
            ("ctl3", recovered_of(&UUID.to_uppercase(), None, 12)),
        ];
        let b = pick(&nodes, None).unwrap().unwrap();
        assert_eq!(b.host, "ctl3");
        assert!(
            b.reason.contains("(ctl1 10, ctl2 10, ctl3 12)"),
            "{}",
            b.reason
        );
    }

    #[test]
    fn two_nodes_marked_safe_is_ambiguous() {
        let nodes = [
            ("ctl1", node(false, 10, true, false)),
            ("ctl2", node(false, 12, true, false)),
            ("ctl3", node(false, 9, false, false)),
        ];
        let e = pick(&nodes, None).unwrap_err();
        assert!(
            e.contains("ctl1 and ctl2 are all marked safe_to_bootstrap (seqnos: ctl1 10, ctl2 12)"),
            "{e}"
        );
        assert!(
            e.contains("set `safe_to_bootstrap: 0` in the other's"),
            "{e}"
        );
        assert!(
            e.contains("`--galera-bootstrap HOST` (one of ctl1, ctl2)"),
            "{e}"
        );
        // the operator names one of them: weighed by seqno as after a crash
        assert_eq!(pick(&nodes, Some("ctl2")).unwrap().unwrap().host, "ctl2");
        let e = pick(&nodes, Some("ctl1")).unwrap_err();
        assert!(e.contains("its seqno 10 is lower than ctl2's 12"), "{e}");
        let e = pick(&nodes, Some("ctl3")).unwrap_err();
        assert!(
            e.contains("--galera-bootstrap ctl3: ctl1 and ctl2 are all marked"),
            "{e}"
        );
        // a marked node whose position is not known is listed as such
        let nodes = [
            ("ctl1", node(false, -1, true, false)),
            ("ctl2", node(false, 12, true, false)),
            ("ctl3", node(false, 9, false, false)),
        ];
        let e = pick(&nodes, None).unwrap_err();
        assert!(e.contains("(seqnos: ctl1 unknown, ctl2 12)"), "{e}");
    }

    #[test]
    fn a_lone_mark_on_a_node_behind_another_is_refused() {
        // ctl3 is marked but holds less than ctl2: a mark set by hand, or
        // left from an earlier shutdown
        let nodes = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", node(false, 12, false, false)),
            ("ctl3", node(false, 9, true, false)),
        ];
        let e = pick(&nodes, None).unwrap_err();
        assert!(
            e.contains("ctl3 is marked safe_to_bootstrap, but its seqno 9 is lower than ctl2's 12"),
            "{e}"
        );
        assert!(e.contains("the transactions after 9"), "{e}");
        assert!(e.contains("`--galera-bootstrap ctl2`"), "{e}");
        assert!(
            e.contains("set `safe_to_bootstrap: 0` in ctl3's /var/lib/mysql/grastate.dat"),
            "{e}"
        );
        // the operator's word is weighed by seqno, as after a crash
        assert_eq!(pick(&nodes, Some("ctl2")).unwrap().unwrap().host, "ctl2");
        let e = pick(&nodes, Some("ctl3")).unwrap_err();
        assert!(e.contains("its seqno 9 is lower than ctl2's 12"), "{e}");
        let e = pick(&nodes, Some("ctl1")).unwrap_err();
        assert!(e.contains("its seqno 10 is lower than ctl2's 12"), "{e}");
        // a recovered position counts as the seqno does
        let mut crashed = node(false, -1, false, false);
        crashed.galera.as_mut().unwrap().recovered = Some(15);
        let nodes = [("ctl1", node(false, 10, true, false)), ("ctl2", crashed)];
        let e = pick(&nodes, None).unwrap_err();
        assert!(e.contains("its seqno 10 is lower than ctl2's 15"), "{e}");
        // a mark level with the highest, or alone with what is known, starts
        let nodes = [
            ("ctl1", node(false, 12, false, false)),
            ("ctl2", node(false, 12, true, false)),
            ("ctl3", node(false, -1, false, false)),
        ];
        assert_eq!(pick(&nodes, None).unwrap().unwrap().host, "ctl2");
        // a node of another cluster ahead of it is no comparison
        let nodes = [
            ("ctl1", node(false, 10, true, false)),
            ("ctl2", node(false, 9, false, false)),
            ("ctl3", of(OTHER, node(false, 99, false, false))),
        ];
        let b = pick(&nodes, Some("ctl1")).unwrap().unwrap();
        assert_eq!(b.host, "ctl1");
    }

    #[test]
    fn a_seqno_of_minus_one_is_unknown_never_a_number() {
        // ctl2 crashed (-1) and has not recovered its position: the operator
        // may not start from ctl1 over it, only after its recovery
        let unsure = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", node(false, -1, false, false)),
            ("ctl3", node(false, 8, false, false)),
        ];
        let e = pick(&unsure, None).unwrap_err();
        assert!(e.contains("the last position of ctl2 is not known"), "{e}");
        let e = pick(&unsure, Some("ctl1")).unwrap_err();
        assert!(
            e.contains("--galera-bootstrap ctl1: the last position of ctl2 is not known (seqno -1"),
            "{e}"
        );
        assert!(e.contains("ctl1 10, ctl3 8, ctl2 unknown"), "{e}");
        assert!(e.contains("start MariaDB on ctl2 once"), "{e}");
        let e = pick(&unsure, Some("ctl2")).unwrap_err();
        assert!(e.contains("its seqno is not known"), "{e}");
        // -1 in grastate.dat with a recovered position: the position counts
        let mut crashed = node(false, -1, false, false);
        crashed.galera.as_mut().unwrap().recovered = Some(15);
        let nodes = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", crashed),
            ("ctl3", node(false, 8, false, false)),
        ];
        assert_eq!(pick(&nodes, None).unwrap().unwrap().host, "ctl2");
        // a recovered -1 is no position either (saved facts can say so)
        let mut minus = node(false, -1, false, false);
        minus.galera.as_mut().unwrap().recovered = Some(-1);
        let nodes = [
            ("ctl1", node(false, 10, false, false)),
            ("ctl2", minus),
            ("ctl3", node(false, 8, false, false)),
        ];
        assert!(pick(&nodes, Some("ctl1")).is_err());
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
