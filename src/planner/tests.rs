//! The shared parts of the planner: the fact query, secret names and checks,
//! and a host's plan as a whole.

use super::testkit::*;
use super::*;
use crate::desired::resource::{
    CommandSpec, DirectorySpec, FileSpec, IniEditSpec, KeystoneUserSpec, PackagesSpec,
    SqlDatabaseSpec, SqlUserSpec, SqlUserSyntax,
};
use crate::ini::IniSetting;

fn keystone_conf(content: &str) -> Resource {
    res(Kind::File(FileSpec {
        path: "/etc/keystone/keystone.conf".into(),
        content: content.into(),
        perms: perms("root", "keystone", 0o640),
        notify: vec![],
    }))
}

fn glance_api(value: &str) -> Resource {
    res(Kind::IniEdit(IniEditSpec {
        path: "/etc/glance/glance-api.conf".into(),
        settings: vec![IniSetting {
            section: "database".into(),
            key: "connection".into(),
            value: value.into(),
        }],
        perms: perms("root", "glance", 0o640),
        notify: vec![],
    }))
}

const DB_URL: &str =
    "connection = mysql+pymysql://keystone:((secret:keystone_db|dburl))@controller/keystone\n";

#[test]
fn the_query_asks_for_what_each_kind_compares() {
    let resources = [
        res(Kind::Packages(PackagesSpec {
            names: vec!["keystone".into(), "httpd".into()],
        })),
        keystone_conf(""),
        res(Kind::Directory(DirectorySpec {
            path: "/var/lib/glance/images".into(),
            perms: perms("glance", "glance", 0o750),
        })),
        res(Kind::Command(CommandSpec {
            name: "bootstrap".into(),
            run: "keystone-manage bootstrap".into(),
            user: None,
            stdin: None,
            creates: Some("/etc/keystone/fernet-keys/0".into()),
            unless: Some("login".into()),
            unless_stdin: Some("((secret:admin))\n".into()),
            unless_login: None,
            unless_amqp: Some(Box::new(crate::model::AmqpLogin {
                user: "openstack".into(),
                vhost: "/".into(),
                password: "rabbit_openstack".into(),
                port: 5672,
            })),
            explain: None,
            notify: vec![],
            timeout_secs: 600,
            starts_cluster: None,
        })),
        res(Kind::SqlUser(SqlUserSpec {
            name: "keystone".into(),
            password: "keystone_db".into(),
            syntax: SqlUserSyntax::Create,
        })),
        api(v3()),
        res(Kind::KeystoneUser(KeystoneUserSpec {
            name: "glance".into(),
            password: "glance_user".into(),
        })),
    ];
    let q = query(&resources);
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(q.packages, set(&["httpd", "keystone"]));
    assert_eq!(q.contents, set(&["/etc/keystone/keystone.conf"]));
    assert_eq!(
        q.stats,
        set(&["/etc/keystone/fernet-keys/0", "/var/lib/glance/images"])
    );
    assert_eq!(q.checks, set(&["login"]));
    assert_eq!(q.check_stdin["login"], "((secret:admin))\n");
    assert!(q.sql);
    assert_eq!(q.sql_logins["keystone"], "keystone_db");
    assert_eq!(q.catalog, Some(v3()));
    assert_eq!(q.catalog_logins["glance"], "glance_user");
    let amqp: Vec<String> = q.amqp_logins.iter().map(|a| a.key()).collect();
    assert_eq!(amqp, ["openstack@/:5672"]);
    assert!(secret_names(&resources).contains("rabbit_openstack"));
    assert!(q.services.is_empty());
}

#[test]
fn secret_names_are_every_reference() {
    let resources = [
        keystone_conf(DB_URL),
        glance_api("((secret:glance_db|dburl))"),
        res(Kind::SqlUser(SqlUserSpec {
            name: "keystone".into(),
            password: "keystone_db".into(),
            syntax: SqlUserSyntax::Create,
        })),
        api(v2()),
        // a password that goes only into an API request is generated too
        res(Kind::KeystoneUser(KeystoneUserSpec {
            name: "nova".into(),
            password: "nova_pass".into(),
        })),
    ];
    let names: Vec<String> = secret_names(&resources).into_iter().collect();
    assert_eq!(
        names,
        [
            "admin",
            "admin_token",
            "glance_db",
            "keystone_db",
            "nova_pass"
        ]
    );
}

#[test]
fn secrets_that_no_database_url_can_carry_are_refused() {
    let store = |v: &str| SecretStore::from_values([("keystone_db".into(), v.into())]);
    let refused = |file: &str, ch| {
        Err(PlanError::UnencodableSecret {
            name: "keystone_db".into(),
            ch,
            file: file.into(),
        })
    };
    let ini = glance_api("mysql+pymysql://glance:((secret:keystone_db|dburl))@controller/glance");
    let rows: Vec<(&str, Resource, &str, Result<(), PlanError>)> = vec![
        (
            "`%` in a file's URL",
            keystone_conf(DB_URL),
            "50%off",
            refused("/etc/keystone/keystone.conf", '%'),
        ),
        (
            "`@` in a file's URL",
            keystone_conf(DB_URL),
            "me@home",
            refused("/etc/keystone/keystone.conf", '@'),
        ),
        // an ini_edit is named by its id
        (
            "`@` in an ini_edit's URL",
            ini.clone(),
            "me@home",
            refused("ini:/etc/glance/glance-api.conf", '@'),
        ),
        ("what URLs carry", ini, "q\"$#/:; x", Ok(())),
        (
            "`%` outside a URL",
            keystone_conf("password = ((secret:keystone_db|ini))\n"),
            "50%off",
            Ok(()),
        ),
    ];
    for (name, r, value, want) in rows {
        assert_eq!(
            check_secret_values(&[r], &store(value)),
            want,
            "row `{name}`"
        );
    }
    let e = check_secret_values(&[keystone_conf(DB_URL)], &store("50%off")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "secret `keystone_db` contains `%`, but it goes into a database URL in /etc/keystone/keystone.conf that OpenStack's db_sync (alembic, through Python's configparser) cannot read with `%` or `@` in any encoding; choose a value without `%` and `@` (quotes, `$`, `#`, `/`, `:`, `;` and spaces are fine)"
    );
}

