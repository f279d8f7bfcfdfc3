//! `ini_edit`: keys set in a file a package ships, the rest of it left alone.

use super::{Cx, Decision, PlanError, change, diff, noop, notify_ops, perms_text};
use crate::desired::resource::{IniEditSpec, Resource};
use crate::plan::{Action, Op};
use crate::secrets::placeholder;

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource, s: &IniEditSpec) -> Result<Decision, PlanError> {
    let IniEditSpec {
        path,
        settings,
        perms,
        notify,
    } = s;
    let current = cx
        .facts
        .file(path)
        .and_then(|f| f.content.clone().map(|c| (c, f.perms.clone())));
    let (reason, diff_text) = match &current {
        None => (
            "file not there yet: keys are set once its package has installed it".to_string(),
            None,
        ),
        Some((old, old_perms)) => {
            let mut resolved = settings.clone();
            for s in &mut resolved {
                s.value =
                    placeholder::resolve(&s.value, cx.secrets).map_err(PlanError::Placeholder)?;
            }
            let new = crate::ini::apply(old, &resolved);
            if new == *old && old_perms == perms {
                let keys = match settings.len() {
                    1 => "1 key".to_string(),
                    n => format!("{n} keys"),
                };
                return Ok(noop(format!("{keys} and {} match", perms_text(perms))));
            }
            let mut why = Vec::new();
            let changed: Vec<String> = resolved
                .iter()
                .filter(|s| {
                    crate::ini::get(old, &s.section, &s.key).as_deref() != Some(s.value.as_str())
                })
                .map(|s| format!("[{}] {}", s.section, s.key))
                .collect();
            if !changed.is_empty() {
                why.push(format!("keys differ: {}", changed.join(", ")));
            }
            if old_perms != perms {
                why.push(format!("{} → {}", perms_text(old_perms), perms_text(perms)));
            }
            (
                why.join("; "),
                (new != *old).then(|| {
                    let template: String = settings
                        .iter()
                        .map(|s| format!("{} = {}\n", s.key, s.value))
                        .collect();
                    diff(path, old, &new, cx.masker, &template)
                }),
            )
        }
    };
    let mut ops = notify_ops(cx, notify);
    ops.push(Op::IniEdit {
        path: path.clone(),
        perms: perms.clone(),
        settings: settings.clone(),
    });
    let mut c = change(r, Action::Update, reason, ops);
    c.diff = diff_text;
    Ok(c.into())
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::{IniEditSpec, Kind, Resource};
    use crate::ini::IniSetting;
    use crate::plan::Action::Update;
    use crate::planner::PlanError;
    use crate::planner::testkit::*;

    const API: &str = "/etc/glance/glance-api.conf";
    const SET: &str = "set 2 keys in /etc/glance/glance-api.conf";
    const SHIPPED: &str = "[DEFAULT]\n# the package's comment stays\n[database]\nconnection = sqlite:////var/lib/glance/glance.sqlite\n[paste_deploy]\nflavor = keystone\n";
    const DONE: &str = "[DEFAULT]\n# the package's comment stays\n[database]\nconnection = mysql+pymysql://glance:k-db-pass@controller/glance\n[paste_deploy]\nflavor = keystone\n";

    fn setting(section: &str, key: &str, value: &str) -> IniSetting {
        IniSetting {
            section: section.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    fn glance_api(settings: Vec<IniSetting>, notify: &[&str]) -> Resource {
        res(Kind::IniEdit(IniEditSpec {
            path: API.into(),
            settings,
            perms: perms("root", "glance", 0o640),
            notify: notify.iter().map(|n| n.to_string()).collect(),
        }))
    }

    fn two_keys(notify: &[&str]) -> Resource {
        glance_api(
            vec![
                setting(
                    "database",
                    "connection",
                    "mysql+pymysql://glance:((secret:keystone_db|dburl))@controller/glance",
                ),
                setting("paste_deploy", "flavor", "keystone"),
            ],
            notify,
        )
    }

    fn host_has(content: &str, owner: &str, group: &str, mode: u32) -> crate::facts::Facts {
        facts(|f| {
            f.files
                .insert(API.into(), regular(content, perms(owner, group, mode)));
        })
    }

    #[test]
    fn ini_edit_table() {
        check(
            &[],
            vec![
                (
                    "the package has not installed the file yet",
                    two_keys(&[]),
                    bare(),
                    change(
                        Update,
                        "file not there yet: keys are set once its package has installed it",
                        &[SET],
                    ),
                ),
                (
                    "a key differs (only that one is named)",
                    two_keys(&[]),
                    host_has(SHIPPED, "root", "glance", 0o640),
                    change(Update, "keys differ: [database] connection", &[SET]),
                ),
                (
                    "a key differs, and it notifies glance-api",
                    two_keys(&["glance-api"]),
                    host_has(SHIPPED, "root", "glance", 0o640),
                    change(
                        Update,
                        "keys differ: [database] connection",
                        &[
                            "mkdir -p /var/lib/stackprov && { grep -qx glance-api /var/lib/stackprov/pending-restarts 2>/dev/null || echo glance-api >> /var/lib/stackprov/pending-restarts; }",
                            SET,
                        ],
                    ),
                ),
                (
                    "keys as desired, mode differs",
                    two_keys(&[]),
                    host_has(DONE, "root", "glance", 0o644),
                    change(Update, "root:glance 0644 → root:glance 0640", &[SET]),
                ),
                (
                    "as desired",
                    two_keys(&["glance-api"]),
                    host_has(DONE, "root", "glance", 0o640),
                    noop("2 keys and root:glance 0640 match"),
                ),
                (
                    "one key, as desired",
                    glance_api(vec![setting("paste_deploy", "flavor", "keystone")], &[]),
                    host_has(DONE, "root", "glance", 0o640),
                    noop("1 key and root:glance 0640 match"),
                ),
                (
                    "a secret the secrets file does not have",
                    glance_api(
                        vec![setting("database", "connection", "((secret:nope|dburl))")],
                        &[],
                    ),
                    host_has(SHIPPED, "root", "glance", 0o640),
                    Err(PlanError::Placeholder(
                        crate::secrets::PlaceholderError::UnknownSecret("nope".into()),
                    )),
                ),
            ],
        );
    }

    #[test]
    fn the_diff_shows_the_key_with_its_secret_masked() {
        let d = plan(
            &[two_keys(&[])],
            &host_has(SHIPPED, "root", "glance", 0o640),
        )
        .unwrap();
        let crate::planner::Decision::Change(c) = &d[0] else {
            panic!("{d:?}")
        };
        assert_eq!(
            c.diff.as_deref(),
            Some(
                "--- /etc/glance/glance-api.conf (current)\n+++ /etc/glance/glance-api.conf (planned)\n\
                 @@ -1,6 +1,6 @@ [database]\n \
                 [DEFAULT]\n \
                 # the package's comment stays\n \
                 [database]\n\
                 -connection = sqlite:////var/lib/glance/glance.sqlite\n\
                 +connection = mysql+pymysql://glance:********@controller/glance\n \
                 [paste_deploy]\n \
                 flavor = keystone\n"
            )
        );
    }
}
