//! `stackprov apply SITE|PLAN.json`: plan, confirm, then run exactly the
//! plan's operations on every host in parallel, with a live status line on a
//! terminal and a recap at the end.

use super::plan::print_plan;
use super::{Io, load_site, saved_plan};
use crate::apply::{self, Event};
use crate::cli::Format;
use crate::error::{Error, Status};
use crate::facts::saved::SavedPlan;
use crate::pipeline::{self, Connector, Dropped, Work};
use crate::plan::{HostPlan, Plan};
use crate::render::{self, Recap};
use crate::site::Site;
use crate::transport::TransportStats;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// `stackprov apply`'s arguments.
pub struct Args<'a> {
    /// A site file, or a plan saved with `plan --out`.
    pub target: &'a Path,
    /// The site file a saved plan belongs to.
    pub site: Option<&'a Path>,
    pub only: Option<&'a str>,
    /// `--galera-bootstrap`: the controller that starts the cluster again.
    pub galera_bootstrap: Option<&'a str>,
    /// Do not ask for confirmation.
    pub yes: bool,
}

pub fn run(
    args: &Args<'_>,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<Status, Error> {
    let Args {
        target,
        site: site_arg,
        only,
        galera_bootstrap,
        yes,
    } = *args;
    // with `--site`, the target can only be a plan
    let mut saved = if site_arg.is_some() || saved_plan::is_plan(target) {
        Some(saved_plan::load_plan(target)?)
    } else {
        None
    };
    let site_path: PathBuf = match (&saved, site_arg) {
        (_, Some(p)) => p.to_path_buf(),
        (Some(p), None) => PathBuf::from(&p.plan.site_file),
        (None, None) => target.to_path_buf(),
    };
    let site = load_site(&site_path, io)?;
    let mut hosts = pipeline::select_hosts(&site, only)?;
    let galera_bootstrap: Option<String> = galera_bootstrap
        .map(str::to_string)
        .or_else(|| saved.as_ref().and_then(|p| p.galera_bootstrap.clone()));
    let galera_bootstrap = galera_bootstrap.as_deref();
    if let Some(p) = &mut saved {
        // before connecting: the plan is what the site gives from its facts
        saved_plan::check(&site, p, target, galera_bootstrap)?;
        let planned: std::collections::HashSet<&str> =
            p.plan.hosts.iter().map(|hp| hp.host.as_str()).collect();
        hosts.retain(|h| planned.contains(h.name.as_str()));
        if hosts.is_empty() {
            return Err(no_host(target, &p.plan, only));
        }
    }
    let planned = pipeline::make_plans(&site, hosts, connect, galera_bootstrap)?;
    super::warn_weak(&planned.secrets, io);
    let masker = planned.secrets.masker();
    let mut plans: Vec<(HostPlan, usize)> = planned.plans;
    if let Some(saved) = &saved {
        take_saved(saved, &mut plans, target, &site)?;
    }
    let plan = pipeline::new_plan(
        &site,
        plans.iter().map(|(p, _)| p.clone()).collect(),
        &planned.dropped,
        &masker,
    );
    if format == Format::Human {
        print_plan(&plan, format, io);
    }
    pipeline::report_dropped(&planned.dropped, &masker, io.err);
    if plan.change_count() == 0 {
        let recaps: Vec<Recap> = planned
            .works
            .iter()
            .zip(&plans)
            .map(|(w, (_, n))| recap_ok(w, *n))
            .chain(planned.dropped.iter().map(recap_dropped))
            .collect();
        print_recap(&recaps, format, io);
        return Ok(pipeline::status_of_dropped(&planned.dropped));
    }
    if !confirm(io, yes)? {
        let _ = writeln!(io.err, "Apply cancelled.");
        return Ok(Status::Failed);
    }
    let jobs: Vec<(Work, (HostPlan, usize))> = planned.works.into_iter().zip(plans).collect();
    let mut recaps = run_jobs(site.forks(), jobs, &planned.secrets, &masker, format, io);
    recaps.extend(planned.dropped.iter().map(recap_dropped));
    print_recap(&recaps, format, io);
    let skipped: usize = recaps.iter().map(|r| r.skipped).sum();
    if skipped > 0 {
        let _ = writeln!(
            io.err,
            "Interrupted: {skipped} planned change(s) did not run; `stackprov apply` again finishes them."
        );
    }
    Ok(recaps
        .iter()
        .map(|r| {
            if r.unreachable {
                Status::Unreachable
            } else if r.failed > 0 || r.error.is_some() {
                Status::Failed
            } else if r.skipped > 0 {
                Status::Interrupted
            } else {
                Status::Success
            }
        })
        .fold(Status::Success, Status::and))
}

