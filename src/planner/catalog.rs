//! The catalog's entities, compared with the catalog read through the API:
//! `keystone_project`, `keystone_user`, `keystone_role`,
//! `keystone_assignment` and `keystone_service`.

use super::keystone_api::catalog;
use super::{Cx, PlanError, change};
use crate::openstack::keystone::Call;
use crate::plan::{Action, Change};
use crate::resource::{Kind, Resource};

pub(super) fn project(cx: &mut Cx<'_>, r: &Resource) -> Result<Option<Change>, PlanError> {
    let Kind::KeystoneProject { name, description } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
    Ok((!cat.facts.projects.contains_key(name)).then(|| {
        change(
            r,
            Action::Create,
            cat.missing("does not exist"),
            cat.op(Call::CreateProject {
                name: name.clone(),
                description: description.clone(),
            }),
        )
    }))
}

pub(super) fn user(cx: &mut Cx<'_>, r: &Resource) -> Result<Option<Change>, PlanError> {
    let Kind::KeystoneUser { name, password } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
    Ok(if !cat.facts.users.contains_key(name) {
        Some(change(
            r,
            Action::Create,
            cat.missing("does not exist"),
            cat.op(Call::CreateUser {
                name: name.clone(),
                password: password.clone(),
            }),
        ))
    } else if cat.facts.logins.get(name) != Some(&true) {
        Some(change(
            r,
            Action::Update,
            "logging in with the password from the secrets file failed",
            cat.op(Call::SetPassword {
                name: name.clone(),
                password: password.clone(),
            }),
        ))
    } else {
        None
    })
}

pub(super) fn role(cx: &mut Cx<'_>, r: &Resource) -> Result<Option<Change>, PlanError> {
    let Kind::KeystoneRole { name } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
    Ok((!cat.facts.roles.contains_key(name)).then(|| {
        change(
            r,
            Action::Create,
            cat.missing("does not exist"),
            cat.op(Call::CreateRole { name: name.clone() }),
        )
    }))
}

pub(super) fn assignment(cx: &mut Cx<'_>, r: &Resource) -> Result<Option<Change>, PlanError> {
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
    Ok((!cat.facts.assignments.contains(&key)).then(|| {
        change(
            r,
            Action::Create,
            cat.missing("not assigned"),
            cat.op(Call::Assign {
                user: user.clone(),
                project: project.clone(),
                role: role.clone(),
            }),
        )
    }))
}

pub(super) fn service(cx: &mut Cx<'_>, r: &Resource) -> Result<Option<Change>, PlanError> {
    let Kind::KeystoneService {
        name,
        service_type,
        description,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
    Ok((!cat.facts.services.contains_key(service_type)).then(|| {
        change(
            r,
            Action::Create,
            cat.missing("does not exist"),
            cat.op(Call::CreateService {
                name: name.clone(),
                service_type: service_type.clone(),
                description: description.clone(),
            }),
        )
    }))
}
