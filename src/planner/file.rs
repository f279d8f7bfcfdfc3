//! `file`: a whole file rendered from a template, written atomically when its
//! content or its owner, group and mode differ.

use super::{Cx, Decision, PlanError, change, diff, noop, notify_ops, perms_text};
use crate::desired::resource::{FileSpec, Resource};
use crate::facts::FileKind;
use crate::plan::{Action, Op};
use crate::secrets::placeholder;

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource, s: &FileSpec) -> Result<Decision, PlanError> {
    let FileSpec {
        path,
        content,
        perms,
        notify,
    } = s;
    let desired = placeholder::resolve(content, cx.secrets).map_err(PlanError::Placeholder)?;
    let (action, reason, old) = match cx.facts.file(path) {
        None => (Action::Create, "does not exist".to_string(), String::new()),
        Some(f) if f.kind != FileKind::File => {
            return Err(PlanError::NotAFile {
                at: r.source.clone(),
                path: path.clone(),
            });
        }
        Some(f) => {
            let old = f.content.clone().unwrap_or_default();
            let mut why = Vec::new();
            if old != desired {
                why.push("content differs".to_string());
            }
            if f.perms != *perms {
                why.push(format!("{} → {}", perms_text(&f.perms), perms_text(perms)));
            }
            if why.is_empty() {
                return Ok(noop(format!("content and {} match", perms_text(perms))));
            }
            (Action::Update, why.join("; "), old)
        }
    };
    let mut ops = notify_ops(cx, notify);
    ops.push(Op::Write {
        path: path.clone(),
        perms: perms.clone(),
        content: content.clone(),
    });
    let mut c = change(r, action, reason, ops);
    if old != desired {
        c.diff = Some(diff(path, &old, &desired, cx.masker, content));
    }
    Ok(c.into())
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::{FileSpec, Kind, Resource};
    use crate::facts::{FileFact, FileKind};
    use crate::plan::Action::{Create, Update};
    use crate::planner::PlanError;
    use crate::planner::testkit::*;

    const CONF: &str = "/etc/keystone/keystone.conf";
    const TEMPLATE: &str = "[database]\nconnection = mysql+pymysql://keystone:((secret:keystone_db|dburl))@controller/keystone\n\n[token]\nprovider = fernet\n";
    /// [`TEMPLATE`] with the secret resolved, as the host has it.
    const ON_HOST: &str = "[database]\nconnection = mysql+pymysql://keystone:k-db-pass@controller/keystone\n\n[token]\nprovider = fernet\n";
    const WRITE: &str = "write /etc/keystone/keystone.conf (root:keystone 0640)";
    const JOURNAL_KEYSTONE: &str = "mkdir -p /var/lib/stackprov && { grep -qx keystone /var/lib/stackprov/pending-restarts 2>/dev/null || echo keystone >> /var/lib/stackprov/pending-restarts; }";

    fn conf(content: &str, notify: &[&str]) -> Resource {
        res(Kind::File(FileSpec {
            path: CONF.into(),
            content: content.into(),
            perms: perms("root", "keystone", 0o640),
            notify: notify.iter().map(|n| n.to_string()).collect(),
        }))
    }

    fn host_has(file: FileFact) -> crate::facts::Facts {
        facts(|f| {
            f.files.insert(CONF.into(), file);
        })
    }

    #[test]
    fn file_table() {
        check(
            &[],
            vec![
                (
                    "missing",
                    conf(TEMPLATE, &[]),
                    bare(),
                    change(Create, "does not exist", &[WRITE]),
                ),
                (
                    "missing, and it notifies keystone: journal first",
                    conf(TEMPLATE, &["keystone"]),
                    bare(),
                    change(Create, "does not exist", &[JOURNAL_KEYSTONE, WRITE]),
                ),
                (
                    "content differs",
                    conf(TEMPLATE, &[]),
                    host_has(regular(
                        &ON_HOST.replace("fernet", "uuid"),
                        perms("root", "keystone", 0o640),
                    )),
                    change(Update, "content differs", &[WRITE]),
                ),
                (
                    "owner and mode differ",
                    conf(TEMPLATE, &[]),
                    host_has(regular(ON_HOST, perms("root", "root", 0o644))),
                    change(Update, "root:root 0644 → root:keystone 0640", &[WRITE]),
                ),
                (
                    "both differ",
                    conf(TEMPLATE, &[]),
                    host_has(regular("", perms("keystone", "keystone", 0o600))),
                    change(
                        Update,
                        "content differs; keystone:keystone 0600 → root:keystone 0640",
                        &[WRITE],
                    ),
                ),
                (
                    "as desired, the secret resolved",
                    conf(TEMPLATE, &["keystone"]),
                    host_has(regular(ON_HOST, perms("root", "keystone", 0o640))),
                    noop("content and root:keystone 0640 match"),
                ),
                (
                    "a directory there",
                    conf(TEMPLATE, &[]),
                    host_has(directory(perms("root", "root", 0o755))),
                    Err(PlanError::NotAFile {
                        at: AT.into(),
                        path: CONF.into(),
                    }),
                ),
                (
                    "a device or a socket there",
                    conf(TEMPLATE, &[]),
                    host_has(FileFact {
                        kind: FileKind::Other,
                        perms: perms("root", "root", 0o666),
                        content: None,
                    }),
                    Err(PlanError::NotAFile {
                        at: AT.into(),
                        path: CONF.into(),
                    }),
                ),
                (
                    "a secret the secrets file does not have",
                    conf("password = ((secret:nope))\n", &[]),
                    bare(),
                    Err(PlanError::Placeholder(
                        crate::secrets::PlaceholderError::UnknownSecret("nope".into()),
                    )),
                ),
            ],
        );
    }

    #[test]
    fn not_a_file_names_where_and_what() {
        let e = PlanError::NotAFile {
            at: AT.into(),
            path: CONF.into(),
        };
        assert_eq!(
            e.to_string(),
            "playbooks/test.yaml:7: /etc/keystone/keystone.conf exists but is not a regular file"
        );
    }

    #[test]
    fn the_diff_masks_the_secret_and_names_the_section() {
        let old = ON_HOST
            .replace("k-db-pass", "old-pass")
            .replace("fernet", "uuid");
        let d = plan(
            &[conf(TEMPLATE, &[])],
            &host_has(regular(&old, perms("root", "keystone", 0o640))),
        )
        .unwrap();
        let crate::planner::Decision::Change(c) = &d[0] else {
            panic!("{d:?}")
        };
        // the password changed too, but a line where the template puts a
        // secret shows masked on both sides, whatever value it held
        assert_eq!(
            c.diff.as_deref(),
            Some(
                "--- /etc/keystone/keystone.conf (current)\n+++ /etc/keystone/keystone.conf (planned)\n\
                 @@ -2,4 +2,4 @@ [token]\n \
                 connection = mysql+pymysql://keystone:********@controller/keystone\n \n \
                 [token]\n\
                 -provider = uuid\n\
                 +provider = fernet\n"
            )
        );
    }
}
