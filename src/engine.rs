//! One host's pipeline: OS facts → desired resources → facts → plan, and the
//! saved-facts round trip. Everything goes through a `Transport`.

use crate::desired::resource::Resource;
use crate::facts::{self, Facts, OsFacts};
use crate::openstack::http::HttpStats;
use crate::plan::HostPlan;
use crate::planner;
use crate::secrets::{Masker, SecretStore};
use crate::site::{Host, Site};
use crate::transport::{ExecRequest, Transport, TransportError};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Transport(#[from] TransportError),
    #[error("{0}")]
    Api(#[from] crate::openstack::error::ApiError),
    #[error("{0}")]
    Desired(#[from] crate::desired::DesiredError),
    #[error("{0}")]
    Facts(#[from] crate::facts::FactsError),
    #[error("{0}")]
    Plan(#[from] planner::PlanError),
    #[error("{0}")]
    Secret(#[from] crate::secrets::PlaceholderError),
}

/// First round trip: which OS (and so which profile) the host runs.
pub fn os_facts(t: &mut dyn Transport) -> Result<OsFacts, EngineError> {
    let out = t.exec(&ExecRequest::new(facts::OS_SCRIPT).timeout(Duration::from_secs(60)))?;
    Ok(facts::parse_os(&out.stdout_str())?)
}

/// The host's desired resources, from its roles.
pub fn desired(site: &Site, host: &Host, os: &OsFacts) -> Result<Vec<Resource>, EngineError> {
    Ok(crate::desired::playbook::desired(site, host, os)?.resources)
}

/// Second round trip: every fact the resources need, in one batched script.
pub fn gather(
    t: &mut dyn Transport,
    os: &OsFacts,
    resources: &[Resource],
    secrets: &SecretStore,
) -> Result<Facts, EngineError> {
    let q = planner::query(resources);
    let (script, stdin) = facts::script(os, &q);
    let stdin = match stdin {
        Some(s) => facts::encode_login_stdin(&crate::secrets::placeholder::resolve(&s, secrets)?),
        None => Vec::new(),
    };
    let out = t.exec(
        &ExecRequest::new(&script)
            .stdin(&stdin)
            .timeout(Duration::from_secs(120)),
    )?;
    let mut facts = facts::parse(os.clone(), &q, &out.stdout_str())?;
    if let Some(admin) = &q.catalog {
        let mut http = HttpStats::default();
        facts.catalog = Some(crate::openstack::keystone::gather(
            t,
            admin,
            &q.catalog_logins,
            secrets,
            &mut http,
        )?);
        tracing::info!("catalog read with {} HTTP request(s)", http.requests);
        facts.http_requests = http.requests;
    }
    Ok(facts)
}

pub fn plan(
    host: &str,
    resources: &[Resource],
    facts: &Facts,
    secrets: &SecretStore,
    masker: &Masker,
) -> Result<HostPlan, EngineError> {
    let inp = planner::Inputs {
        host,
        secrets,
        masker,
    };
    Ok(planner::plan_host(&inp, resources, facts)?)
}

/// Facts as saved to a file: file contents with secret placeholders.
/// Values the secrets file does not know (on lines where a template puts a
/// secret) are masked for good: such a file plans as changed, which it is.
pub fn facts_for_saving(f: &Facts, masker: &Masker, resources: &[Resource]) -> Facts {
    let mut f = f.clone();
    for (path, file) in f.files.iter_mut() {
        if let Some(c) = file.content.as_mut() {
            *c = masker.to_placeholders(c);
            for r in resources {
                if let crate::desired::resource::Kind::File {
                    path: p, content, ..
                } = &r.kind
                    && p == path
                {
                    *c = planner::mask_secret_lines(c, content);
                }
            }
        }
    }
    f
}

/// Saved facts back to what the host showed: placeholders resolved.
pub fn facts_from_saved(mut f: Facts, secrets: &SecretStore) -> Result<Facts, EngineError> {
    for file in f.files.values_mut() {
        if let Some(c) = file.content.as_mut() {
            *c = crate::secrets::placeholder::resolve(c, secrets)?;
        }
    }
    Ok(f)
}
