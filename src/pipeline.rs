//! Per host, in parallel (bounded): connect → OS facts → desired resources →
//! the secrets they need → facts → plan. The commands build on this.

use crate::desired::resource::Resource;
use crate::engine::{self, EngineError};
use crate::error::{Error, Status};
use crate::facts::OsFacts;
use crate::plan::{HostPlan, PLAN_FORMAT, Plan};
use crate::secrets::Masker;
use crate::secrets::SecretStore;
use crate::site::{Host, Site};
use crate::transport::{Transport, TransportError, TransportErrorKind};
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Hosts worked on at once.
pub const PARALLEL_HOSTS: usize = 8;

/// How the commands reach a host; tests pass a fake.
pub type Connector<'a> =
    dyn Fn(&Site, &Host) -> Result<Box<dyn Transport>, TransportError> + Sync + 'a;

/// Run `f` for each item on up to PARALLEL_HOSTS threads, keeping order.
pub fn parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
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
pub struct Work {
    pub host: Host,
    pub transport: Box<dyn Transport>,
    pub resources: Vec<Resource>,
    pub os: OsFacts,
    /// HTTP requests spent reading facts (the Keystone catalog).
    pub http_requests: u64,
    pub started: Instant,
}

/// A host that dropped out, and why.
pub struct Dropped {
    pub host: String,
    pub error: EngineError,
}

impl Dropped {
    pub fn unreachable(&self) -> bool {
        match &self.error {
            EngineError::Transport(t) => t.kind == TransportErrorKind::Unreachable,
            EngineError::Api(e) => e.is_unreachable(),
            _ => false,
        }
    }
}

/// What the hosts that dropped out mean for the command's outcome.
pub fn status_of_dropped(dropped: &[Dropped]) -> Status {
    if dropped.iter().any(Dropped::unreachable) {
        Status::Unreachable
    } else if dropped.is_empty() {
        Status::Success
    } else {
        Status::Failed
    }
}

/// One line per host that dropped out, on stderr.
pub fn report_dropped(dropped: &[Dropped], masker: &Masker, err: &mut dyn Write) {
    for d in dropped {
        let what = if d.unreachable() {
            "unreachable"
        } else {
            "failed"
        };
        let _ = writeln!(
            err,
            "{}: {what}: {}",
            d.host,
            masker.mask(&d.error.to_string())
        );
    }
}

/// The site's hosts, or the one `only` names.
pub fn select_hosts(site: &Site, only: Option<&str>) -> Result<Vec<Host>, Error> {
    match only {
        None => Ok(site.hosts.clone()),
        Some(name) => match site.host(name) {
            Some(h) => Ok(vec![h.clone()]),
            None => {
                let names: Vec<&str> = site.hosts.iter().map(|h| h.name.as_str()).collect();
                let hint = crate::site::diagnostic::did_you_mean(name, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("hosts: {}", names.join(", ")));
                Err(Error::NoSuchHost {
                    name: name.to_string(),
                    site: site.path.clone(),
                    hint,
                })
            }
        },
    }
}

/// Connect, find the OS, build the desired state.
pub fn prepare(
    site: &Site,
    hosts: Vec<Host>,
    connect: &Connector<'_>,
) -> (Vec<Work>, Vec<Dropped>) {
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
                started: Instant::now(),
            })
        })();
        r.map_err(|error| Dropped { host: name, error })
    });
    split(results)
}

/// [`prepare`], then the secrets every prepared host's roles need.
pub fn prepare_with_secrets(
    site: &Site,
    hosts: Vec<Host>,
    connect: &Connector<'_>,
) -> Result<(Vec<Work>, Vec<Dropped>, SecretStore), Error> {
    let (works, dropped) = prepare(site, hosts, connect);
    let lists: Vec<&[Resource]> = works.iter().map(|w| w.resources.as_slice()).collect();
    let secrets = secrets_for(site, &lists)?;
    Ok((works, dropped, secrets))
}

pub fn split<A, B>(v: Vec<Result<A, B>>) -> (Vec<A>, Vec<B>) {
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
pub fn secrets_for(site: &Site, works: &[&[Resource]]) -> Result<SecretStore, Error> {
    let mut store =
        SecretStore::load(&site.secrets_file).map_err(|d| Error::SecretsFile(Box::new(d)))?;
    let mut names = std::collections::BTreeSet::new();
    for r in works {
        names.extend(crate::planner::secret_names(r));
    }
    let made = store.ensure(names.iter().map(String::as_str))?;
    if !made.is_empty() {
        store.path = site.secrets_file.clone();
        store.save()?;
        tracing::info!(
            "generated {} secret(s) in {}",
            made.len(),
            site.secrets_file.display()
        );
    }
    for r in works {
        crate::planner::check_secret_values(r, &store)
            .map_err(|e| Error::Secrets(format!("{}: {e}", site.secrets_file.display())))?;
    }
    Ok(store)
}

/// Plans for every reachable host, plus the hosts that dropped out.
pub struct Planned {
    /// Each host's plan and how many resources it has.
    pub plans: Vec<(HostPlan, usize)>,
    /// Kept open for apply.
    pub works: Vec<Work>,
    pub dropped: Vec<Dropped>,
    pub secrets: SecretStore,
}

/// Facts and a plan for each host, over its own connection.
pub fn make_plans(
    site: &Site,
    hosts: Vec<Host>,
    connect: &Connector<'_>,
) -> Result<Planned, Error> {
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

/// The whole plan of a site, from its hosts' plans.
pub fn new_plan(site: &Site, hosts: Vec<HostPlan>) -> Plan {
    let site_file = std::fs::canonicalize(&site.path).unwrap_or_else(|_| site.path.clone());
    Plan {
        format: PLAN_FORMAT,
        site: site.name.clone(),
        site_file: site_file.display().to_string(),
        release: site.release.name().to_string(),
        hosts,
    }
}
