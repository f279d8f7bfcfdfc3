//! MariaDB: `sql_database`, `sql_user` (at localhost and `%`) and `sql_grant`,
//! as SQL sent on stdin to the local client as root.

use super::{Cx, Decision, PlanError, change, exec_stdin, noop};
use crate::desired::resource::{
    Resource, SQL_USER_HOSTS, SqlDatabaseSpec, SqlGrantSpec, SqlUserSpec, SqlUserSyntax,
};
use crate::facts::Facts;
use crate::host_commands;
use crate::plan::Action;
use crate::secrets::placeholder;

pub(super) fn database(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &SqlDatabaseSpec,
) -> Result<Decision, PlanError> {
    let SqlDatabaseSpec {
        name,
        charset,
        collation,
    } = s;
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
        vec![exec_stdin(host_commands::MYSQL, sql)],
    )
    .into())
}

pub(super) fn user(cx: &mut Cx<'_>, r: &Resource, s: &SqlUserSpec) -> Result<Decision, PlanError> {
    let SqlUserSpec {
        name,
        password,
        syntax,
    } = s;
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
    let pw = placeholder::of(password, crate::secrets::Encoding::Sql);
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
    Ok(change(
        r,
        action,
        reason,
        vec![exec_stdin(host_commands::MYSQL, sql)],
    )
    .into())
}

