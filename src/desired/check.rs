//! The site file read by the roles' rules: their declarations (see
//! [`super::roles`]) and their checks of the finished site, what only the
//! playbooks can judge (which files the roles write, which options a release
//! removed), reported with the site file's own problems, all at once.

use super::removed;
use crate::model::Diagnostic;
use crate::model::diagnostic::{did_you_mean, short};
use crate::site::{Rules, Site};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Read and validate a site file by the shipped roles.
pub fn load_site(path: &Path) -> Result<Site, Vec<Diagnostic>> {
    let roles = super::roles::roles().map_err(|e| vec![broken(e)])?;
    Site::load(
        path,
        &Rules {
            roles,
            check: &site,
        },
    )
}

/// [`load_site`], of a site file's bytes.
pub fn site_from_bytes(path: &Path, bytes: &[u8]) -> Result<Site, Vec<Diagnostic>> {
    let roles = super::roles::roles().map_err(|e| vec![broken(e)])?;
    Site::from_bytes(
        path,
        bytes,
        &Rules {
            roles,
            check: &site,
        },
    )
}

/// A shipped playbook whose role header does not read (a defect of this build:
/// `desired::roles`'s tests read every header).
fn broken(e: super::DesiredError) -> Diagnostic {
    Diagnostic::new(
        Path::new("playbooks"),
        crate::yaml::Mark { line: 1, col: 1 },
        "",
        e.to_string(),
    )
}

/// Every problem the roles find in a site that is valid on its own.
pub fn site(site: &Site) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    override_targets(site, &mut out);
    out
}

/// A file a site's roles write on some host: whether overrides can edit it
/// (it is an INI file) and the role that writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideTarget {
    pub ini: bool,
    pub role: String,
}

/// Every file the site's roles write (`file`) or edit (`ini`), on any host,
/// on every OS that has packages for the site's release (see
/// [`crate::desired::STAND_INS`]): what `overrides` may name.
pub fn targets(site: &Site) -> BTreeMap<String, OverrideTarget> {
    let mut out = BTreeMap::new();
    add_targets(site, &mut out);
    out
}

fn add_targets(site: &Site, out: &mut BTreeMap<String, OverrideTarget>) {
    let mut seen: BTreeSet<&Vec<String>> = BTreeSet::new();
    for host in &site.hosts {
        if !seen.insert(&host.roles) {
            continue;
        }
        for os in crate::desired::stand_ins(site.release) {
            let Ok((resources, ini_files)) = super::playbook::roles(site, host, &os) else {
                continue;
            };
            for r in resources {
                if let Some(path) = r.kind.written_file() {
                    let ini = ini_files.contains(path);
                    let t = out.entry(path.to_string()).or_insert(OverrideTarget {
                        ini,
                        role: r.role.clone(),
                    });
                    t.ini &= ini;
                }
            }
        }
    }
}

/// Each file `overrides` names must be an INI file some role of the site
/// writes: anything else would be ignored (a typo, `/etc/shadow`), or be
/// edited as INI although it is not (the shell-sourced openrc).
fn override_targets(site: &Site, out: &mut Vec<Diagnostic>) {
    if site.places.override_files.is_empty() {
        return;
    }
    let targets = targets(site);
    if targets.is_empty() {
        return; // no OS has packages for the release: reported when planning
    }
    let ini: Vec<&str> = targets
        .iter()
        .filter(|(_, t)| t.ini)
        .map(|(p, _)| p.as_str())
        .collect();
    let list = format!("files that take overrides: {}", ini.join(", "));
    for (file, mark) in &site.places.override_files {
        let fpath = format!("overrides.{file}");
        match targets.get(file) {
            Some(t) if t.ini => removed_options(site, file, out),
            Some(t) => out.push(
                Diagnostic::new(
                    &site.path,
                    *mark,
                    &fpath,
                    format!(
                        "`{file}` is not an INI file (the {} role writes it whole), and overrides set INI keys",
                        t.role
                    ),
                )
                .hint(list.clone()),
            ),
            None => {
                let hint = match did_you_mean(file, ini.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? {list}"),
                    None => list.clone(),
                };
                out.push(
                    Diagnostic::new(
                        &site.path,
                        *mark,
                        &fpath,
                        format!(
                            "no role of this site writes `{}`, so these keys would never be set",
                            short(file)
                        ),
                    )
                    .hint(hint),
                );
            }
        }
    }
}

/// An override of an option the site's release removed would be written
/// and then ignored by the service (oslo.config skips keys it does not
/// know): name the release that removed it and what replaced it.
fn removed_options(site: &Site, file: &str, out: &mut Vec<Diagnostic>) {
    for ((f, section, key), mark) in &site.places.override_keys {
        if f != file {
            continue;
        }
        let (gone, instead) = match removed::removed(site.release, file, section, key) {
            Ok(Some(found)) => found,
            Ok(None) => continue,
            Err(e) => {
                out.push(broken(e));
                return;
            }
        };
        out.push(
            Diagnostic::new(
                &site.path,
                *mark,
                &format!("overrides.{}.{}.{}", short(file), short(section), short(key)),
                format!(
                    "`[{section}] {key}` was removed in {gone}: the {} of release {} would ignore it without a word",
                    super::roles::roles()
                        .ok()
                        .and_then(|r| r.service_of(file))
                        .unwrap_or("service"),
                    site.release,
                ),
            )
            .hint(instead.to_string()),
        );
    }
}
