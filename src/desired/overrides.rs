//! A site's `overrides`: extra INI keys set in the files the roles write, and
//! which files those may name (for `validate`).

use super::DesiredError;
use crate::desired::resource::{Kind, Resource};
use crate::ini::IniSetting;
use crate::site::Site;
use std::collections::BTreeSet;

/// Site `overrides`: extra INI keys set in the host's INI files. A path that
/// is not one of them on this host is left alone here: it may be another
/// host's or another OS's file, and `validate` (see [`override_targets`])
/// refuses a path no host of the site writes, or writes as something other
/// than INI (the shell-sourced openrc, apt.conf).
pub(super) fn apply(
    site: &Site,
    ini_files: &BTreeSet<String>,
    resources: &mut [Resource],
) -> Result<(), DesiredError> {
    for (path, sections) in &site.overrides {
        if !ini_files.contains(path) {
            continue;
        }
        let settings: Vec<IniSetting> = sections
            .iter()
            .flat_map(|(s, kv)| {
                kv.iter().map(|(k, v)| IniSetting {
                    section: s.clone(),
                    key: k.clone(),
                    value: v.clone(),
                })
            })
            .collect();
        for r in resources.iter_mut() {
            match &mut r.kind {
                Kind::File {
                    path: p, content, ..
                } if p == path => *content = crate::ini::apply(content, &settings),
                Kind::IniEdit {
                    path: p,
                    settings: s,
                    ..
                } if p == path => s.extend(settings.iter().cloned()),
                _ => {}
            }
        }
    }
    Ok(())
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
pub fn override_targets(site: &Site) -> std::collections::BTreeMap<String, OverrideTarget> {
    let mut out = std::collections::BTreeMap::new();
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
                if let Kind::File { path, .. } | Kind::IniEdit { path, .. } = r.kind {
                    let ini = ini_files.contains(&path);
                    let t = out.entry(path).or_insert(OverrideTarget {
                        ini,
                        role: r.role.clone(),
                    });
                    t.ini &= ini;
                }
            }
        }
    }
    out
}