pub(super) fn grant(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &SqlGrantSpec,
) -> Result<Decision, PlanError> {
    let SqlGrantSpec { user, database } = s;
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
        vec![exec_stdin(host_commands::MYSQL, sql)],
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

#[cfg(test)]
mod tests {
    use crate::desired::resource::{
        Kind, Resource, SqlDatabaseSpec, SqlGrantSpec, SqlUserSpec, SqlUserSyntax,
    };
    use crate::plan::Action::{Create, Update};
    use crate::planner::testkit::*;

    fn database() -> Resource {
        res(Kind::SqlDatabase(SqlDatabaseSpec {
            name: "keystone".into(),
            charset: "utf8mb4".into(),
            collation: "utf8mb4_general_ci".into(),
        }))
    }

    fn user(syntax: SqlUserSyntax) -> Resource {
        res(Kind::SqlUser(SqlUserSpec {
            name: "keystone".into(),
            password: "keystone_db".into(),
            syntax,
        }))
    }

    fn grant() -> Resource {
        res(Kind::SqlGrant(SqlGrantSpec {
            user: "keystone".into(),
            database: "keystone".into(),
        }))
    }

    /// MariaDB running with these `user@host` and, per user, a login result.
    fn with_users(users: &[&str], login: Option<bool>) -> crate::facts::Facts {
        facts(|f| {
            f.sql = sql(|s| {
                s.users.extend(users.iter().map(|u| u.to_string()));
                if let Some(ok) = login {
                    s.logins.insert("keystone".into(), ok);
                }
            })
        })
    }

    const CREATE_USER: &str = "mysql -N -B <<< CREATE USER IF NOT EXISTS 'keystone'@'localhost' IDENTIFIED BY ((secret:keystone_db|sql));\nALTER USER 'keystone'@'localhost' IDENTIFIED BY ((secret:keystone_db|sql));\nCREATE USER IF NOT EXISTS 'keystone'@'%' IDENTIFIED BY ((secret:keystone_db|sql));\nALTER USER 'keystone'@'%' IDENTIFIED BY ((secret:keystone_db|sql));";

    #[test]
    fn sql_database_table() {
        check(
            &[],
            vec![
                (
                    "MariaDB not running yet",
                    database(),
                    bare(),
                    change(
                        Create,
                        "database does not exist (MariaDB is not running yet)",
                        &[
                            "mysql -N -B <<< CREATE DATABASE IF NOT EXISTS `keystone` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;",
                        ],
                    ),
                ),
                (
                    "running, no such database",
                    database(),
                    facts(|f| {
                        f.sql = sql(|s| {
                            s.databases.insert("glance".into());
                        })
                    }),
                    change(
                        Create,
                        "database does not exist",
                        &[
                            "mysql -N -B <<< CREATE DATABASE IF NOT EXISTS `keystone` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;",
                        ],
                    ),
                ),
                (
                    "exists",
                    database(),
                    facts(|f| {
                        f.sql = sql(|s| {
                            s.databases.insert("keystone".into());
                        })
                    }),
                    noop("database exists"),
                ),
            ],
        );
    }

    #[test]
    fn sql_user_table() {
        check(
            &[],
            vec![
                (
                    "MariaDB not running yet: at both hosts, password by placeholder",
                    user(SqlUserSyntax::Create),
                    bare(),
                    change(
                        Create,
                        "missing at localhost, % (MariaDB is not running yet)",
                        &[CREATE_USER],
                    ),
                ),
                (
                    "missing at one host",
                    user(SqlUserSyntax::Create),
                    with_users(&["keystone@localhost"], Some(true)),
                    change(Create, "missing at %", &[CREATE_USER]),
                ),
                (
                    "there, but the password from the secrets file does not log in",
                    user(SqlUserSyntax::Create),
                    with_users(&["keystone@localhost", "keystone@%"], Some(false)),
                    change(
                        Update,
                        "logging in with the password from the secrets file failed",
                        &[CREATE_USER],
                    ),
                ),
                (
                    "there, the login not tried: the password is set again",
                    user(SqlUserSyntax::Create),
                    with_users(&["keystone@localhost", "keystone@%"], None),
                    change(
                        Update,
                        "logging in with the password from the secrets file failed",
                        &[CREATE_USER],
                    ),
                ),
                (
                    "MariaDB 5.5 and MySQL 5.1: GRANT USAGE creates or sets the password",
                    user(SqlUserSyntax::Grant),
                    bare(),
                    change(
                        Create,
                        "missing at localhost, % (MariaDB is not running yet)",
                        &[
                            "mysql -N -B <<< GRANT USAGE ON *.* TO 'keystone'@'localhost' IDENTIFIED BY ((secret:keystone_db|sql));\nGRANT USAGE ON *.* TO 'keystone'@'%' IDENTIFIED BY ((secret:keystone_db|sql));",
                        ],
                    ),
                ),
                (
                    "at both hosts, and the password logs in",
                    user(SqlUserSyntax::Create),
                    with_users(&["keystone@localhost", "keystone@%"], Some(true)),
                    noop("user exists at localhost, %; password login works"),
                ),
            ],
        );
    }

    #[test]
    fn sql_grant_table() {
        let granted = |grants: &[&str]| {
            facts(|f| f.sql = sql(|s| s.grants.extend(grants.iter().map(|g| g.to_string()))))
        };
        check(
            &[],
            vec![
                (
                    "MariaDB not running yet",
                    grant(),
                    bare(),
                    change(
                        Create,
                        "no grant at localhost, % (MariaDB is not running yet)",
                        &[
                            "mysql -N -B <<< GRANT ALL PRIVILEGES ON `keystone`.* TO 'keystone'@'localhost';\nGRANT ALL PRIVILEGES ON `keystone`.* TO 'keystone'@'%';",
                        ],
                    ),
                ),
                (
                    "granted at one host: only the other one",
                    grant(),
                    granted(&["keystone@localhost@keystone", "keystone@%@glance"]),
                    change(
                        Create,
                        "no grant at %",
                        &[
                            "mysql -N -B <<< GRANT ALL PRIVILEGES ON `keystone`.* TO 'keystone'@'%';",
                        ],
                    ),
                ),
                (
                    "granted at both",
                    grant(),
                    granted(&["keystone@localhost@keystone", "keystone@%@keystone"]),
                    noop("all privileges granted at localhost, %"),
                ),
            ],
        );
    }
}
