//! `stackprov facts SITE`: what stackprov sees on each host, for people or
//! saved (secrets as placeholders) for offline plans.

use super::{Io, load_site, write_output};
use crate::cli::Format;
use crate::error::{Error, Status};
use crate::facts::saved::SavedFacts;
use crate::pipeline::{self, Connector, Dropped};
use crate::plan::PLAN_FORMAT;
use crate::render;
use std::path::Path;

pub fn run(
    path: &Path,
    only: Option<&str>,
    save: Option<&Path>,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<Status, Error> {
    let site = load_site(path, io)?;
    let hosts = pipeline::select_hosts(&site, only)?;
    let (works, dropped, secrets) = pipeline::prepare_with_secrets(&site, hosts, connect)?;
    super::warn_weak(&secrets, io);
    let masker = secrets.masker();
    let gathered = pipeline::parallel(site.forks(), works, |mut w| {
        let f = pipeline::gather(w.transport.as_mut(), &w.os, &w.resources, &secrets);
        f.map(|f| {
            (
                w.host.name.clone(),
                pipeline::facts_for_saving(&f, &masker, &w.resources),
            )
        })
        .map_err(|error| Dropped {
            host: w.host.name,
            error,
        })
    });
    let (ok, mut more) = pipeline::split(gathered);
    let mut dropped = dropped;
    dropped.append(&mut more);
    let saved = SavedFacts {
        format: PLAN_FORMAT,
        site: site.name.clone(),
        hosts: ok.into_iter().collect(),
    };
    let json = serde_json::to_string_pretty(&saved).unwrap_or_default();
    if let Some(p) = save {
        write_output(&site, p, &json, &[])?;
        let _ = writeln!(
            io.err,
            "facts for {} host(s) saved to {}",
            saved.hosts.len(),
            p.display()
        );
    }
    if format == Format::Json {
        // the saved document, plus the hosts whose facts could not be read
        if dropped.is_empty() {
            let _ = writeln!(io.out, "{json}");
        } else {
            let mut doc = serde_json::to_value(&saved).unwrap_or_default();
            doc["unread"] = serde_json::json!(pipeline::dropped_hosts(&dropped, &masker));
            let _ = writeln!(
                io.out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            );
        }
    } else if save.is_none() {
        for (name, f) in &saved.hosts {
            let text = render::facts_text(name, f, io.style);
            let _ = write!(io.out, "{}", masker.mask(&text));
        }
    }
    pipeline::report_dropped(&dropped, &masker, io.err);
    Ok(pipeline::status_of_dropped(&dropped))
}
