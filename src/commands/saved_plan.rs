//! A plan saved by `plan --out` is a contract, not a script: `apply PLAN`
//! reads it (a private regular file of this stackprov's format), derives it
//! again from the facts it saved, the site and the secrets, and refuses
//! before connecting, naming the first difference.

use crate::error::Error;
use crate::facts::saved::SavedPlan;
use crate::pipeline::{self, Missing};
use crate::plan::{HostPlan, PLAN_FORMAT};
use crate::site::Site;
use std::path::Path;

/// Whether `path` is a saved plan, by its content: a JSON object whose first
/// key is `format`, as `plan --out` writes it (a site file has no such key).
/// A name ending in `.json` is read as a plan too, so that what is wrong
/// with it is said as a plan's problem.
pub fn is_plan(path: &Path) -> bool {
    if path.extension().is_some_and(|e| e == "json") {
        return true;
    }
    let Some(head) = crate::input_file::head(path, 256) else {
        return false;
    };
    let text = String::from_utf8_lossy(&head);
    text.trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with("\"format\""))
}

/// A plan saved by `plan --out`, of this stackprov's format, in a file only
/// its owner can write.
pub fn load_plan(path: &Path) -> Result<SavedPlan, Error> {
    let bad = |message: String| Error::SavedFile {
        path: path.to_path_buf(),
        message,
    };
    let p = path.display();
    let input = super::read_saved(path, "plan")?;
    if let Some(why) = crate::input_file::not_private(&input.meta) {
        return Err(bad(format!(
            "{p}: {why}; apply runs what a plan says, so only you may write it: `chmod 600 {p}` (and own it), or make the plan again"
        )));
    }
    #[derive(serde::Deserialize)]
    struct Head {
        format: u32,
    }
    let not_plan = |e: serde_json::Error| {
        bad(format!(
            "{p}: not a plan saved by `stackprov plan --out`: {e}"
        ))
    };
    let head: Head = serde_json::from_slice(&input.bytes).map_err(not_plan)?;
    if head.format != PLAN_FORMAT {
        return Err(bad(format!(
            "{p}: plan format {} is not {PLAN_FORMAT}; make the plan again with this stackprov",
            head.format
        )));
    }
    serde_json::from_slice(&input.bytes).map_err(not_plan)
}

/// Refuse, before connecting, a saved plan that is not what the site, its
/// secrets and the plan's saved facts give: its site, release, hosts, and
/// each host's changes and operations, derived again.
pub fn check(
    site: &Site,
    saved: &mut SavedPlan,
    path: &Path,
    galera_bootstrap: Option<&str>,
) -> Result<(), Error> {
    let p = path.display();
    let s = site.path.display();
    let again = format!("make the plan again: `stackprov plan {s} --out {p}`");
    let bad = |what: String| Error::SavedFile {
        path: path.to_path_buf(),
        message: format!("{p}: {what}; {again}"),
    };
    let plan = &saved.plan;
    if plan.site != site.name {
        return Err(bad(format!(
            "the plan is for site `{}`, and {s} is site `{}`",
            plan.site, site.name
        )));
    }
    if plan.release != site.release.name() {
        return Err(bad(format!(
            "the plan is for release `{}`, and {s} says `{}`",
            plan.release,
            site.release.name()
        )));
    }
    let mut hosts = Vec::new();
    // looked up, not scanned for: a plan may hold thousands of hosts (30k
    // took 3.9 s when each was compared with those before it)
    let mut seen = std::collections::HashSet::new();
    for hp in &plan.hosts {
        if !seen.insert(hp.host.as_str()) {
            return Err(bad(format!("host `{}` is in the plan twice", hp.host)));
        }
        match site.host(&hp.host).filter(|h| h.name == hp.host) {
            Some(h) => hosts.push(h.clone()),
            None => {
                return Err(bad(format!(
                    "host `{}` is in the plan but not in {s}",
                    hp.host
                )));
            }
        }
    }
    let missing = |m: Missing<'_>| match m {
        Missing::NoFacts(h) => bad(format!("the plan holds no facts for host `{h}`")),
        Missing::NotCovered(h) => bad(format!(
            "the facts the plan holds for host `{h}` were gathered for other roles than {s} gives it now"
        )),
    };
    let bootstrap = galera_bootstrap.or(saved.galera_bootstrap.as_deref());
    let (derived, _) = pipeline::offline_plans(site, hosts, &mut saved.facts, bootstrap, &missing)
        .map_err(|e| match e {
            e @ Error::SavedFile { .. } => e,
            e => bad(format!("it cannot be derived again: {e}")),
        })?;
    for (old, now) in plan.hosts.iter().zip(&derived) {
        if let Some(d) = first_difference(old, now) {
            return Err(bad(format!(
                "host `{}`: {d}, from what {s}, its secrets and the facts saved in the plan give (the plan was edited, or they changed since)",
                old.host
            )));
        }
    }
    Ok(())
}

/// The first way `now` differs from `saved`, in words (the facts digest
/// aside: it is the host's, checked once connected); `None` when equal.
pub fn first_difference(saved: &HostPlan, now: &HostPlan) -> Option<String> {
    for (i, old) in saved.changes.iter().enumerate() {
        let Some(new) = now.changes.get(i) else {
            return Some(format!("change `{}` differs: it is not derived", old.id));
        };
        if old.id != new.id {
            return Some(format!(
                "change `{}` differs: `{}` is derived in its place",
                old.id, new.id
            ));
        }
        let field = if old.role != new.role {
            "its role"
        } else if old.action != new.action {
            "its action"
        } else if old.reason != new.reason {
            "its reason"
        } else if old.diff != new.diff {
            "its diff"
        } else if old.ops.len() != new.ops.len() {
            return Some(format!(
                "change `{}` differs: {} operation(s) in the plan, {} derived",
                old.id,
                old.ops.len(),
                new.ops.len()
            ));
        } else if let Some(j) = (0..old.ops.len()).find(|&j| old.ops[j] != new.ops[j]) {
            return Some(format!(
                "change `{}` differs: operation {} (`{}`) is not the one derived (`{}`)",
                old.id,
                j + 1,
                old.ops[j].summary().escape_debug(),
                new.ops[j].summary().escape_debug()
            ));
        } else {
            continue;
        };
        return Some(format!("change `{}` differs: {field}", old.id));
    }
    if let Some(extra) = now.changes.get(saved.changes.len()) {
        return Some(format!(
            "change `{}` differs: it is derived but not in the plan",
            extra.id
        ));
    }
    if saved.noops != now.noops {
        return Some("its no-ops differ".to_string());
    }
    if saved.starts_cluster != now.starts_cluster {
        return Some("which cluster it starts differs".to_string());
    }
    if saved.warnings != now.warnings {
        return Some("its warnings differ".to_string());
    }
    None
}
