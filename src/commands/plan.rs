//! `stackprov plan SITE`: what apply would change, as diffs; from the hosts
//! or offline from saved facts.

use super::{Io, load_site, write_output};
use crate::cli::Format;
use crate::error::{Error, Status};
use crate::facts::Facts;
use crate::facts::saved::{SavedFacts, SavedPlan};
use crate::pipeline::{self, Connector, Missing};
use crate::plan::{HostPlan, Plan};
use crate::render::{self, Summary};
use crate::secrets::SecretStore;
use crate::site::{Host, Site};
use std::collections::BTreeMap;
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
    let (plans, dropped, masker, facts) = match args.saved_facts {
        Some(file) => {
            let (plans, secrets, facts) = offline_plans(&site, hosts, file, args.galera_bootstrap)?;
            super::warn_weak(&secrets, io);
            (plans, Vec::new(), secrets.masker(), facts)
        }
        None => {
            let p = pipeline::make_plans(&site, hosts, connect, args.galera_bootstrap)?;
            super::warn_weak(&p.secrets, io);
            let masker = p.secrets.masker();
            (
                p.plans.into_iter().map(|(p, _)| p).collect(),
                p.dropped,
                masker,
                p.saved_facts,
            )
        }
    };
    let mut plan = pipeline::new_plan(&site, plans, &dropped, &masker);
    // saved before it is printed: a refused `--out` is then the command's one
    // output (with `--format json`, its one document), not a plan and an error
    if let Some(o) = args.out {
        let saved = SavedPlan {
            plan,
            galera_bootstrap: args.galera_bootstrap.map(str::to_string),
            facts,
        };
        let inputs: Vec<(&Path, &'static str)> = args
            .saved_facts
            .iter()
            .map(|f| (*f, "the facts file it reads"))
            .collect();
        write_output(
            &site,
            o,
            &serde_json::to_string_pretty(&saved).unwrap_or_default(),
            &inputs,
        )?;
        plan = saved.plan;
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

/// Plans from a facts file, the secrets, and the facts of the hosts planned.
type Offline = (Vec<HostPlan>, SecretStore, BTreeMap<String, Facts>);

fn offline_plans(
    site: &Site,
    hosts: Vec<Host>,
    file: &Path,
    galera_bootstrap: Option<&str>,
) -> Result<Offline, Error> {
    let bad = |message: String| Error::SavedFile {
        path: file.to_path_buf(),
        message,
    };
    let fname = file.display();
    let input = super::read_saved(file, "facts file")?;
    let mut saved: SavedFacts = serde_json::from_slice(&input.bytes).map_err(|e| {
        bad(format!(
            "{fname}: not a facts file from `stackprov facts --save`: {e}"
        ))
    })?;
    drop(input);
    let again = format!(
        "run `stackprov facts {} --save {}`",
        site.path.display(),
        file.display()
    );
    let missing = |m: Missing<'_>| match m {
        Missing::NoFacts(h) => bad(format!("{fname} has no facts for host `{h}`; {again}")),
        Missing::NotCovered(h) => bad(format!(
            "the facts in {fname} for `{h}` were gathered for a different site file; {again} again"
        )),
    };
    let names: std::collections::HashSet<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let (plans, secrets) =
        pipeline::offline_plans(site, hosts, &mut saved.hosts, galera_bootstrap, &missing)?;
    let mut facts = saved.hosts;
    facts.retain(|k, _| names.contains(k));
    Ok((plans, secrets, facts))
}
