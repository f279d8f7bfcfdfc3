//! A site's `overrides`: extra INI keys set in the files the roles write, and
//! which files those may name (for `validate`).

use super::DesiredError;
use crate::desired::resource::{Kind, Resource};
use crate::ini::IniSetting;
use crate::site::Site;
use std::collections::BTreeSet;

/// Site `overrides`: extra INI keys set in the host's INI files. A path that
/// is not one of them on this host is left alone here: it may be another
/// host's or another OS's file, and `validate` (see [`super::check::targets`])
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
                Kind::File(f) if f.path == *path => {
                    f.content = crate::ini::apply(&f.content, &settings);
                }
                Kind::IniEdit(e) if e.path == *path => e.settings.extend(settings.iter().cloned()),
                Kind::File(_) | Kind::IniEdit(_) => {}
                Kind::Packages(_)
                | Kind::Directory(_)
                | Kind::Service(_)
                | Kind::Command(_)
                | Kind::GaleraStatus(_)
                | Kind::SqlDatabase(_)
                | Kind::SqlUser(_)
                | Kind::SqlGrant(_)
                | Kind::KeystoneApi(_)
                | Kind::KeystoneProject(_)
                | Kind::KeystoneUser(_)
                | Kind::KeystoneRole(_)
                | Kind::KeystoneAssignment(_)
                | Kind::KeystoneService(_)
                | Kind::KeystoneEndpoint(_)
                | Kind::KeystoneEndpoints(_) => {}
            }
        }
    }
    Ok(())
}
