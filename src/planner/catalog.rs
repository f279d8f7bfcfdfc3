//! The catalog's entities, compared with the catalog read through the API:
//! `keystone_project`, `keystone_user`, `keystone_role`,
//! `keystone_assignment` and `keystone_service`.

use super::keystone_api::{Needs, catalog};
use super::{Cx, Decision, PlanError, change, noop};
use crate::desired::resource::{
    KeystoneAssignmentSpec, KeystoneProjectSpec, KeystoneRoleSpec, KeystoneServiceSpec,
    KeystoneUserSpec, Resource,
};
use crate::plan::Action;
use crate::plan::catalog::Call;

pub(super) fn project(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &KeystoneProjectSpec,
) -> Result<Decision, PlanError> {
    let KeystoneProjectSpec { name, description } = s;
    let cat = catalog(cx, r, Needs::Either)?;
    if cat.facts.projects.contains_key(name) {
        return Ok(noop("exists"));
    }
    Ok(change(
        r,
        Action::Create,
        cat.missing("does not exist"),
        cat.op(Call::CreateProject {
            name: name.clone(),
            description: description.clone(),
        }),
    )
    .into())
}

pub(super) fn user(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &KeystoneUserSpec,
) -> Result<Decision, PlanError> {
    let KeystoneUserSpec { name, password } = s;
    let cat = catalog(cx, r, Needs::Either)?;
    Ok(if !cat.facts.users.contains_key(name) {
        change(
            r,
            Action::Create,
            cat.missing("does not exist"),
            cat.op(Call::CreateUser {
                name: name.clone(),
                password: password.clone(),
            }),
        )
        .into()
    } else if cat.facts.logins.get(name) != Some(&true) {
        change(
            r,
            Action::Update,
            "logging in with the password from the secrets file failed",
            cat.op(Call::SetPassword {
                name: name.clone(),
                password: password.clone(),
            }),
        )
        .into()
    } else {
        noop("exists; password login works")
    })
}

pub(super) fn role(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &KeystoneRoleSpec,
) -> Result<Decision, PlanError> {
    let KeystoneRoleSpec { name } = s;
    let cat = catalog(cx, r, Needs::Either)?;
    if cat.facts.roles.contains_key(name) {
        return Ok(noop("exists"));
    }
    Ok(change(
        r,
        Action::Create,
        cat.missing("does not exist"),
        cat.op(Call::CreateRole { name: name.clone() }),
    )
    .into())
}

pub(super) fn assignment(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &KeystoneAssignmentSpec,
) -> Result<Decision, PlanError> {
    let KeystoneAssignmentSpec {
        user,
        project,
        role,
    } = s;
    let cat = catalog(cx, r, Needs::Either)?;
    let key = (user.clone(), project.clone(), role.clone());
    if cat.facts.assignments.contains(&key) {
        return Ok(noop("already assigned"));
    }
    Ok(change(
        r,
        Action::Create,
        cat.missing("not assigned"),
        cat.op(Call::Assign {
            user: user.clone(),
            project: project.clone(),
            role: role.clone(),
        }),
    )
    .into())
}

