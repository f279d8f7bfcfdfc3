//! The roles, as their playbooks declare them: the first entry of a role's
//! playbook is its header, `- role: {order: N, requires: [...], ...}` (see
//! [`crate::model::Role`] for each key). A playbook whose top level is a
//! mapping (`profiles.yaml`) is data, not a role. The headers are read once.

use super::{DesiredError, PlaybookError, PlaybookReason as Why};
use crate::model::{HaPlacement, Role, Roles};
use crate::yaml::{self, Node, Value};
use std::sync::OnceLock;

/// The keys a role header may have.
const KEYS: &[&str] = &[
    "order",
    "requires",
    "requires_in_site",
    "includes",
    "single",
    "controller",
    "ha",
    "needs_ha",
    "service",
    "files",
];

/// Every role the shipped playbooks declare, in application order.
pub fn roles() -> Result<&'static Roles, DesiredError> {
    static ROLES: OnceLock<Result<Roles, DesiredError>> = OnceLock::new();
    ROLES.get_or_init(read).as_ref().map_err(Clone::clone)
}

fn read() -> Result<Roles, DesiredError> {
    let mut out = Vec::new();
    for (name, text) in super::assets::playbooks() {
        let Some(role) = name.strip_suffix(".yaml") else {
            continue;
        };
        let file = format!("playbooks/{name}");
        let root = yaml::parse(text).map_err(|e| PlaybookError::yaml(&file, &e))?;
        let Value::Seq(items) = &root.value else {
            continue; // data, such as profiles.yaml
        };
        let header = items.first().and_then(header_of);
        let Some(header) = header else {
            return Err(PlaybookError::new(file, Why::NoRoleHeader).into());
        };
        out.push(parse(&file, role, header)?);
    }
    out.sort_by(|a, b| (a.order, &a.name).cmp(&(b.order, &b.name)));
    check(&out)?;
    Ok(Roles(out))
}

/// The `role:` value of a playbook's first entry.
pub(super) fn header_of(item: &Node) -> Option<&Node> {
    match &item.value {
        Value::Map(entries) if entries.len() == 1 && entries[0].0.as_str() == Some("role") => {
            Some(&entries[0].1)
        }
        _ => None,
    }
}

fn parse(file: &str, name: &str, n: &Node) -> Result<Role, DesiredError> {
    let at = |n: &Node| format!("{file}:{}:{}", n.mark.line, n.mark.col);
    let mut role = Role {
        name: name.to_string(),
        order: 0,
        requires: Vec::new(),
        requires_in_site: Vec::new(),
        includes: Vec::new(),
        single: false,
        controller: false,
        ha: HaPlacement::Anywhere,
        needs_ha: false,
        service: None,
        files: Vec::new(),
    };
    let Value::Map(entries) = &n.value else {
        return Err(PlaybookError::new(at(n), Why::NoRoleHeader).into());
    };
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        let bad = |why: Why| -> DesiredError { PlaybookError::new(at(v), why).into() };
        match key {
            "order" => {
                role.order = v
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad(Why::OrderNotANumber))?
            }
            "requires" | "requires_in_site" | "includes" | "files" => {
                let Value::Seq(items) = &v.value else {
                    return Err(bad(Why::NotRoleNames(key.into())));
                };
                let names = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(Why::NotRoleNames(key.into())))?;
                match key {
                    "requires" => role.requires = names,
                    "requires_in_site" => role.requires_in_site = names,
                    "includes" => role.includes = names,
                    _ => role.files = names,
                }
            }
            "single" | "controller" | "needs_ha" => {
                let b = match v.as_str() {
                    Some("true") => true,
                    Some("false") => false,
                    _ => return Err(bad(Why::NotABool(key.into()))),
                };
                match key {
                    "single" => role.single = b,
                    "controller" => role.controller = b,
                    _ => role.needs_ha = b,
                }
            }
            "ha" => {
                role.ha = match v.as_str() {
                    Some("anywhere") => HaPlacement::Anywhere,
                    Some("every_controller") => HaPlacement::EveryController,
                    Some("controllers_only") => HaPlacement::ControllersOnly,
                    other => return Err(bad(Why::HaPlacement(other.unwrap_or("").into()))),
                }
            }
            "service" => {
                role.service = Some(
                    v.as_str()
                        .ok_or_else(|| bad(Why::NotAString(v.kind())))?
                        .to_string(),
                )
            }
            _ => {
                return Err(PlaybookError::new(
                    at(k),
                    Why::RoleKey {
                        key: key.to_string(),
                        known: KEYS,
                    },
                )
                .into());
            }
        }
    }
    Ok(role)
}

/// Names in headers are roles; one role at most makes a controller.
fn check(roles: &[Role]) -> Result<(), DesiredError> {
    let known = |n: &str| roles.iter().any(|r| r.name == n);
    for r in roles {
        let file = format!("playbooks/{}.yaml", r.name);
        for n in r
            .requires
            .iter()
            .chain(&r.requires_in_site)
            .chain(&r.includes)
        {
            if !known(n) {
                return Err(PlaybookError::new(file, Why::UnknownRole(n.clone())).into());
            }
        }
    }
    let controllers: Vec<&Role> = roles.iter().filter(|r| r.controller).collect();
    if let [a, b, ..] = controllers.as_slice() {
        return Err(PlaybookError::new(
            format!("playbooks/{}.yaml", b.name),
            Why::TwoControllerRoles(a.name.clone(), b.name.clone()),
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_roles_declare_themselves() {
        let roles = roles().unwrap();
        let names: Vec<&str> = roles.names().collect();
        assert_eq!(
            names,
            [
                "base",
                "ha",
                "mariadb",
                "messaging",
                "memcached",
                "keystone",
                "glance",
                "openrc"
            ]
        );
        assert_eq!(
            roles.controller().map(|r| r.name.as_str()),
            Some("keystone")
        );
        assert_eq!(
            roles.service_of("/etc/glance/glance-api.conf"),
            Some("Glance")
        );
        assert_eq!(
            roles.expand(&["keystone".into(), "base".into()]),
            ["base", "memcached", "keystone"]
        );
    }

    #[test]
    fn a_bad_header_is_refused_with_its_place() {
        let file = "playbooks/x.yaml";
        let node = |t: &str| yaml::parse(t).unwrap();
        let e = parse(file, "x", &node("order: 1\nnope: 2\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "playbooks/x.yaml:2:1: unknown key `nope` in the role header; one of: order, requires, requires_in_site, includes, single, controller, ha, needs_ha, service, files"
        );
        let e = parse(file, "x", &node("single: yes\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "playbooks/x.yaml:1:9: `single` must be true or false"
        );
        let e = parse(file, "x", &node("ha: sometimes\n")).unwrap_err();
        assert!(e.to_string().contains("`ha` `sometimes`: one of"), "{e}");
        let r = |name: &str, requires: &[&str]| Role {
            requires: requires.iter().map(|s| s.to_string()).collect(),
            ..parse(file, name, &node("order: 1\n")).unwrap()
        };
        let e = check(&[r("a", &["b"])]).unwrap_err();
        assert!(e.to_string().contains("no role `b`"), "{e}");
        let controller = |name: &str| Role {
            controller: true,
            ..r(name, &[])
        };
        let e = check(&[controller("a"), controller("b")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "playbooks/b.yaml: roles `a` and `b` both say `controller: true`; one role makes a host a controller"
        );
    }
}
