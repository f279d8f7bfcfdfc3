//! `stackprov verify SITE`: prove each Keystone host works the way an
//! operator would (token, users, an image round trip), each check timed.

use super::{Io, load_site};
use crate::cli::Format;
use crate::desired::resource::Kind;
use crate::error::{Error, Status};
use crate::pipeline::{self, Connector};
use std::path::Path;

pub fn run(
    path: &Path,
    only: Option<&str>,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<Status, Error> {
    let site = load_site(path, io)?;
    let mut hosts = pipeline::select_hosts(&site, only)?;
    hosts.retain(|h| h.has_role("keystone"));
    if hosts.is_empty() {
        return Err(Error::NothingToVerify(site.path.clone()));
    }
    let (works, dropped, secrets) = pipeline::prepare_with_secrets(&site, hosts, connect)?;
    super::warn_weak(&secrets, io);
    let masker = secrets.masker();
    pipeline::report_dropped(&dropped, &masker, io.err);
    let mut all_ok = true;
    let mut reports = Vec::new();
    for mut w in works {
        let admin = w.resources.iter().find_map(|r| match &r.kind {
            Kind::KeystoneApi { admin } => Some(admin.clone()),
            _ => None,
        });
        let Some(admin) = admin else {
            return Err(Error::NoKeystoneApi(w.host.name.clone()));
        };
        let (checks, http) = crate::verify::run(
            w.transport.as_mut(),
            &admin,
            glance_port(&w.resources),
            &secrets,
        );
        all_ok &= checks.iter().all(|c| c.ok);
        let stats = w.transport.stats();
        if format == Format::Human {
            let text =
                crate::render::verify_text(&w.host.name, &checks, http.requests, stats, io.style);
            let _ = write!(io.out, "{}", masker.mask(&text));
        }
        reports.push(serde_json::json!({"host": w.host.name, "checks": checks, "http_requests": http.requests, "transport": stats}));
    }
    if format == Format::Json {
        let _ = writeln!(
            io.out,
            "{}",
            masker.mask(
                &serde_json::json!({
                    "verify": reports,
                    "ok": all_ok && dropped.is_empty(),
                    "unverified": pipeline::dropped_hosts(&dropped, &masker),
                })
                .to_string()
            )
        );
    }
    let checks = if all_ok {
        Status::Success
    } else {
        Status::Failed
    };
    Ok(checks.and(pipeline::status_of_dropped(&dropped)))
}

/// The port of the image endpoint the roles register (9292 unless they say otherwise).
fn glance_port(resources: &[crate::desired::resource::Resource]) -> u16 {
    resources
        .iter()
        .find_map(|r| match &r.kind {
            Kind::KeystoneEndpoint {
                service_type, url, ..
            } if service_type == "image" => url
                .rsplit(':')
                .next()
                .and_then(|p| p.trim_end_matches('/').parse().ok()),
            _ => None,
        })
        .unwrap_or(9292)
}
