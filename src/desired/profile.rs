//! Profiles: what a release family × OS family means concretely (package,
//! service, path and user names), as data in `playbooks/profiles.yaml`.
//! Layers are merged in order: `common`, then every `since-<release>` up to
//! the site's release (option names that changed between releases), the OS
//! family (`debian`, `rhel`), `<os>-<family>` (`rhel-legacy`), every
//! `<os>-since-<release>` (`rhel-since-mitaka`), `<os><major>` (`rhel6`),
//! then `<os><major>-<family>` (`rhel7-modern`). A merged `releases: {first, last}` says which
//! releases the OS has packages for.

use super::{DesiredError, PlaybookError, PlaybookReason};
use crate::facts::OsFacts;
use crate::model::release::{Family, RELEASES, Release};
use crate::yaml::{self, Node, Value};
use serde_json::{Map, Value as Json};

pub const PROFILES_FILE: &str = "playbooks/profiles.yaml";

/// The merged profile for a host, as a JSON object for the templates.
/// profiles.yaml, parsed once per process.
fn parsed() -> Result<&'static yaml::Node, DesiredError> {
    static PARSED: std::sync::OnceLock<Result<yaml::Node, DesiredError>> =
        std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| {
            let text = crate::desired::assets::text(PROFILES_FILE)?;
            yaml::parse(text).map_err(|e| PlaybookError::yaml(PROFILES_FILE, &e).into())
        })
        .as_ref()
        .map_err(Clone::clone)
}

pub fn for_host(os: &OsFacts, release: Release) -> Result<Json, DesiredError> {
    let family = release.family();
    let root = parsed()?;
    let Value::Map(layers) = &root.value else {
        return Err(PlaybookError::new(PROFILES_FILE, PlaybookReason::NotLayers).into());
    };
    let os_name = match os.family {
        crate::facts::OsFamily::Debian => "debian",
        crate::facts::OsFamily::Rhel => "rhel",
    };
    let fam = match family {
        Family::Legacy => "legacy",
        Family::Modern => "modern",
    };
    let mut names = vec!["common".to_string()];
    names.extend(
        RELEASES
            .iter()
            .filter(|r| Release::named(r) <= release)
            .map(|r| format!("since-{r}")),
    );
    names.extend([os_name.to_string(), format!("{os_name}-{fam}")]);
    names.extend(
        RELEASES
            .iter()
            .filter(|r| Release::named(r) <= release)
            .map(|r| format!("{os_name}-since-{r}")),
    );
    names.extend([
        format!("{os_name}{}", os.major()),
        format!("{os_name}{}-{fam}", os.major()),
    ]);
    let mut merged = Json::Object(Map::new());
    for name in &names {
        if let Some((_, layer)) = layers
            .iter()
            .find(|(k, _)| k.as_str() == Some(name.as_str()))
        {
            merge(&mut merged, to_json(layer));
        }
    }
    check_releases(&merged, os, release)?;
    Ok(merged)
}

/// The OS must have packages for the release (RDO builds each release for
/// one or two EL majors; Debian only the modern family here).
fn check_releases(profile: &Json, os: &OsFacts, release: Release) -> Result<(), DesiredError> {
    let bound = |k: &str| profile["releases"][k].as_str().and_then(Release::parse);
    let (first, last) = (bound("first"), bound("last"));
    let fits = first.is_none_or(|f| release >= f) && last.is_none_or(|l| release <= l);
    if fits {
        return Ok(());
    }
    let range = match (first, last) {
        (Some(f), Some(l)) if f == l => format!("only {f}"),
        (Some(f), Some(l)) => format!("{f} to {l}"),
        (Some(f), None) => format!("{f} and later"),
        (None, Some(l)) => format!("up to {l}"),
        (None, None) => String::new(),
    };
    Err(DesiredError::NoPackages {
        os: os.pretty_name.clone(),
        release: release.to_string(),
        range,
    })
}

/// YAML node to JSON; plain `true`/`false` become booleans, all other scalars strings.
pub fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Scalar {
            text,
            quoted: false,
        } if text == "true" => Json::Bool(true),
        Value::Scalar {
            text,
            quoted: false,
        } if text == "false" => Json::Bool(false),
        Value::Scalar { text, .. } => Json::String(text.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), to_json(v)))
                .collect(),
        ),
    }
}

/// Deep merge: mappings merge key by key, anything else is replaced.
fn merge(into: &mut Json, from: Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(text: &str) -> OsFacts {
        crate::facts::parse_os(text).unwrap()
    }

    #[test]
    fn profiles_by_os_and_release() {
        let c6 = os(
            "ID=centos\nPRETTY_NAME=\"CentOS release 6.10 (Final)\"\nVERSION_ID=6.10\nSTACKPROV_INIT=sysv\n",
        );
        let p = for_host(&c6, Release::named("havana")).unwrap();
        assert_eq!(p["services"]["keystone"], "openstack-keystone");
        assert_eq!(p["options"]["glance_db_key"], "sql_connection");
        let p = for_host(&c6, Release::named("icehouse")).unwrap();
        assert_eq!(p["options"]["glance_db_key"], "connection");
        let e = for_host(&c6, Release::named("zed")).unwrap_err();
        assert!(e.to_string().contains("havana to icehouse"), "{e}");
        let c7 = os(
            "ID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\nSTACKPROV_INIT=systemd\n",
        );
        let p = for_host(&c7, Release::named("icehouse")).unwrap();
        assert_eq!(p["services"]["keystone"], "openstack-keystone");
        assert_eq!(p["paths"]["keystone_wsgi_conf"], "");
        // keystone's eventlet server is gone by Newton: httpd, python 2 mod_wsgi
        let p = for_host(&c7, Release::named("newton")).unwrap();
        assert_eq!(p["services"]["keystone"], "httpd");
        assert_eq!(p["packages"]["keystone_wsgi"][1], "mod_wsgi");
        let r9 = os(
            "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Rocky Linux 9.4\"\nSTACKPROV_INIT=systemd\n",
        );
        let p = for_host(&r9, Release::named("zed")).unwrap();
        assert_eq!(p["services"]["keystone"], "httpd");
        assert_eq!(p["packages"]["keystone_wsgi"][1], "python3-mod_wsgi");
        let d = os(
            "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nSTACKPROV_INIT=systemd\n",
        );
        assert!(for_host(&d, Release::named("icehouse")).is_err());
        assert!(for_host(&d, Release::named("zed")).is_ok());
        // bookworm's archive has Zed and nothing else: caracal would have
        // installed Zed's packages under caracal's name
        let e = for_host(&d, Release::named("caracal")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Debian GNU/Linux 12 (bookworm) has no OpenStack caracal packages; it has only zed (choose another release or another host OS)"
        );
        let trixie = os(
            "ID=debian\nVERSION_ID=\"13\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nSTACKPROV_INIT=systemd\n",
        );
        assert!(for_host(&trixie, Release::named("zed")).is_err());
        assert!(for_host(&trixie, Release::named("2025.1")).is_ok());
    }

    #[test]
    fn later_layers_win_and_maps_merge() {
        let mut a = serde_json::json!({"packages": {"a": "1", "b": "2"}, "init": "sysv"});
        merge(
            &mut a,
            serde_json::json!({"packages": {"b": "3"}, "init": "systemd"}),
        );
        assert_eq!(
            a,
            serde_json::json!({"packages": {"a": "1", "b": "3"}, "init": "systemd"})
        );
    }
}
