//! INI options of the files stackprov writes that a release after Zed removed
//! (`playbooks/removed.yaml`, data: which files, section, keys, release, what
//! instead). oslo.config ignores a key it does not know, without a word, so
//! `validate` names the release that removed an overridden one (check.rs).

use super::{DesiredError, PlaybookError, PlaybookReason as Why};
use crate::model::Release;
use crate::yaml::{self, Node, Value};
use std::sync::OnceLock;

const FILE: &str = "playbooks/removed.yaml";

/// One removed option: the files it was read from (by file name), its
/// section, its keys (`*`: the whole section), the first release without it,
/// and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Removed {
    files: Vec<String>,
    section: String,
    keys: Vec<String>,
    release: Release,
    instead: String,
}

/// The table, read once.
fn table() -> Result<&'static [Removed], DesiredError> {
    static TABLE: OnceLock<Result<Vec<Removed>, DesiredError>> = OnceLock::new();
    TABLE
        .get_or_init(read)
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

fn read() -> Result<Vec<Removed>, DesiredError> {
    let text = super::assets::text(FILE)?;
    let root = yaml::parse(text).map_err(|e| PlaybookError::yaml(FILE, &e))?;
    let at = |n: &Node| format!("{FILE}:{}:{}", n.mark.line, n.mark.col);
    let get = |n: &Node, key: &str| match &n.value {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v.clone()),
        _ => None,
    };
    let Some(Node {
        value: Value::Seq(items),
        ..
    }) = get(&root, "options")
    else {
        return Err(PlaybookError::new(FILE, Why::NotAList).into());
    };
    let list = |n: &Node, key: &str| -> Result<Vec<String>, DesiredError> {
        match get(n, key).map(|v| v.value) {
            Some(Value::Seq(v)) => v
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| PlaybookError::new(at(n), Why::NotRoleNames(key.into())).into()),
            _ => Err(PlaybookError::new(at(n), Why::NotRoleNames(key.into())).into()),
        }
    };
    let text = |n: &Node, key: &str| -> Result<String, DesiredError> {
        get(n, key)
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| {
                PlaybookError::new(
                    at(n),
                    Why::Needs {
                        kind: "removed option".into(),
                        key: key.into(),
                    },
                )
                .into()
            })
    };
    items
        .iter()
        .map(|n| {
            let release = text(n, "release")?;
            Ok(Removed {
                files: list(n, "files")?,
                section: text(n, "section")?,
                keys: list(n, "keys")?,
                release: Release::parse(&release).ok_or_else(|| {
                    PlaybookError::new(at(n), Why::UnknownRelease(release.clone()))
                })?,
                instead: text(n, "instead")?,
            })
        })
        .collect()
}

/// A section name as oslo.config looks it up: `DEFAULT` as it is, any other
/// in lower case (`_normalize_group_name` in oslo_config/cfg.py, which
/// `_Namespace._get_file_value` applies to the file's sections and to the
/// groups asked for), so `[Catalog]` is `[catalog]` but `[default]` is not
/// `[DEFAULT]`. Option names are compared as they are.
fn oslo_group(section: &str) -> std::borrow::Cow<'_, str> {
    if section == "DEFAULT" {
        section.into()
    } else {
        section.to_lowercase().into()
    }
}

/// Why `[section] key` of the file `path` does nothing in `release`: the
/// release that removed it and what to use instead. Sections compare as
/// oslo.config reads them ([`oslo_group`]).
pub fn removed(
    release: Release,
    path: &str,
    section: &str,
    key: &str,
) -> Result<Option<(Release, &'static str)>, DesiredError> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let section = oslo_group(section);
    Ok(table()?
        .iter()
        .filter(|r| r.files.iter().any(|f| f == file) && oslo_group(&r.section) == section)
        .filter(|r| r.keys.iter().any(|k| k == "*" || k == key))
        .map(|r| (r.release, r.instead.as_str()))
        .find(|(removed, _)| release >= *removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed_option(
        release: Release,
        path: &str,
        section: &str,
        key: &str,
    ) -> Option<(Release, &'static str)> {
        removed(release, path, section, key).unwrap()
    }

    #[test]
    fn an_option_is_removed_from_its_release_on_and_only_in_its_files() {
        let (zed, epoxy) = (Release::named("zed"), Release::named("epoxy"));
        let conf = "/etc/keystone/keystone.conf";
        assert_eq!(removed_option(zed, conf, "catalog", "template_file"), None);
        let (r, instead) = removed_option(epoxy, conf, "catalog", "template_file").unwrap();
        assert_eq!(r.name(), "epoxy");
        assert!(instead.contains("sql"), "{instead}");
        // a whole section
        assert_eq!(
            removed_option(epoxy, conf, "memcache", "dead_retry")
                .unwrap()
                .0
                .name(),
            "caracal"
        );
        assert_eq!(
            removed_option(Release::named("bobcat"), conf, "memcache", "x"),
            None
        );
        // Glance's options are not Keystone's
        assert_eq!(
            removed_option(epoxy, conf, "DEFAULT", "enforce_secure_rbac"),
            None
        );
        let g = "/etc/glance/glance-api.conf";
        assert!(removed_option(epoxy, g, "DEFAULT", "enforce_secure_rbac").is_some());
        assert!(removed_option(epoxy, g, "DEFAULT", "policy_file").is_some());
        assert_eq!(removed_option(epoxy, g, "oslo_policy", "policy_file"), None);
        // sections in any case but DEFAULT's, as oslo.config reads them;
        // option names as they are
        assert!(removed_option(epoxy, conf, "Catalog", "template_file").is_some());
        assert!(removed_option(epoxy, conf, "MEMCACHE", "dead_retry").is_some());
        assert!(removed_option(epoxy, conf, "DEFAULT", "bind_host").is_some());
        assert_eq!(removed_option(epoxy, conf, "default", "bind_host"), None);
        assert_eq!(
            removed_option(epoxy, conf, "catalog", "Template_File"),
            None
        );
        // the shipped table reads, and each release in it is one stackprov knows
        assert_eq!(table().unwrap().len(), 12);
    }
}