/// Each host's plan from its live facts must be the saved one (made from
/// the same facts): then the saved one is applied, else the plan is stale.
fn take_saved(
    saved: &SavedPlan,
    plans: &mut [(HostPlan, usize)],
    target: &Path,
    site: &Site,
) -> Result<(), Error> {
    // each host's saved plan, the first of a name (as a scan finds it)
    let by_host: std::collections::HashMap<&str, &HostPlan> = saved
        .plan
        .hosts
        .iter()
        .rev()
        .map(|h| (h.host.as_str(), h))
        .collect();
    for (p, _) in plans.iter_mut() {
        let Some(&old) = by_host.get(p.host.as_str()) else {
            continue;
        };
        if old.facts_digest != p.facts_digest {
            return Err(Error::StalePlan {
                host: p.host.clone(),
                plan: target.to_path_buf(),
            });
        }
        if let Some(d) = saved_plan::first_difference(old, p) {
            let t = target.display();
            return Err(Error::SavedFile {
                path: target.to_path_buf(),
                message: format!(
                    "{t}: host `{}`: {d}, from what the host shows: the facts saved in the plan are not the host's; make the plan again: `stackprov plan {} --out {t}`",
                    p.host,
                    site.path.display()
                ),
            });
        }
        *p = old.clone();
    }
    Ok(())
}

/// No host of the saved plan is to be applied: none in it, or not the one
/// `--host` names.
fn no_host(path: &Path, plan: &Plan, only: Option<&str>) -> Error {
    let p = path.display();
    let names: Vec<&str> = plan.hosts.iter().map(|h| h.host.as_str()).collect();
    let message = match only {
        Some(h) => format!(
            "{p}: host `{h}` is not in the plan (its hosts: {}); make a plan for it: `stackprov plan SITE --host {h} --out FILE`",
            names.join(", ")
        ),
        None => format!(
            "{p}: the plan has no host to apply (none could be planned); make the plan again once the hosts can be reached"
        ),
    };
    Error::SavedFile {
        path: path.to_path_buf(),
        message,
    }
}

