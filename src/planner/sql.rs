//! MariaDB: `sql_database`, `sql_user` (at localhost and `%`) and `sql_grant`,
//! as SQL sent on stdin to the local client as root.

use super::{Cx, Decision, PlanError, change, exec_stdin, noop};
use crate::facts::Facts;
use crate::hostops;
use crate::plan::Action;
use crate::resource::{Kind, Resource, SQL_USER_HOSTS, SqlUserSyntax};
use crate::text;

pub(super) fn database(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::SqlDatabase {
        name,
        charset,
        collation,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    let exists = facts
        .sql
        .as_ref()
        .is_some_and(|s| s.databases.contains(name));
    if exists {
        return Ok(noop("database exists"));
    }
    let sql = format!(
        "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET {charset} COLLATE {collation};\n"
    );
    Ok(change(
        r,
        Action::Create,
        sql_reason(facts, "database does not exist"),
        vec![exec_stdin(hostops::MYSQL, sql)],
    )
    .into())
}

pub(super) fn user(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::SqlUser {
        name,
        password,
        syntax,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    let sql_facts = facts.sql.as_ref();
    let missing: Vec<&str> = SQL_USER_HOSTS
        .iter()
        .copied()
        .filter(|h| !sql_facts.is_some_and(|s| s.users.contains(&format!("{name}@{h}"))))
        .collect();
    let login_ok = sql_facts
        .and_then(|s| s.logins.get(name))
        .copied()
        .unwrap_or(false);
    if missing.is_empty() && login_ok {
        return Ok(noop(format!(
            "user exists at {}; password login works",
            SQL_USER_HOSTS.join(", ")
        )));
    }
    let pw = text::placeholder(password, "sql");
    let mut sql = String::new();
    for h in SQL_USER_HOSTS {
        match syntax {
            SqlUserSyntax::Create => sql.push_str(&format!(
                "CREATE USER IF NOT EXISTS '{name}'@'{h}' IDENTIFIED BY {pw};\nALTER USER '{name}'@'{h}' IDENTIFIED BY {pw};\n"
            )),
            // MySQL 5.1 and MariaDB 5.5: GRANT creates the user or sets its password
            SqlUserSyntax::Grant => sql.push_str(&format!(
                "GRANT USAGE ON *.* TO '{name}'@'{h}' IDENTIFIED BY {pw};\n"
            )),
        }
    }
    let (action, reason) = if !missing.is_empty() {
        (
            Action::Create,
            sql_reason(facts, &format!("missing at {}", missing.join(", "))),
        )
    } else {
        (
            Action::Update,
            "logging in with the password from the secrets file failed".to_string(),
        )
    };
    Ok(change(r, action, reason, vec![exec_stdin(hostops::MYSQL, sql)]).into())
}

pub(super) fn grant(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::SqlGrant { user, database } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    let missing: Vec<&str> = SQL_USER_HOSTS
        .iter()
        .copied()
        .filter(|h| {
            !facts
                .sql
                .as_ref()
                .is_some_and(|s| s.grants.contains(&format!("{user}@{h}@{database}")))
        })
        .collect();
    if missing.is_empty() {
        return Ok(noop(format!(
            "all privileges granted at {}",
            SQL_USER_HOSTS.join(", ")
        )));
    }
    let sql: String = missing
        .iter()
        .map(|h| format!("GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'{h}';\n"))
        .collect();
    Ok(change(
        r,
        Action::Create,
        sql_reason(facts, &format!("no grant at {}", missing.join(", "))),
        vec![exec_stdin(hostops::MYSQL, sql)],
    )
    .into())
}

fn sql_reason(facts: &Facts, why: &str) -> String {
    if facts.sql.is_none() {
        format!("{why} (MariaDB is not running yet)")
    } else {
        why.to_string()
    }
}
