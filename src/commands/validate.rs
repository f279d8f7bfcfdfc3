//! `stackprov validate SITE`: the site file and its secrets, checked offline.

use super::{Io, load_site};
use crate::cli::Format;
use crate::desired::DesiredError;
use crate::desired::STAND_INS;
use crate::error::{Error, Status};
use crate::facts::OsFacts;
use crate::model::diagnostic::Diagnostic;
use crate::pipeline;
use crate::secrets::SecretStore;
use crate::site::Site;
use std::path::Path;

pub fn run(path: &Path, format: Format, io: &mut Io<'_>) -> Result<Status, Error> {
    let site = load_site(path, io)?;
    let store = SecretStore::load(&site.secrets_file).map_err(|d| Error::Site(vec![d]))?;
    super::warn_weak(&store, io);
    let stand_in = stand_in_os(&site)?;
    for h in &site.hosts {
        let resources = pipeline::desired(&site, h, &stand_in)?;
        // a finding of validate's, reported as such (not as an error of the command)
        if let Err(e) = crate::planner::check_secret_values(&resources, &store) {
            if format == Format::Json {
                let d = Diagnostic {
                    file: site.secrets_file.clone(),
                    line: 0,
                    col: 0,
                    path: String::new(),
                    message: e.to_string(),
                    hint: None,
                };
                let _ = writeln!(
                    io.out,
                    "{}",
                    serde_json::json!({"valid": false, "errors": [d]})
                );
            } else {
                let _ = writeln!(
                    io.err,
                    "{}: {}",
                    crate::render::safe(&site.secrets_file.display().to_string()),
                    crate::render::safe(&e.to_string())
                );
            }
            return Ok(Status::Failed);
        }
    }
    if format == Format::Json {
        let _ = writeln!(
            io.out,
            "{}",
            if site.warnings.is_empty() {
                serde_json::json!({"valid": true, "hosts": site.hosts.len()})
            } else {
                serde_json::json!({"valid": true, "hosts": site.hosts.len(), "warnings": site.warnings})
            }
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
    Ok(Status::Success)
}

/// The first stand-in OS with packages for the site's release; when none has
/// them, the newest one's refusal, which names the releases it does have.
fn stand_in_os(site: &Site) -> Result<OsFacts, Error> {
    let mut first_refusal = None;
    for text in STAND_INS {
        let os = crate::facts::parse_os(text).map_err(crate::error::HostError::from)?;
        match crate::desired::profile::for_host(&os, site.release) {
            Ok(_) => return Ok(os),
            Err(e) => {
                first_refusal.get_or_insert(e);
            }
        }
    }
    let refusal = first_refusal.unwrap_or(DesiredError::NoStandIn);
    Err(crate::error::HostError::from(refusal).into())
}
