//! `directory`: created with its owner, group and mode, or those corrected.

use super::{Cx, Decision, PlanError, change, exec, noop, perms_text};
use crate::desired::resource::{DirectorySpec, Resource};
use crate::facts::FileKind;
use crate::host_commands;
use crate::plan::Action;

pub(super) fn plan(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &DirectorySpec,
) -> Result<Decision, PlanError> {
    let DirectorySpec { path, perms } = s;
    Ok(match cx.facts.file(path) {
        None => change(
            r,
            Action::Create,
            "does not exist",
            vec![exec(host_commands::mkdir(path, perms))],
        )
        .into(),
        Some(f) if f.kind != FileKind::Directory => {
            return Err(PlanError::NotADirectory {
                at: r.source.clone(),
                path: path.clone(),
            });
        }
        Some(f) if f.perms != *perms => change(
            r,
            Action::Update,
            format!("{} → {}", perms_text(&f.perms), perms_text(perms)),
            vec![exec(host_commands::set_perms(path, perms))],
        )
        .into(),
        Some(_) => noop(format!("exists with {}", perms_text(perms))),
    })
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::{DirectorySpec, Kind, Resource};
    use crate::plan::Action::{Create, Update};
    use crate::planner::PlanError;
    use crate::planner::testkit::*;

    const IMAGES: &str = "/var/lib/glance/images";

    fn images() -> Resource {
        res(Kind::Directory(DirectorySpec {
            path: IMAGES.into(),
            perms: perms("glance", "glance", 0o750),
        }))
    }

    #[test]
    fn directory_table() {
        check(
            &[],
            vec![
                (
                    "missing",
                    images(),
                    bare(),
                    change(
                        Create,
                        "does not exist",
                        &[
                            "mkdir -p /var/lib/glance/images && chown glance:glance /var/lib/glance/images && chmod 0750 /var/lib/glance/images",
                        ],
                    ),
                ),
                (
                    "owner and mode differ",
                    images(),
                    facts(|f| {
                        f.files
                            .insert(IMAGES.into(), directory(perms("root", "root", 0o755)));
                    }),
                    change(
                        Update,
                        "root:root 0755 → glance:glance 0750",
                        &[
                            "chown glance:glance /var/lib/glance/images && chmod 0750 /var/lib/glance/images",
                        ],
                    ),
                ),
                (
                    "as desired",
                    images(),
                    facts(|f| {
                        f.files
                            .insert(IMAGES.into(), directory(perms("glance", "glance", 0o750)));
                    }),
                    noop("exists with glance:glance 0750"),
                ),
                (
                    "a regular file there",
                    images(),
                    facts(|f| {
                        f.files
                            .insert(IMAGES.into(), regular("", perms("root", "root", 0o644)));
                    }),
                    Err(PlanError::NotADirectory {
                        at: AT.into(),
                        path: IMAGES.into(),
                    }),
                ),
            ],
        );
    }

    #[test]
    fn not_a_directory_names_where_and_what() {
        let e = PlanError::NotADirectory {
            at: AT.into(),
            path: IMAGES.into(),
        };
        assert_eq!(
            e.to_string(),
            "playbooks/test.yaml:7: /var/lib/glance/images exists but is not a directory"
        );
    }
}