pub(super) fn service(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &KeystoneServiceSpec,
) -> Result<Decision, PlanError> {
    let KeystoneServiceSpec {
        name,
        service_type,
        description,
    } = s;
    let cat = catalog(cx, r, Needs::Either)?;
    // matched by type, as the catalog looks services up (a name is not unique)
    if let Some(existing) = cat.facts.services.get(service_type) {
        return Ok(noop(format!("exists as `{existing}`")));
    }
    Ok(change(
        r,
        Action::Create,
        cat.missing("does not exist"),
        cat.op(Call::CreateService {
            name: name.clone(),
            service_type: service_type.clone(),
            description: description.clone(),
        }),
    )
    .into())
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::{
        KeystoneAssignmentSpec, KeystoneProjectSpec, KeystoneRoleSpec, KeystoneServiceSpec,
        KeystoneUserSpec, Kind, Resource,
    };
    use crate::facts::catalog::CatalogFacts;
    use crate::plan::Action::{Create, Update};
    use crate::planner::testkit::*;

    fn with(edit: impl FnOnce(&mut CatalogFacts)) -> crate::facts::Facts {
        facts(|f| f.catalog = catalog(edit))
    }

    fn not_answering() -> crate::facts::Facts {
        facts(|f| f.catalog = catalog(|c| c.unavailable = Some("connection refused".into())))
    }

    fn project() -> Resource {
        res(Kind::KeystoneProject(KeystoneProjectSpec {
            name: "service".into(),
            description: "Service Project".into(),
        }))
    }

    fn user() -> Resource {
        res(Kind::KeystoneUser(KeystoneUserSpec {
            name: "glance".into(),
            password: "glance_user".into(),
        }))
    }

    fn role() -> Resource {
        res(Kind::KeystoneRole(KeystoneRoleSpec {
            name: "admin".into(),
        }))
    }

    fn assignment() -> Resource {
        res(Kind::KeystoneAssignment(KeystoneAssignmentSpec {
            user: "glance".into(),
            project: "service".into(),
            role: "admin".into(),
        }))
    }

    fn service() -> Resource {
        res(Kind::KeystoneService(KeystoneServiceSpec {
            name: "glance".into(),
            service_type: "image".into(),
            description: "OpenStack Image".into(),
        }))
    }

    fn id(name: &str) -> (String, String) {
        (name.into(), format!("id-{name}"))
    }

    #[test]
    fn v3_catalog_table_projects_and_users() {
        check(
            &[api(v3())],
            vec![
                (
                    "project missing",
                    project(),
                    with(|_| {}),
                    change(Create, "does not exist", &["POST /v3/projects service"]),
                ),
                (
                    "project missing, as far as can be seen",
                    project(),
                    not_answering(),
                    change(
                        Create,
                        "does not exist (Keystone is not answering yet)",
                        &["POST /v3/projects service"],
                    ),
                ),
                (
                    "project exists",
                    project(),
                    with(|c| c.projects.extend([id("service")])),
                    noop("exists"),
                ),
                (
                    "user missing",
                    user(),
                    with(|_| {}),
                    change(Create, "does not exist", &["POST /v3/users glance"]),
                ),
                (
                    "user there, its password does not log in",
                    user(),
                    with(|c| {
                        c.users.extend([id("glance")]);
                        c.logins.insert("glance".into(), false);
                    }),
                    change(
                        Update,
                        "logging in with the password from the secrets file failed",
                        &["PATCH /v3/users/(glance) password"],
                    ),
                ),
                (
                    "user there, login not tried: the password is set again",
                    user(),
                    with(|c| c.users.extend([id("glance")])),
                    change(
                        Update,
                        "logging in with the password from the secrets file failed",
                        &["PATCH /v3/users/(glance) password"],
                    ),
                ),
                (
                    "user there, its password logs in",
                    user(),
                    with(|c| {
                        c.users.extend([id("glance")]);
                        c.logins.insert("glance".into(), true);
                    }),
                    noop("exists; password login works"),
                ),
            ],
        );
    }

    #[test]
    fn v3_catalog_table_roles_assignments_and_services() {
        check(
            &[api(v3())],
            vec![
                (
                    "role missing",
                    role(),
                    with(|c| c.roles.extend([id("member")])),
                    change(Create, "does not exist", &["POST /v3/roles admin"]),
                ),
                (
                    "role exists",
                    role(),
                    with(|c| c.roles.extend([id("admin")])),
                    noop("exists"),
                ),
                (
                    "not assigned (in another project it is)",
                    assignment(),
                    with(|c| {
                        c.assignments
                            .insert(("glance".into(), "admin".into(), "admin".into()));
                    }),
                    change(
                        Create,
                        "not assigned",
                        &["PUT /v3/projects/(service)/users/(glance)/roles/(admin)"],
                    ),
                ),
                (
                    "assigned",
                    assignment(),
                    with(|c| {
                        c.assignments
                            .insert(("glance".into(), "service".into(), "admin".into()));
                    }),
                    noop("already assigned"),
                ),
                (
                    "service missing",
                    service(),
                    with(|c| {
                        c.services.insert("identity".into(), "keystone".into());
                    }),
                    change(
                        Create,
                        "does not exist",
                        &["POST /v3/services glance (image)"],
                    ),
                ),
                (
                    "service of that type exists (by another name: left alone)",
                    service(),
                    with(|c| {
                        c.services.insert("image".into(), "glance-old".into());
                    }),
                    noop("exists as `glance-old`"),
                ),
            ],
        );
    }

    #[test]
    fn v2_catalog_speaks_v2() {
        check(
            &[api(v2())],
            vec![
                (
                    "project (tenant) missing",
                    project(),
                    with(|_| {}),
                    change(Create, "does not exist", &["POST /v2.0/tenants service"]),
                ),
                (
                    "user's password",
                    user(),
                    with(|c| c.users.extend([id("glance")])),
                    change(
                        Update,
                        "logging in with the password from the secrets file failed",
                        &["PUT /v2.0/users/(glance)/OS-KSADM/password"],
                    ),
                ),
                (
                    "assignment",
                    assignment(),
                    with(|_| {}),
                    change(
                        Create,
                        "not assigned",
                        &["PUT /v2.0/tenants/(service)/users/(glance)/roles/OS-KSADM/(admin)"],
                    ),
                ),
                (
                    "service exists",
                    service(),
                    with(|c| {
                        c.services.insert("image".into(), "glance".into());
                    }),
                    noop("exists as `glance`"),
                ),
            ],
        );
    }
}
