//! The commands: load the site, run each host's pipeline in parallel
//! (bounded), print, and choose the exit code.

use crate::apply;
use crate::cli::{Cli, Command, Format};
use crate::diag::Diagnostic;
use crate::engine::{self, EngineError};
use crate::facts::Facts;
use crate::plan::{HostPlan, PLAN_FORMAT, Plan};
use crate::render::{self, Recap, Style, Summary};
use crate::resource::Resource;
use crate::secrets::{Masker, SecretStore};
use crate::site::{Host, Site};
use crate::transport::{Transport, TransportError, TransportErrorKind, TransportStats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_CHANGES: i32 = 2;
/// As Ansible: some host could not be reached.
pub const EXIT_UNREACHABLE: i32 = 4;
/// Interrupted (Ctrl-C) before every planned change ran: 128 + SIGINT, as shells report it.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Hosts worked on at once.
pub const PARALLEL_HOSTS: usize = 8;

/// How the commands reach a host; tests pass a fake.
pub type Connector<'a> =
    dyn Fn(&Site, &Host) -> Result<Box<dyn Transport>, TransportError> + Sync + 'a;

pub fn ssh_connector(site: &Site, host: &Host) -> Result<Box<dyn Transport>, TransportError> {
    Ok(Box::new(crate::transport::ssh::connect(
        &site.target(host),
    )?))
}

/// Output streams, so tests can capture them.
pub struct Io<'a> {
    pub out: &'a mut (dyn Write + Send),
    pub err: &'a mut (dyn Write + Send),
    /// Whether a person can answer a question on stdin.
    pub interactive: bool,
    pub style: Style,
    /// Set when the operator interrupts (Ctrl-C): `apply` lets each host finish
    /// the step it runs and starts no other.
    pub interrupted: &'a std::sync::atomic::AtomicBool,
    /// Called once `apply` starts changing hosts: from then on a first Ctrl-C
    /// sets `interrupted` instead of killing the run (the binary installs the
    /// signal handler here; before, Ctrl-C simply stops stackprov).
    pub arm_interrupt: fn(),
}

pub fn run(cli: &Cli, connect: &Connector<'_>, io: &mut Io<'_>) -> i32 {
    let r = match &cli.command {
        Command::Validate { site } => validate(site, cli.format, io),
        Command::Schema => {
            let _ = writeln!(
                io.out,
                "{}",
                serde_json::to_string_pretty(&crate::schema::site_schema()).unwrap_or_default()
            );
            Ok(EXIT_OK)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "stackprov", io.out);
            Ok(EXIT_OK)
        }
        Command::Facts { site, host, save } => facts_cmd(
            site,
            host.as_deref(),
            save.as_deref(),
            cli.format,
            connect,
            io,
        ),
        Command::Plan {
            site,
            facts,
            out,
            detailed_exitcode,
            host,
        } => plan_cmd(
            site,
            facts.as_deref(),
            out.as_deref(),
            *detailed_exitcode,
            host.as_deref(),
            cli.format,
            connect,
            io,
        ),
        Command::Verify { site, host } => {
            verify_cmd(site, host.as_deref(), cli.format, connect, io)
        }
        Command::Apply {
            target,
            site,
            host,
            yes,
        } => apply_cmd(
            target,
            site.as_deref(),
            host.as_deref(),
            *yes,
            cli.format,
            connect,
            io,
        ),
    };
    match r {
        Ok(code) => code,
        Err(msg) => {
            let _ = writeln!(io.err, "error: {msg}");
            EXIT_ERROR
        }
    }
}

fn print_diags(diags: &[Diagnostic], format: Format, io: &mut Io<'_>) {
    if format == Format::Json {
        let _ = writeln!(
            io.out,
            "{}",
            serde_json::json!({"valid": false, "errors": diags})
        );
    } else {
        for d in diags {
            let _ = writeln!(io.err, "{d}");
        }
        let _ = writeln!(io.err, "{} error(s)", diags.len());
    }
}

fn load_site(path: &Path, format: Format, io: &mut Io<'_>) -> Result<Site, i32> {
    Site::load(path).map_err(|d| {
        print_diags(&d, format, io);
        EXIT_ERROR
    })
}