/// Apply each host's plan, hosts in parallel; the live status line on a terminal.
fn run_jobs(
    forks: usize,
    jobs: Vec<(Work, (HostPlan, usize))>,
    secrets: &crate::secrets::SecretStore,
    masker: &crate::secrets::Masker,
    format: Format,
    io: &mut Io<'_>,
) -> Vec<Recap> {
    let style = io.style;
    let human = format == Format::Human;
    let stop = io.interrupted;
    (io.arm_interrupt)();
    let live = render::Live::new(&mut *io.out, style);
    let done = AtomicBool::new(false);
    let plans: Vec<&HostPlan> = jobs.iter().map(|(_, (hp, _))| hp).collect();
    let gate = apply::ClusterGate::new(&plans);
    let recaps = std::thread::scope(|s| {
        if human && style.live {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    live.tick();
                }
            });
        }
        let run = |(i, (mut w, (hp, n))): (usize, (Work, (HostPlan, usize)))| {
            let name = w.host.name.clone();
            let mut on_event = |e: Event<'_>| {
                match &e {
                    Event::Done(c, _) => gate.ended(&name, Some(&c.id), true),
                    Event::Failed(c, _) => gate.ended(&name, Some(&c.id), false),
                    _ => {}
                }
                if !human {
                    return;
                }
                match e {
                    Event::Start(c) => live.start(&name, format!("{} {}", c.action.symbol(), c.id)),
                    // the finished lines quote the site and the host: made safe
                    // here, as the status line is in render::live
                    Event::Done(c, d) => live.line(
                        &name,
                        &format!(
                            "{}: {} {} ({:.1}s)",
                            render::safe(&name),
                            style.action(c.action),
                            render::safe(&c.id),
                            d.as_secs_f64()
                        ),
                    ),
                    Event::Failed(c, _) => live.line(
                        &name,
                        &format!(
                            "{}: {} {}",
                            render::safe(&name),
                            style.red("failed"),
                            render::safe(&c.id)
                        ),
                    ),
                    Event::Waiting(c, holder) => {
                        let (pid, cmd) = holder.split_once(' ').unwrap_or((&holder, ""));
                        let cmd: String = cmd.trim().chars().take(60).collect();
                        live.line(
                            &name,
                            &format!(
                                "{}: {} waits for the package manager: pid {} ({})",
                                render::safe(&name),
                                render::safe(&c.id),
                                render::safe(pid),
                                render::safe(&cmd)
                            ),
                        );
                        live.start(
                            &name,
                            format!("{} {} (waiting for pid {pid})", c.action.symbol(), c.id),
                        );
                    }
                }
            };
            let outcome = apply::apply_host(
                w.transport.as_mut(),
                &hp,
                secrets,
                masker,
                stop,
                &|c| gate.wait(&name, c),
                &mut on_event,
            );
            gate.ended(&name, None, false);
            let mut recap = Recap::from_outcome(&outcome, n, w.transport.stats());
            recap.http_requests += w.http_requests;
            recap.seconds = w.started.elapsed().as_secs_f64();
            recap.timings = pipeline::Timings {
                apply: outcome.seconds,
                ..w.timings
            };
            if let Some(f) = &outcome.failure {
                recap.unreachable = f.unreachable;
            }
            (i, recap)
        };
        // every host at once; those joining a cluster start its service
        // after those starting it (the gate). `parallel` takes jobs from the
        // end: the starters go last in the list so that they are never
        // queued behind joiners waiting for them (whatever --forks is)
        let mut jobs: Vec<_> = jobs.into_iter().enumerate().collect();
        jobs.sort_by_key(|(_, (w, _))| gate.starts(&w.host.name));
        let mut recaps = pipeline::parallel(forks, jobs, run);
        recaps.sort_by_key(|(i, _)| *i);
        done.store(true, Ordering::Relaxed);
        recaps.into_iter().map(|(_, r)| r).collect::<Vec<Recap>>()
    });
    live.finish();
    recaps
}

/// Ask on the terminal; only `yes` goes ahead.
fn confirm(io: &mut Io<'_>, yes: bool) -> Result<bool, Error> {
    if yes {
        return Ok(true);
    }
    if !io.interactive {
        return Err(Error::NoTerminal);
    }
    let _ = write!(io.err, "Apply these changes? Only 'yes' is accepted: ");
    let _ = io.err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(Error::Stdin)?;
    Ok(answer.trim() == "yes")
}

fn recap_ok(w: &Work, resources: usize) -> Recap {
    Recap {
        host: w.host.name.clone(),
        ok: resources,
        changed: 0,
        skipped: 0,
        failed: 0,
        unreachable: false,
        seconds: w.started.elapsed().as_secs_f64(),
        http_requests: w.http_requests,
        transport: w.transport.stats(),
        timings: w.timings,
        changes: Vec::new(),
        failure: None,
        error: None,
    }
}

fn recap_dropped(d: &Dropped) -> Recap {
    let unreachable = d.unreachable();
    Recap {
        host: d.host.clone(),
        ok: 0,
        changed: 0,
        skipped: 0,
        failed: usize::from(!unreachable),
        unreachable,
        seconds: 0.0,
        http_requests: 0,
        transport: TransportStats::default(),
        timings: pipeline::Timings::default(),
        changes: Vec::new(),
        failure: None,
        error: Some(d.error.to_string()),
    }
}

fn print_recap(recaps: &[Recap], format: Format, io: &mut Io<'_>) {
    if format == Format::Json {
        let _ = writeln!(io.out, "{}", serde_json::json!({"recap": recaps}));
    } else {
        let _ = write!(io.out, "{}", render::recap_text(recaps, io.style));
    }
}
