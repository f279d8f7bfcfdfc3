//! The catalog's entities, compared with the catalog read through the API:
//! `keystone_project`, `keystone_user`, `keystone_role`,
//! `keystone_assignment` and `keystone_service`.

use super::keystone_api::catalog;
use super::{Cx, Decision, PlanError, change, noop};
use crate::openstack::keystone::Call;
use crate::plan::Action;
use crate::resource::{Kind, Resource};

pub(super) fn project(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::KeystoneProject { name, description } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
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

pub(super) fn user(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::KeystoneUser { name, password } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
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

pub(super) fn role(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::KeystoneRole { name } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
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

pub(super) fn assignment(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::KeystoneAssignment {
        user,
        project,
        role,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
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

pub(super) fn service(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::KeystoneService {
        name,
        service_type,
        description,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
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