fn validate(path: &Path, format: Format, io: &mut Io<'_>) -> Result<i32, String> {
    let site = match load_site(path, format, io) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let store = match SecretStore::load(&site.secrets_file) {
        Ok(s) => s,
        Err(d) => {
            print_diags(&[d], format, io);
            return Ok(EXIT_ERROR);
        }
    };
    // the roles' files as they would be on a Debian host: enough to see where each secret lands
    let stand_in = crate::facts::parse_os("ID=debian\nVERSION_ID=12\nSTACKPROV_INIT=systemd\n")?;
    for h in &site.hosts {
        let resources = engine::desired(&site, h, &stand_in).map_err(|e| e.to_string())?;
        if let Err(e) = crate::planner::check_secret_values(&resources, &store) {
            let _ = writeln!(io.err, "{}: {e}", site.secrets_file.display());
            return Ok(EXIT_ERROR);
        }
    }
    if format == Format::Json {
        let _ = writeln!(
            io.out,
            "{}",
            serde_json::json!({"valid": true, "hosts": site.hosts.len()})
        );
    } else {
        let _ = writeln!(
            io.out,
            "{}: valid ({} host(s), release {})",
            path.display(),
            site.hosts.len(),
            site.release
        );
    }
    Ok(EXIT_OK)
}

