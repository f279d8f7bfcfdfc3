//! The playbook parser's refusals of a command's `unless_amqp` guard, and
//! its defaults: each error names the playbook, the line and the fix.

use super::*;
use crate::model::AmqpLogin;

/// The first resource of a one-entry playbook `playbooks/test.yaml`.
fn load(text: &str) -> Result<Option<(Resource, bool)>, DesiredError> {
    let root = yaml::parse(text).unwrap();
    let cx = tera::Context::new();
    let mut l = Loader {
        tera: tera().unwrap(),
        cx: &cx,
        file: "playbooks/test.yaml".into(),
    };
    let Value::Seq(items) = &root.value else {
        panic!("a playbook is a list")
    };
    resource(&mut l, "test", &items[0])
}

fn command(guard: &str) -> String {
    format!("- command:\n    name: rabbitmq user\n    run: \"true\"\n    unless_amqp: {guard}\n")
}

/// The parser's error for `unless_amqp: GUARD`, which must name the
/// guard's place (the playbook, line 4) and say `expected`.
fn refused(guard: &str, expected: &str) {
    let e = match load(&command(guard)) {
        Err(e) => e.to_string(),
        Ok(r) => panic!("`unless_amqp: {guard}` was taken: {r:?}"),
    };
    assert!(e.starts_with("playbooks/test.yaml:4:"), "{guard}: {e}");
    assert!(e.contains(expected), "{guard}: {e}");
}

/// The login a taken `unless_amqp: GUARD` asks for.
fn taken(guard: &str) -> AmqpLogin {
    let (r, _) = load(&command(guard)).unwrap().unwrap();
    let Kind::Command(CommandSpec {
        unless_amqp: Some(a),
        ..
    }) = &r.kind
    else {
        panic!("{r:?}")
    };
    (**a).clone()
}

#[test]
fn an_amqp_guard_takes_the_vhost_and_port_defaults() {
    let a = taken("{user: openstack, password: rabbit_openstack}");
    assert_eq!(
        (
            a.user.as_str(),
            a.vhost.as_str(),
            a.password.as_str(),
            a.port
        ),
        ("openstack", "/", "rabbit_openstack", 5672)
    );
    let a = taken("{user: nova, vhost: /nova, password: rabbit_nova, port: \"5673\"}");
    assert_eq!((a.vhost.as_str(), a.port), ("/nova", 5673));
}

#[test]
fn an_amqp_guard_that_is_not_a_mapping_is_refused_with_its_shape() {
    refused(
        "openstack",
        "`unless_amqp` expects a mapping: {user, vhost, password, port}",
    );
}

#[test]
fn an_amqp_guard_without_user_or_password_is_refused() {
    for guard in ["{user: openstack}", "{password: rabbit_openstack}", "{}"] {
        refused(
            guard,
            "`unless_amqp` needs `user` and `password` (a secret's name)",
        );
    }
}

#[test]
fn an_amqp_guard_with_a_bad_port_is_refused() {
    for port in ["abc", "0", "65536", "-1"] {
        refused(
            &format!("{{user: openstack, password: rabbit_openstack, port: \"{port}\"}}"),
            &format!("port `{port}` is not a TCP port (1 to 65535)"),
        );
    }
}

#[test]
fn amqp_names_over_255_bytes_are_refused() {
    let long = "u".repeat(256);
    for guard in [
        format!("{{user: {long}, password: rabbit_openstack}}"),
        format!("{{user: openstack, vhost: {long}, password: rabbit_openstack}}"),
    ] {
        refused(&guard, "AMQP user and vhost names are at most 255 bytes");
    }
    // 255 bytes is AMQP's short string: taken
    let ok = "u".repeat(255);
    assert_eq!(
        taken(&format!("{{user: {ok}, password: rabbit_openstack}}")).user,
        ok
    );
}

/// Every name a playbook may use is a kind [`kinds::kind`] reads.
#[test]
fn every_kind_name_is_read() {
    for name in kinds::KINDS {
        if let Err(e) = load(&format!("- {name}: {{}}\n")) {
            assert!(
                !e.to_string().contains("unknown resource kind"),
                "{name}: {e}"
            );
        }
    }
}