#[test]
fn every_place_a_secret_lands_is_checked_in_its_encoding() {
    let store = |v: &str| SecretStore::from_values([("s".into(), v.into())]);
    let refused = |r: Resource, v: &str| match check_secret_values(&[r], &store(v)) {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    let paste = res(Kind::IniEdit(IniEditSpec {
        path: "/etc/glance/glance-api-paste.ini".into(),
        settings: vec![IniSetting {
            section: "filter:authtoken".into(),
            key: "admin_password".into(),
            value: "((secret:s|paste))".into(),
        }],
        perms: perms("root", "glance", 0o640),
        notify: vec![],
    }));
    assert_eq!(
        refused(paste.clone(), "50%(x)s"),
        "secret `s` contains `%(`, which cannot be written into a paste.deploy value in ini:/etc/glance/glance-api-paste.ini: Python 2's ConfigParser, which paste.deploy reads the file with, takes `%(` as an interpolation and has no escape for it; choose a value without it"
    );
    assert_eq!(refused(paste, "a$$b%c"), "ok");
    let legacy =
        keystone_conf("connection = mysql://keystone:((secret:s|dburl-sqla07))@c/keystone\n");
    assert_eq!(
        refused(legacy.clone(), "a/b"),
        "secret `s` contains `/`, which cannot be written into a database URL for SQLAlchemy 0.7/0.8 in /etc/keystone/keystone.conf: Havana to Juno allowed SQLAlchemy 0.7 and 0.8, whose URL parser ends the password at `/` and reads `+` as a space (0.9 fixed both); choose a value without it"
    );
    // `%` and `@` keep the message they had
    assert_eq!(
        check_secret_values(&[legacy], &store("a@b")),
        Err(PlanError::UnencodableSecret {
            name: "s".into(),
            ch: '@',
            file: "/etc/keystone/keystone.conf".into()
        })
    );
    let user = res(Kind::SqlUser(SqlUserSpec {
        name: "keystone".into(),
        password: "s".into(),
        syntax: SqlUserSyntax::Create,
    }));
    assert_eq!(
        refused(user.clone(), "a\0b"),
        "secret `s` contains `\\0`, which cannot be written into a MySQL option file in sql_user:keystone: MySQL option files are C strings: the value would end there; choose a value without it"
    );
    assert_eq!(refused(user, "a'\\\"\r#"), "ok");
    let stdin = res(Kind::Command(CommandSpec {
        name: "bootstrap".into(),
        run: "read -r pw".into(),
        user: None,
        stdin: Some("((secret:s))\n".into()),
        creates: None,
        unless: Some("true".into()),
        unless_stdin: None,
        unless_login: None,
        unless_amqp: None,
        explain: None,
        notify: vec![],
        timeout_secs: 600,
        starts_cluster: None,
    }));
    assert_eq!(
        refused(stdin.clone(), "a\0b"),
        "secret `s` contains `\\0`, which cannot be written into a line of a command's stdin in command:bootstrap: the command reads one line with `read -r`, and a shell variable cannot hold a NUL byte; choose a value without it"
    );
    assert_eq!(refused(stdin, "a\rb $'\""), "ok");
}

#[test]
fn a_host_plan_holds_the_changes_and_the_noops_in_order() {
    let mut a = res(Kind::Packages(PackagesSpec {
        names: vec!["httpd".into()],
    }));
    a.role = "base".into();
    let b = res(Kind::Packages(PackagesSpec {
        names: vec!["keystone".into()],
    }));
    let c = res(Kind::SqlDatabase(SqlDatabaseSpec {
        name: "keystone".into(),
        charset: "utf8mb4".into(),
        collation: "utf8mb4_general_ci".into(),
    }));
    let f = facts(|f| {
        f.packages.insert("httpd".into(), "2.4".into());
        f.sql = sql(|s| {
            s.databases.insert("keystone".into());
        });
    });
    let secrets = secrets();
    let masker = secrets.masker();
    let inp = Inputs {
        host: "controller",
        secrets: &secrets,
        masker: &masker,
        galera_bootstrap: None,
    };
    let p = plan_host(&inp, &[a, b, c], &f).unwrap();
    assert_eq!(p.host, "controller");
    assert_eq!(p.facts_digest, f.digest());
    let ids: Vec<&str> = p.changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["packages:keystone"]);
    assert_eq!(
        p.noops,
        [
            NoOp {
                id: "packages:httpd".into(),
                role: "base".into(),
                reason: "installed: httpd".into(),
            },
            NoOp {
                id: "sql_database:keystone".into(),
                role: "test".into(),
                reason: "database exists".into(),
            },
        ]
    );
}