/// Run `f` for each item on up to PARALLEL_HOSTS threads, keeping order.
fn parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new((0..n).map(|_| None).collect::<Vec<Option<R>>>());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL_HOSTS.min(n) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some((i, item)) = next else { break };
                    let r = f(item);
                    if let Ok(mut res) = results.lock() {
                        res[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// A host on its way through the pipeline.
struct Work {
    host: Host,
    transport: Box<dyn Transport>,
    resources: Vec<Resource>,
    os: crate::facts::OsFacts,
    /// HTTP requests spent reading facts (the Keystone catalog).
    http_requests: u64,
    started: std::time::Instant,
}

/// A host that dropped out, and why.
struct Dropped {
    host: String,
    error: EngineError,
}

fn select_hosts(site: &Site, only: Option<&str>) -> Result<Vec<Host>, String> {
    match only {
        None => Ok(site.hosts.clone()),
        Some(name) => match site.host(name) {
            Some(h) => Ok(vec![h.clone()]),
            None => {
                let names: Vec<&str> = site.hosts.iter().map(|h| h.name.as_str()).collect();
                let hint = crate::diag::did_you_mean(name, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("hosts: {}", names.join(", ")));
                Err(format!(
                    "no host `{name}` in {}; {hint}",
                    site.path.display()
                ))
            }
        },
    }
}

/// Connect, find the OS, build the desired state.
fn prepare(site: &Site, hosts: Vec<Host>, connect: &Connector<'_>) -> (Vec<Work>, Vec<Dropped>) {
    let results = parallel(hosts, |host| {
        let name = host.name.clone();
        let r = (|| {
            let mut t = connect(site, &host)?;
            let os = engine::os_facts(t.as_mut())?;
            let resources = engine::desired(site, &host, &os)?;
            Ok::<_, EngineError>(Work {
                host,
                transport: t,
                resources,
                os,
                http_requests: 0,
                started: std::time::Instant::now(),
            })
        })();
        r.map_err(|error| Dropped { host: name, error })
    });
    split(results)
}

/// [`prepare`], then the secrets every prepared host's roles need.
fn prepare_with_secrets(
    site: &Site,
    hosts: Vec<Host>,
    connect: &Connector<'_>,
) -> Result<(Vec<Work>, Vec<Dropped>, SecretStore), String> {
    let (works, dropped) = prepare(site, hosts, connect);
    let lists: Vec<&[Resource]> = works.iter().map(|w| w.resources.as_slice()).collect();
    let secrets = secrets_for(site, &lists)?;
    Ok((works, dropped, secrets))
}

fn split<A, B>(v: Vec<Result<A, B>>) -> (Vec<A>, Vec<B>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for r in v {
        match r {
            Ok(x) => a.push(x),
            Err(e) => b.push(e),
        }
    }
    (a, b)
}

/// Load the secrets file and generate what the resources need (saved at once).
fn secrets_for(site: &Site, works: &[&[Resource]]) -> Result<SecretStore, String> {
    let mut store = SecretStore::load(&site.secrets_file).map_err(|d| d.to_string())?;
    let mut names = std::collections::BTreeSet::new();
    for r in works {
        names.extend(crate::planner::secret_names(r));
    }
    let made = store
        .ensure(names.iter().map(String::as_str))
        .map_err(|e| e.to_string())?;
    if !made.is_empty() {
        store.path = site.secrets_file.clone();
        store.save().map_err(|e| e.to_string())?;
        tracing::info!(
            "generated {} secret(s) in {}",
            made.len(),
            site.secrets_file.display()
        );
    }
    for r in works {
        crate::planner::check_secret_values(r, &store)
            .map_err(|e| format!("{}: {e}", site.secrets_file.display()))?;
    }
    Ok(store)
}

fn exit_for_dropped(dropped: &[Dropped]) -> i32 {
    if dropped.iter().any(|d| matches!(&d.error, EngineError::Transport(t) if t.kind == TransportErrorKind::Unreachable)) {
        EXIT_UNREACHABLE
    } else if dropped.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    }
}

fn report_dropped(dropped: &[Dropped], masker: &Masker, io: &mut Io<'_>) {
    for d in dropped {
        let what = match &d.error {
            EngineError::Transport(t) if t.kind == TransportErrorKind::Unreachable => "unreachable",
            _ => "failed",
        };
        let _ = writeln!(
            io.err,
            "{}: {what}: {}",
            d.host,
            masker.mask(&d.error.to_string())
        );
    }
}

#[derive(Serialize, Deserialize)]
struct SavedFacts {
    format: u32,
    site: String,
    hosts: BTreeMap<String, Facts>,
}

fn facts_cmd(
    path: &Path,
    only: Option<&str>,
    save: Option<&Path>,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<i32, String> {
    let site = match load_site(path, format, io) {
        Ok(s) => s,
        Err(c) => return Ok(c),
    };
    let (works, dropped, secrets) =
        prepare_with_secrets(&site, select_hosts(&site, only)?, connect)?;
    let masker = secrets.masker();
    let gathered = parallel(works, |mut w| {
        let f = engine::gather(w.transport.as_mut(), &w.os, &w.resources, &secrets);
        f.map(|f| {
            (
                w.host.name.clone(),
                engine::facts_for_saving(&f, &masker, &w.resources),
            )
        })
        .map_err(|error| Dropped {
            host: w.host.name,
            error,
        })
    });
    let (ok, mut more) = split(gathered);
    let mut dropped = dropped;
    dropped.append(&mut more);
    let saved = SavedFacts {
        format: PLAN_FORMAT,
        site: site.name.clone(),
        hosts: ok.into_iter().collect(),
    };
    let json = serde_json::to_string_pretty(&saved).map_err(|e| e.to_string())?;
    if let Some(p) = save {
        crate::atomic_file::write_private(p, json.as_bytes()).map_err(|e| e.to_string())?;
        let _ = writeln!(
            io.err,
            "facts for {} host(s) saved to {}",
            saved.hosts.len(),
            p.display()
        );
    }
    if format == Format::Json || save.is_none() {
        if format == Format::Json {
            let _ = writeln!(io.out, "{json}");
        } else {
            for (name, f) in &saved.hosts {
                let text = render::facts_text(name, f, io.style);
                let _ = write!(io.out, "{}", masker.mask(&text));
            }
        }
    }
    report_dropped(&dropped, &masker, io);
    Ok(exit_for_dropped(&dropped))
}

/// Plans for every reachable host, plus the hosts that dropped out.
struct Planned {
    plans: Vec<(HostPlan, usize)>,
    /// Kept open for apply.
    works: Vec<Work>,
    dropped: Vec<Dropped>,
    secrets: SecretStore,
}

fn make_plans(site: &Site, hosts: Vec<Host>, connect: &Connector<'_>) -> Result<Planned, String> {
    let (works, dropped, secrets) = prepare_with_secrets(site, hosts, connect)?;
    let masker = secrets.masker();
    let results = parallel(works, |mut w| {
        let r = engine::gather(w.transport.as_mut(), &w.os, &w.resources, &secrets).and_then(|f| {
            w.http_requests = f.http_requests;
            engine::plan(&w.host.name, &w.resources, &f, &secrets, &masker)
        });
        match r {
            Ok(p) => Ok((p, w)),
            Err(error) => Err(Dropped {
                host: w.host.name,
                error,
            }),
        }
    });
    let (ok, mut more) = split(results);
    let mut dropped = dropped;
    dropped.append(&mut more);
    let mut plans = Vec::new();
    let mut works = Vec::new();
    for (p, w) in ok {
        plans.push((p, w.resources.len()));
        works.push(w);
    }
    Ok(Planned {
        plans,
        works,
        dropped,
        secrets,
    })
}

fn new_plan(site: &Site, hosts: Vec<HostPlan>) -> Plan {
    let site_file = std::fs::canonicalize(&site.path).unwrap_or_else(|_| site.path.clone());
    Plan {
        format: PLAN_FORMAT,
        site: site.name.clone(),
        site_file: site_file.display().to_string(),
        release: site.release.name().to_string(),
        hosts,
    }
}

fn print_plan(plan: &Plan, format: Format, io: &mut Io<'_>) {
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

#[allow(clippy::too_many_arguments)]
fn plan_cmd(
    path: &Path,
    saved_facts: Option<&Path>,
    out: Option<&Path>,
    detailed: bool,
    only: Option<&str>,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<i32, String> {
    let site = match load_site(path, format, io) {
        Ok(s) => s,
        Err(c) => return Ok(c),
    };
    let hosts = select_hosts(&site, only)?;
    let (plans, dropped, masker) = match saved_facts {
        Some(file) => {
            let (plans, secrets) = offline_plans(&site, hosts, file)?;
            (plans, Vec::new(), secrets.masker())
        }
        None => {
            let p = make_plans(&site, hosts, connect)?;
            let masker = p.secrets.masker();
            (
                p.plans.into_iter().map(|(p, _)| p).collect(),
                p.dropped,
                masker,
            )
        }
    };
    let plan = new_plan(&site, plans);
    print_plan(&plan, format, io);
    if let Some(o) = out {
        let json = serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?;
        crate::atomic_file::write_private(o, json.as_bytes()).map_err(|e| e.to_string())?;
        let _ = writeln!(
            io.err,
            "plan saved to {}; run `stackprov apply {}` to execute it",
            o.display(),
            o.display()
        );
    }
    report_dropped(&dropped, &masker, io);
    let code = exit_for_dropped(&dropped);
    if code != EXIT_OK {
        return Ok(code);
    }
    Ok(if detailed && plan.change_count() > 0 {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn offline_plans(
    site: &Site,
    hosts: Vec<Host>,
    file: &Path,
) -> Result<(Vec<HostPlan>, SecretStore), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let saved: SavedFacts = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a facts file from `stackprov facts --save`: {e}",
            file.display()
        )
    })?;
    let mut prepared = Vec::new();
    for h in hosts {
        let Some(f) = saved.hosts.get(&h.name) else {
            return Err(format!(
                "{} has no facts for host `{}`; run `stackprov facts {} --save {}`",
                file.display(),
                h.name,
                site.path.display(),
                file.display()
            ));
        };
        let resources = engine::desired(site, &h, &f.os).map_err(|e| e.to_string())?;
        prepared.push((h, resources, f.clone()));
    }
    let lists: Vec<&[Resource]> = prepared.iter().map(|p| p.1.as_slice()).collect();
    let secrets = secrets_for(site, &lists)?;
    let masker = secrets.masker();
    let mut plans = Vec::new();
    for (h, resources, f) in prepared {
        let q = crate::planner::query(&resources);
        if !query_covered(&f.query, &q) {
            return Err(format!(
                "the facts in {} for `{}` were gathered for a different site file; run `stackprov facts {} --save {}` again",
                file.display(),
                h.name,
                site.path.display(),
                file.display()
            ));
        }
        let facts = engine::facts_from_saved(f, &secrets).map_err(|e| e.to_string())?;
        plans.push(
            engine::plan(&h.name, &resources, &facts, &secrets, &masker)
                .map_err(|e| e.to_string())?,
        );
    }
    Ok((plans, secrets))
}

fn query_covered(have: &crate::facts::FactQuery, need: &crate::facts::FactQuery) -> bool {
    need.packages.is_subset(&have.packages)
        && need
            .stats
            .iter()
            .all(|p| have.stats.contains(p) || have.contents.contains(p))
        && need.contents.is_subset(&have.contents)
        && need.services.is_subset(&have.services)
        && need.checks.is_subset(&have.checks)
        && (!need.sql || have.sql)
}

fn confirm(io: &mut Io<'_>, yes: bool) -> Result<bool, String> {
    if yes {
        return Ok(true);
    }
    if !io.interactive {
        return Err("refusing to apply without confirmation: no terminal to ask on; pass -y to apply non-interactively".into());
    }
    let _ = write!(io.err, "Apply these changes? Only 'yes' is accepted: ");
    let _ = io.err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(answer.trim() == "yes")
}

fn apply_cmd(
    target: &Path,
    site_arg: Option<&Path>,
    only: Option<&str>,
    yes: bool,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<i32, String> {
    let saved: Option<Plan> = if target.extension().is_some_and(|e| e == "json") {
        let text =
            std::fs::read_to_string(target).map_err(|e| format!("{}: {e}", target.display()))?;
        let plan: Plan = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a plan saved by `stackprov plan --out`: {e}",
                target.display()
            )
        })?;
        if plan.format != PLAN_FORMAT {
            return Err(format!(
                "{}: plan format {} is not {PLAN_FORMAT}; make the plan again with this stackprov",
                target.display(),
                plan.format
            ));
        }
        Some(plan)
    } else {
        None
    };
    let site_path: PathBuf = match (&saved, site_arg) {
        (_, Some(p)) => p.to_path_buf(),
        (Some(p), None) => PathBuf::from(&p.site_file),
        (None, None) => target.to_path_buf(),
    };
    let site = match load_site(&site_path, format, io) {
        Ok(s) => s,
        Err(c) => return Ok(c),
    };
    let mut hosts = select_hosts(&site, only)?;
    if let Some(p) = &saved {
        hosts.retain(|h| p.hosts.iter().any(|hp| hp.host == h.name));
    }
    let planned = make_plans(&site, hosts, connect)?;
    let masker = planned.secrets.masker();
    let mut plans: Vec<(HostPlan, usize)> = planned.plans;
    if let Some(saved) = &saved {
        for (p, _) in plans.iter_mut() {
            let Some(old) = saved.hosts.iter().find(|h| h.host == p.host) else {
                continue;
            };
            if old.facts_digest != p.facts_digest {
                return Err(format!(
                    "host `{}` has changed since {} was made (its facts differ); run `stackprov plan` again",
                    p.host,
                    target.display()
                ));
            }
            *p = old.clone();
        }
    }
    let plan = new_plan(&site, plans.iter().map(|(p, _)| p.clone()).collect());
    if format == Format::Human {
        print_plan(&plan, format, io);
    }
    report_dropped(&planned.dropped, &masker, io);
    let dropped_code = exit_for_dropped(&planned.dropped);
    if plan.change_count() == 0 {
        let recaps: Vec<Recap> = planned
            .works
            .iter()
            .zip(&plans)
            .map(|(w, (_, n))| recap_ok(w, *n))
            .chain(planned.dropped.iter().map(recap_dropped))
            .collect();
        finish(&recaps, format, io);
        return Ok(dropped_code);
    }
    if !confirm(io, yes)? {
        let _ = writeln!(io.err, "Apply cancelled.");
        return Ok(EXIT_ERROR);
    }
    let secrets = &planned.secrets;
    let style = io.style;
    let human = format == Format::Human;
    let stop = io.interrupted;
    (io.arm_interrupt)();
    let live = render::Live::new(&mut *io.out, style);
    let jobs: Vec<(Work, (HostPlan, usize))> = planned.works.into_iter().zip(plans).collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    let recaps = std::thread::scope(|s| {
        if human && style.live {
            s.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    live.tick();
                }
            });
        }
        let recaps = parallel(jobs, |(mut w, (hp, n))| {
            let name = w.host.name.clone();
            let mut on_event = |e: apply::Event<'_>| {
                if !human {
                    return;
                }
                match e {
                    apply::Event::Start(c) => {
                        live.start(&name, format!("{} {}", c.action.symbol(), c.id))
                    }
                    apply::Event::Done(c, d) => live.line(
                        &name,
                        &format!(
                            "{name}: {} {} ({:.1}s)",
                            style.action(c.action),
                            c.id,
                            d.as_secs_f64()
                        ),
                    ),
                    apply::Event::Failed(c, _) => {
                        live.line(&name, &format!("{name}: {} {}", style.red("failed"), c.id))
                    }
                }
            };
            let outcome = apply::apply_host(
                w.transport.as_mut(),
                &hp,
                secrets,
                &masker,
                stop,
                &mut on_event,
            );
            let mut recap = Recap::from_outcome(&outcome, n, w.transport.stats());
            recap.http_requests += w.http_requests;
            recap.seconds = w.started.elapsed().as_secs_f64();
            if let Some(f) = &outcome.failure {
                recap.unreachable = f.unreachable;
            }
            recap
        });
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        recaps
    });
    live.finish();
    drop(live);
    let mut recaps = recaps;
    recaps.extend(planned.dropped.iter().map(recap_dropped));
    finish(&recaps, format, io);
    let skipped: usize = recaps.iter().map(|r| r.skipped).sum();
    if skipped > 0 {
        let _ = writeln!(
            io.err,
            "Interrupted: {skipped} planned change(s) did not run; `stackprov apply` again finishes them."
        );
    }
    Ok(if recaps.iter().any(|r| r.unreachable) {
        EXIT_UNREACHABLE
    } else if recaps.iter().any(|r| r.failed > 0 || r.error.is_some()) {
        EXIT_ERROR
    } else if skipped > 0 {
        EXIT_INTERRUPTED
    } else {
        EXIT_OK
    })
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
        failure: None,
        error: None,
    }
}

