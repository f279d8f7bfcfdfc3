//! Why a Galera cluster is not started as asked: [`Refusal`] and the parts
//! its messages are made of (each host's cluster, seqnos, marks).

use crate::facts::galera::GaleraFacts;
use std::fmt;
use std::path::PathBuf;

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
    /// The one node marked safe_to_bootstrap holds less than another: the
    /// mark was set by hand or is left from an earlier shutdown.
    #[error(
        "{host} is marked safe_to_bootstrap, but its seqno {seqno} is lower than {best_host}'s {best}: Galera marks only the last node to leave the cluster in an orderly shutdown, which holds every transaction, so this mark was set by hand or is left from an earlier shutdown, and starting from {host} would lose the transactions after {seqno}. Check which node really holds the last transactions (its seqno, its log), then start from {best_host}: `--galera-bootstrap {best_host}`, or set `safe_to_bootstrap: 0` in {host}'s /var/lib/mysql/grastate.dat and plan again"
    )]
    MarkedBehind {
        host: String,
        seqno: i64,
        best_host: String,
        best: i64,
    },
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
    /// `--galera-bootstrap` while another reachable controller's position
    /// is not known (seqno -1, not recovered): it may hold more.
    #[error(
        "--galera-bootstrap {host}: the last position of {unknown} is not known (seqno -1: MariaDB there has not recovered it since the boot), so it may hold transactions {host} lacks, and they would be lost (seqnos: {seqnos}); start MariaDB on {unknown} once (`systemctl start mariadb` recovers the position, then waits for the others) and plan again, or, if its data cannot be recovered, re-provision it (it then joins by a full state transfer)",
        unknown = .seqnos.unknown.join(" and ")
    )]
    OthersUnknown { host: String, seqnos: Box<Seqnos> },
    /// The controllers name different clusters (grastate.dat, or the
    /// position recovered from InnoDB).
    #[error("{0}")]
    Clusters(Box<Clusters>),
    /// More than one controller is marked safe_to_bootstrap.
    #[error("{0}")]
    MarkedTwice(Box<MarkedTwice>),
    /// The cluster is down and stackprov cannot tell where it ends.
    #[error("{0}")]
    Undecided(Box<Undecided>),
}

/// The controllers name different clusters, in grastate.dat or in the
/// position recovered from InnoDB: a node from another cluster that started
/// this one would make the others take a state transfer from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clusters {
    /// Each controller that names a cluster.
    pub named: Vec<Named>,
    /// `--galera-bootstrap`, when it names a node outside the majority.
    pub requested: Option<String>,
}

/// The clusters one controller names: grastate.dat's UUID and the recovered
/// position's, each when it names one (all zeros names none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub host: String,
    pub grastate: Option<String>,
    pub recovered: Option<String>,
}

impl Named {
    pub(super) fn of(host: &str, s: &GaleraFacts) -> Named {
        let names = |u: &Option<String>| {
            let u = u.as_deref()?.trim();
            crate::facts::galera::names_cluster(u).then(|| u.to_string())
        };
        Named {
            host: host.to_string(),
            grastate: names(&s.uuid),
            recovered: names(&s.recovered_uuid),
        }
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.host;
        match (&self.grastate, &self.recovered) {
            (Some(g), Some(r)) if !g.eq_ignore_ascii_case(r) => {
                write!(
                    f,
                    "{h} {g} in grastate.dat but {r} in its recovered position"
                )
            }
            (Some(g), _) => write!(f, "{h} {g}"),
            (None, Some(r)) => write!(
                f,
                "{h} {r} (its recovered position; grastate.dat names none)"
            ),
            (None, None) => write!(f, "{h} none"),
        }
    }
}

impl fmt::Display for Clusters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listing = self
            .named
            .iter()
            .map(Named::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(h) = &self.requested {
            write!(
                f,
                "--galera-bootstrap {h}: {h} is not of the cluster most controllers name (cluster UUIDs: {listing}), so the others would take a state transfer from a foreign cluster; "
            )?;
        } else {
            write!(
                f,
                "the controllers name different Galera clusters in grastate.dat or in the position MariaDB recovered from InnoDB (cluster UUIDs: {listing}), so stackprov will not choose a node to start the cluster: the others would take a state transfer from a foreign cluster; "
            )?;
        }
        f.write_str(
            "a node from another cluster must be wiped and re-provisioned before it joins, or its /var/lib/mysql/grastate.dat fixed if only that file names the wrong UUID (a recovered position is InnoDB's own: its data is that cluster's); then plan again",
        )
    }
}

/// More than one controller is marked safe_to_bootstrap, which Galera does
/// for one node only (the last to leave the cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkedTwice {
    /// The marked controllers and their positions, when known.
    pub marked: Vec<(String, Option<i64>)>,
    /// `--galera-bootstrap`, when it names a node that is not marked.
    pub requested: Option<String>,
}

impl fmt::Display for MarkedTwice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.marked.iter().map(|m| m.0.as_str()).collect();
        let listing = self
            .marked
            .iter()
            .map(|(n, s)| match s {
                Some(s) => format!("{n} {s}"),
                None => format!("{n} unknown"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(h) = &self.requested {
            write!(f, "--galera-bootstrap {h}: ")?;
        }
        write!(
            f,
            "{} are all marked safe_to_bootstrap (seqnos: {listing}), but Galera marks only the last node to leave the cluster, so stackprov will not pick one. Check which one really stopped last (its log, its seqno), set `safe_to_bootstrap: 0` in the other's /var/lib/mysql/grastate.dat and plan again, or name it: `--galera-bootstrap HOST` (one of {})",
            names.join(" and "),
            names.join(", ")
        )
    }
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
