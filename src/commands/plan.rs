//! `stackprov plan SITE`: what apply would change, as diffs; from the hosts
//! or offline from saved facts.

use super::{Io, load_site, write_output};
use crate::cli::Format;
use crate::desired::resource::Resource;
use crate::error::{Error, Status};
use crate::facts::saved::{self, SavedFacts};
use crate::pipeline::{self, Connector};
use crate::plan::{HostPlan, Plan};
use crate::render::{self, Summary};
use crate::secrets::SecretStore;
use crate::site::{Host, Site};
use std::path::Path;

pub struct Args<'a> {
    pub site: &'a Path,
    /// Plan offline from these facts (`facts --save`).
    pub saved_facts: Option<&'a Path>,
    /// Save the plan here.
    pub out: Option<&'a Path>,
    /// Exit 2 when changes are pending.
    pub detailed: bool,
    pub only: Option<&'a str>,
    /// `--galera-bootstrap`: the controller that starts the cluster again.
    pub galera_bootstrap: Option<&'a str>,
}

pub fn run(
    args: &Args<'_>,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<Status, Error> {
    let site = load_site(args.site, io)?;
    let hosts = pipeline::select_hosts(&site, args.only)?;
    let (plans, dropped, masker) = match args.saved_facts {
        Some(file) => {
            let (plans, secrets) = offline_plans(&site, hosts, file, args.galera_bootstrap)?;
            super::warn_weak(&secrets, io);
            (plans, Vec::new(), secrets.masker())
        }
        None => {
            let p = pipeline::make_plans(&site, hosts, connect, args.galera_bootstrap)?;
            super::warn_weak(&p.secrets, io);
            let masker = p.secrets.masker();
            (
                p.plans.into_iter().map(|(p, _)| p).collect(),
                p.dropped,
                masker,
            )
        }
    };
    let plan = pipeline::new_plan(&site, plans, &dropped, &masker);
    // saved before it is printed: a refused `--out` is then the command's one
    // output (with `--format json`, its one document), not a plan and an error
    if let Some(o) = args.out {
        write_output(
            &site,
            o,
            &serde_json::to_string_pretty(&plan).unwrap_or_default(),
        )?;
        let _ = writeln!(
            io.err,
            "plan saved to {}; run `stackprov apply {}` to execute it",
            o.display(),
            o.display()
        );
    }
    print_plan(&plan, format, io);
    pipeline::report_dropped(&dropped, &masker, io.err);
    let status = pipeline::status_of_dropped(&dropped);
    Ok(if status != Status::Success {
        status
    } else if args.detailed && plan.change_count() > 0 {
        Status::ChangesPending
    } else {
        Status::Success
    })
}

/// The plan on stdout: diffs for people, or the JSON document.
pub(super) fn print_plan(plan: &Plan, format: Format, io: &mut Io<'_>) {
    if format == Format::Json {
        let summary = Summary::of(&plan.hosts);
        let _ = writeln!(
            io.out,
            "{}",
            serde_json::json!({"plan": plan, "summary": summary})
        );
    } else {
        let _ = write!(io.out, "{}", render::plan_text(plan, io.style));
    }
}

fn offline_plans(
    site: &Site,
    hosts: Vec<Host>,
    file: &Path,
    galera_bootstrap: Option<&str>,
) -> Result<(Vec<HostPlan>, SecretStore), Error> {
    let bad = |message: String| Error::SavedFile {
        path: file.to_path_buf(),
        message,
    };
    let fname = file.display();
    let text = std::fs::read_to_string(file).map_err(|e| bad(format!("{fname}: {e}")))?;
    let saved: SavedFacts = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "{fname}: not a facts file from `stackprov facts --save`: {e}"
        ))
    })?;
    let again = format!(
        "run `stackprov facts {} --save {}`",
        site.path.display(),
        file.display()
    );
    let mut prepared = Vec::new();
    for h in hosts {
        let Some(f) = saved.hosts.get(&h.name) else {
            return Err(bad(format!(
                "{fname} has no facts for host `{}`; {again}",
                h.name
            )));
        };
        let resources = pipeline::desired(site, &h, &f.os)?;
        prepared.push((h, resources, f.clone()));
    }
    let lists: Vec<&[Resource]> = prepared.iter().map(|p| p.1.as_slice()).collect();
    let secrets = pipeline::secrets_for(site, &lists)?;
    let masker = secrets.masker();
    let mut ready = Vec::new();
    for (h, resources, f) in prepared {
        let q = crate::planner::query(&resources);
        if !saved::covers(&f.query, &q) {
            return Err(bad(format!(
                "the facts in {fname} for `{}` were gathered for a different site file; {again} again",
                h.name
            )));
        }
        let facts = pipeline::facts_from_saved(f, &secrets)?;
        ready.push((h, resources, facts));
    }
    let gathered: Vec<crate::planner::bootstrap::Gathered<'_>> = ready
        .iter()
        .map(|(h, r, f)| (h.name.as_str(), f, r.as_slice()))
        .collect();
    let bootstrap = crate::planner::bootstrap::choose(site, &gathered, galera_bootstrap)?;
    let mut plans = Vec::new();
    for (h, resources, facts) in &ready {
        let starts = crate::planner::bootstrap::role(bootstrap.as_ref(), &h.name);
        plans.push(pipeline::plan(
            &h.name, resources, facts, &secrets, &masker, starts,
        )?);
    }
    Ok((plans, secrets))
}