fn recap_dropped(d: &Dropped) -> Recap {
    let unreachable =
        matches!(&d.error, EngineError::Transport(t) if t.kind == TransportErrorKind::Unreachable);
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
        failure: None,
        error: Some(d.error.to_string()),
    }
}

fn finish(recaps: &[Recap], format: Format, io: &mut Io<'_>) {
    if format == Format::Json {
        let _ = writeln!(io.out, "{}", serde_json::json!({"recap": recaps}));
    } else {
        let _ = write!(io.out, "{}", render::recap_text(recaps, io.style));
    }
}

fn verify_cmd(
    path: &Path,
    only: Option<&str>,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<i32, String> {
    let site = match load_site(path, format, io) {
        Ok(s) => s,
        Err(c) => return Ok(c),
    };
    let mut hosts = select_hosts(&site, only)?;
    hosts.retain(|h| h.has_role("keystone"));
    if hosts.is_empty() {
        return Err(format!(
            "no host with role `keystone` to verify in {}",
            site.path.display()
        ));
    }
    let (works, dropped, secrets) = prepare_with_secrets(&site, hosts, connect)?;
    let masker = secrets.masker();
    report_dropped(&dropped, &masker, io);
    let mut all_ok = dropped.is_empty();
    let mut reports = Vec::new();
    for mut w in works {
        let admin = w.resources.iter().find_map(|r| match &r.kind {
            crate::resource::Kind::KeystoneApi { admin } => Some(admin.clone()),
            _ => None,
        });
        let Some(admin) = admin else {
            return Err(format!(
                "host `{}`: its roles declare no keystone_api",
                w.host.name
            ));
        };
        let glance_port = w
            .resources
            .iter()
            .find_map(|r| match &r.kind {
                crate::resource::Kind::KeystoneEndpoint {
                    service_type, url, ..
                } if service_type == "image" => url
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.trim_end_matches('/').parse().ok()),
                _ => None,
            })
            .unwrap_or(9292);
        let (checks, http) =
            crate::verify::run(w.transport.as_mut(), &admin, glance_port, &secrets);
        all_ok &= checks.iter().all(|c| c.ok);
        if format == Format::Human {
            let _ = writeln!(
                io.out,
                "{}",
                io.style.bold(&format!("{}: verify", w.host.name))
            );
            for c in &checks {
                let mark = if c.ok {
                    io.style.green("ok  ")
                } else {
                    io.style.red("FAIL")
                };
                let _ = writeln!(
                    io.out,
                    "  {mark} {:22} {:>6.2}s  {}",
                    c.name,
                    c.seconds,
                    masker.mask(&c.detail)
                );
            }
            let _ = writeln!(
                io.out,
                "  {} HTTP request(s), {} SSH round trip(s)",
                http.requests,
                w.transport.stats().round_trips
            );
        }
        reports.push(serde_json::json!({"host": w.host.name, "checks": checks, "http_requests": http.requests, "transport": w.transport.stats()}));
    }
    if format == Format::Json {
        let _ = writeln!(
            io.out,
            "{}",
            masker.mask(&serde_json::json!({"verify": reports, "ok": all_ok}).to_string())
        );
    }
    Ok(
        if !all_ok && exit_for_dropped(&dropped) == EXIT_UNREACHABLE {
            EXIT_UNREACHABLE
        } else if all_ok {
            EXIT_OK
        } else {
            EXIT_ERROR
        },
    )
}
