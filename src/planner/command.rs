//! `command`: runs only when its `creates` path is missing or its `unless`
//! check fails.

use super::{Cx, Decision, PlanError, change, noop, notify_ops};
use crate::desired::resource::{CommandSpec, Resource};
use crate::host_commands;
use crate::plan::{Action, Op};

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource, s: &CommandSpec) -> Result<Decision, PlanError> {
    let CommandSpec {
        name: _,
        run,
        user,
        stdin,
        creates,
        unless,
        unless_login,
        unless_amqp,
        notify,
        timeout_secs,
        explain,
        starts_cluster,
        ..
    } = s;
    let facts = cx.facts;
    if let Some(c) = creates
        && facts.file(c).is_some()
    {
        return Ok(noop(format!("{c} exists")));
    }
    if let Some(u) = unless
        && facts.checks.get(u) == Some(&0)
    {
        return Ok(noop(match explain {
            Some(e) => format!("check passed; it runs only when {e}"),
            None => format!("check passed: {u}"),
        }));
    }
    if let Some(user) = unless_login
        && facts
            .catalog
            .as_ref()
            .is_some_and(|c| c.logins.get(user) == Some(&true))
    {
        return Ok(noop(match explain {
            Some(e) => format!("`{user}` logs in to Keystone; it runs only when {e}"),
            None => format!("`{user}` logs in to Keystone with the secrets file's password"),
        }));
    }
    let amqp = unless_amqp.as_ref().map(|a| (a, facts.amqp.get(&a.key())));
    if let Some((a, Some(f))) = amqp
        && f.ok
    {
        return Ok(noop(format!(
            "`{}` logs in to RabbitMQ (AMQP, port {}) and opens vhost `{}`",
            a.user, a.port, a.vhost
        )));
    }
    let reason = match (creates, unless, unless_login, amqp) {
        (Some(c), _, _, _) if facts.file(c).is_none() => format!("{c} does not exist"),
        (_, Some(u), _, _) => explain
            .clone()
            .unwrap_or_else(|| format!("check failed: {u}")),
        (_, _, Some(user), _) => explain
            .clone()
            .unwrap_or_else(|| format!("`{user}` cannot log in to Keystone")),
        (_, _, _, Some((a, f))) => format!(
            "`{}` cannot open vhost `{}`: {}",
            a.user,
            a.vhost,
            f.and_then(|f| f.why.clone()).unwrap_or_else(|| {
                "no AMQP login was tried (facts saved before stackprov made one)".into()
            })
        ),
        _ => "guard not met".to_string(),
    };
    let mut ops = notify_ops(cx, notify);
    ops.push(Op::Exec {
        script: host_commands::command(run, user.as_deref()),
        stdin: stdin.clone(),
        timeout_secs: *timeout_secs,
    });
    if let Some(service) = starts_cluster {
        // it starts the service with the configuration written above: a
        // restart after it would leave the cluster it just made
        if cx.notified.remove(service) {
            ops.push(super::exec(host_commands::journal_clear(service)));
        }
        cx.starts_cluster = Some(crate::plan::ClusterStart {
            change: r.id(),
            service: service.clone(),
        });
    }
    Ok(change(r, Action::Run, reason, ops).into())
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::{CommandSpec, Kind, Resource};
    use crate::plan::Action::Run;
    use crate::planner::testkit::*;

    const KEY: &str = "/etc/keystone/fernet-keys/0";
    const FERNET: &str = "cd / && su -s /bin/sh -c 'keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone' keystone";
    const TABLES: &str = "mysql -N -B -e 'DESCRIBE keystone.project'";
    const SYNC: &str = "cd / && su -s /bin/sh -c 'keystone-manage db_sync' keystone";
    const LOGIN: &str = "python3 -c 'login()'";
    const EXPLAIN: &str = "the admin cannot log in with the secrets file's password";

    fn command(
        run: &str,
        creates: Option<&str>,
        unless: Option<&str>,
        explain: Option<&str>,
        notify: &[&str],
    ) -> Resource {
        res(Kind::Command(CommandSpec {
            name: run.into(),
            run: run.into(),
            user: Some("keystone".into()),
            stdin: None,
            creates: creates.map(Into::into),
            unless: unless.map(Into::into),
            unless_stdin: None,
            unless_login: None,
            unless_amqp: None,
            explain: explain.map(Into::into),
            notify: notify.iter().map(|n| n.to_string()).collect(),
            timeout_secs: 900,
            starts_cluster: None,
        }))
    }

    fn fernet_setup() -> Resource {
        command(
            "keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone",
            Some(KEY),
            None,
            None,
            &["keystone"],
        )
    }

    fn db_sync() -> Resource {
        command("keystone-manage db_sync", None, Some(TABLES), None, &[])
    }

    fn bootstrap() -> Resource {
        command(
            "keystone-manage bootstrap",
            None,
            Some(LOGIN),
            Some(EXPLAIN),
            &[],
        )
    }

    fn bootstrap_by_login() -> Resource {
        let mut r = command("keystone-manage bootstrap", None, None, Some(EXPLAIN), &[]);
        if let Kind::Command(CommandSpec { unless_login, .. }) = &mut r.kind {
            *unless_login = Some("admin".into());
        }
        r
    }

    const RABBIT: &str = "rabbitmqctl set_permissions openstack '.*' '.*' '.*'";

    /// The messaging role's user command, guarded by an AMQP login.
    fn rabbit_user() -> Resource {
        let mut r = command(RABBIT, None, None, None, &[]);
        if let Kind::Command(CommandSpec {
            unless_amqp, user, ..
        }) = &mut r.kind
        {
            *user = None;
            *unless_amqp = Some(Box::new(crate::model::AmqpLogin {
                user: "openstack".into(),
                vhost: "/".into(),
                password: "rabbit_openstack".into(),
                port: 5672,
            }));
        }
        r
    }

    fn amqp_login(ok: bool, why: Option<&str>) -> crate::facts::Facts {
        facts(|f| {
            f.amqp.insert(
                "openstack@/:5672".into(),
                crate::facts::AmqpFact {
                    ok,
                    why: why.map(Into::into),
                },
            );
        })
    }

    fn check_exits(check: &str, status: i32) -> crate::facts::Facts {
        facts(|f| {
            f.checks.insert(check.into(), status);
        })
    }

    #[test]
    fn command_table_creates_and_checks() {
        check(
            &[],
            vec![
                (
                    "creates is missing: run, journal its notify first",
                    fernet_setup(),
                    bare(),
                    change(
                        Run,
                        "/etc/keystone/fernet-keys/0 does not exist",
                        &[
                            "mkdir -p /var/lib/stackprov && { grep -qx keystone /var/lib/stackprov/pending-restarts 2>/dev/null || echo keystone >> /var/lib/stackprov/pending-restarts; }",
                            FERNET,
                        ],
                    ),
                ),
                (
                    "creates exists",
                    fernet_setup(),
                    facts(|f| {
                        f.files.insert(
                            KEY.into(),
                            regular("", perms("keystone", "keystone", 0o600)),
                        );
                    }),
                    noop("/etc/keystone/fernet-keys/0 exists"),
                ),
                (
                    "the check fails",
                    db_sync(),
                    check_exits(TABLES, 1),
                    change(
                        Run,
                        "check failed: mysql -N -B -e 'DESCRIBE keystone.project'",
                        &[SYNC],
                    ),
                ),
                (
                    "the check did not run (MariaDB missing): run",
                    db_sync(),
                    bare(),
                    change(
                        Run,
                        "check failed: mysql -N -B -e 'DESCRIBE keystone.project'",
                        &[SYNC],
                    ),
                ),
                (
                    "the check passes",
                    db_sync(),
                    check_exits(TABLES, 0),
                    noop("check passed: mysql -N -B -e 'DESCRIBE keystone.project'"),
                ),
                (
                    "the check fails, and explain says what that means",
                    bootstrap(),
                    check_exits(LOGIN, 1),
                    change(
                        Run,
                        EXPLAIN,
                        &["cd / && su -s /bin/sh -c 'keystone-manage bootstrap' keystone"],
                    ),
                ),
                (
                    "the check passes, with explain",
                    bootstrap(),
                    check_exits(LOGIN, 0),
                    noop(
                        "check passed; it runs only when the admin cannot log in with the secrets file's password",
                    ),
                ),
            ],
        );
    }

    #[test]
    fn command_table_unless_login() {
        check(
            &[],
            vec![
                (
                    "unless_login: the admin logged in while the catalog was read",
                    bootstrap_by_login(),
                    facts(|f| {
                        f.catalog = catalog(|c| {
                            c.logins.insert("admin".into(), true);
                        })
                    }),
                    noop(
                        "`admin` logs in to Keystone; it runs only when the admin cannot log in with the secrets file's password",
                    ),
                ),
                (
                    "unless_login: Keystone refused the admin's password",
                    bootstrap_by_login(),
                    facts(|f| {
                        f.catalog = catalog(|c| {
                            c.refused = true;
                        })
                    }),
                    change(
                        Run,
                        EXPLAIN,
                        &["cd / && su -s /bin/sh -c 'keystone-manage bootstrap' keystone"],
                    ),
                ),
                (
                    "unless_login: Keystone not answering (a bare host): run",
                    bootstrap_by_login(),
                    bare(),
                    change(
                        Run,
                        EXPLAIN,
                        &["cd / && su -s /bin/sh -c 'keystone-manage bootstrap' keystone"],
                    ),
                ),
            ],
        );
    }

    #[test]
    fn command_table_unless_amqp_and_no_guard() {
        check(
            &[],
            vec![
                (
                    "unless_amqp: the login opened the vhost",
                    rabbit_user(),
                    amqp_login(true, None),
                    noop("`openstack` logs in to RabbitMQ (AMQP, port 5672) and opens vhost `/`"),
                ),
                (
                    "unless_amqp: the broker refused the password",
                    rabbit_user(),
                    amqp_login(false, Some("the login was refused (403 ACCESS_REFUSED)")),
                    change(
                        Run,
                        "`openstack` cannot open vhost `/`: the login was refused (403 ACCESS_REFUSED)",
                        &["cd / && rabbitmqctl set_permissions openstack '.*' '.*' '.*'"],
                    ),
                ),
                (
                    "unless_amqp: saved facts from before the AMQP login",
                    rabbit_user(),
                    bare(),
                    change(
                        Run,
                        "`openstack` cannot open vhost `/`: no AMQP login was tried (facts saved before stackprov made one)",
                        &["cd / && rabbitmqctl set_permissions openstack '.*' '.*' '.*'"],
                    ),
                ),
                (
                    "no guard at all: it always runs",
                    command("true", None, None, None, &[]),
                    bare(),
                    change(
                        Run,
                        "guard not met",
                        &["cd / && su -s /bin/sh -c true keystone"],
                    ),
                ),
            ],
        );
    }

    #[test]
    fn the_run_carries_its_stdin_and_timeout() {
        let mut r = bootstrap();
        if let Kind::Command(CommandSpec { stdin, user, .. }) = &mut r.kind {
            *stdin = Some("((secret:admin))\n".into());
            *user = None;
        }
        let d = plan(&[r], &check_exits(LOGIN, 1)).unwrap();
        let crate::planner::Decision::Change(c) = &d[0] else {
            panic!("{d:?}")
        };
        assert_eq!(
            c.ops,
            [crate::plan::Op::Exec {
                script: "cd / && keystone-manage bootstrap".into(),
                stdin: Some("((secret:admin))\n".into()),
                timeout_secs: 900,
            }]
        );
    }
}
