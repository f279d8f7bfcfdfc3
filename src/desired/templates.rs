//! The Tera side of playbooks and templates: the context a host's roles are
//! rendered with, the templates parsed once per process, and the `secret()`
//! function and filters they may call.

use super::{DesiredError, PlaybookError, PlaybookReason};
use crate::facts::OsFacts;
use crate::secrets::{Encoding, placeholder};
use crate::site::{Host, Site};
use serde_json::json;

/// Build the Tera context shared by playbooks and templates.
pub fn context(site: &Site, host: &Host, os: &OsFacts) -> Result<tera::Context, DesiredError> {
    let family = site.release.family();
    let profile = crate::desired::profile::for_host(os, site.release)?;
    let mut cx = tera::Context::new();
    cx.insert(
        "site",
        &json!({
            "name": site.name,
            "region": site.region,
            "controller": site.controller,
            "release": site.release.name(),
            "family": family,
            "package_proxy": site.package_proxy,
            "glance_registry": site.choices.glance_registry,
            "token_provider": site.choices.token_provider,
            "identity_api": site.choices.identity_api,
        }),
    );
    let controller_host = site.first_controller().unwrap_or(host);
    cx.insert("controller_address", &controller_host.address);
    cx.insert("ha", &ha_context(site, host));
    if let Some(ha) = &site.ha {
        // clients reach the controllers through the VIP
        cx.insert("controller_address", &ha.vip.to_string());
    }
    cx.insert(
        "host",
        &json!({"name": host.name, "address": host.address, "roles": host.roles}),
    );
    cx.insert(
        "os",
        &json!({"id": os.id, "version": os.version, "major": os.major(), "family": os.family,
                "package_manager": os.package_manager, "init": os.init, "container": os.container,
                "cpus": os.cpus}),
    );
    cx.insert("p", &profile);
    cx.insert(
        "stackprov",
        &json!({"policy_rc_marker": crate::host_commands::POLICY_RC_MARKER}),
    );
    Ok(cx)
}

/// `ha` in the context: null without `ha:`; else the VIP, the controllers
/// (name, address) in site-file order, this host's peers, whether it is the
/// first controller (`primary`: it bootstraps a new cluster and runs what is
/// done once) and its VRRP priority (the first highest).
fn ha_context(site: &Site, host: &Host) -> serde_json::Value {
    let Some(ha) = &site.ha else {
        return serde_json::Value::Null;
    };
    let controllers: Vec<&Host> = ha.controllers.iter().filter_map(|n| site.host(n)).collect();
    let index = controllers.iter().position(|h| h.name == host.name);
    json!({
        "vip": ha.vip.to_string(),
        "prefix": ha.prefix,
        "interface": ha.interface,
        "router_id": ha.router_id,
        "image_store": ha.image_store,
        "controllers": controllers.iter().map(|h| json!({"name": h.name, "address": h.address})).collect::<Vec<_>>(),
        "addresses": controllers.iter().map(|h| h.address.clone()).collect::<Vec<_>>(),
        "peers": controllers.iter().filter(|h| h.name != host.name).map(|h| h.address.clone()).collect::<Vec<_>>(),
        "primary": index == Some(0),
        "priority": 250usize.saturating_sub(10 * index.unwrap_or(0)).max(1),
    })
}

/// One template of templates/ rendered for a host outside its roles (Tempest's
/// configuration), with `extra` values added to the context. Secrets stay
/// placeholders, as in every template.
pub fn render_template(
    site: &Site,
    host: &Host,
    os: &OsFacts,
    name: &str,
    extra: &[(&str, serde_json::Value)],
) -> Result<String, DesiredError> {
    let mut cx = context(site, host, os)?;
    for (k, v) in extra {
        cx.insert(*k, v);
    }
    tera()?.render(name, &cx).map_err(|e| {
        PlaybookError::new(
            format!("templates/{name}"),
            PlaybookReason::Tera(tera_error(&e)),
        )
        .into()
    })
}

/// The templates, parsed once per process (cloned for each role: rendering
/// `render_str` adds a one-off template to the instance).
pub(super) fn tera() -> Result<tera::Tera, DesiredError> {
    static PARSED: std::sync::OnceLock<Result<tera::Tera, DesiredError>> =
        std::sync::OnceLock::new();
    PARSED.get_or_init(parse_templates).clone()
}

fn parse_templates() -> Result<tera::Tera, DesiredError> {
    let mut t = tera::Tera::default();
    t.add_raw_templates(crate::desired::assets::templates())
        .map_err(|e| PlaybookError::new("templates/", PlaybookReason::Tera(tera_error(&e))))?;
    t.register_function("secret", secret_fn);
    t.register_filter("apt_conf_url", apt_conf_url_filter);
    t.autoescape_on(vec![]);
    Ok(t)
}

/// `secret(name="keystone_db", enc="url")`: the placeholder, never the value.
fn secret_fn(args: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let name = args
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or("secret() needs name=\"...\"")?;
    let enc = match args.get("enc").and_then(|v| v.as_str()) {
        None => Encoding::Plain,
        Some(e) => e
            .parse()
            .map_err(|_| format!("secret(): unknown enc `{e}`"))?,
    };
    Ok(tera::Value::String(placeholder::of(name, enc)))
}

/// `{{ url | apt_conf_url }}`: a URL as it may stand inside an apt.conf string.
fn apt_conf_url_filter(
    v: &tera::Value,
    _: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let s = v.as_str().ok_or("apt_conf_url: expected a string")?;
    Ok(tera::Value::String(crate::quote::apt_conf_url(s)))
}

pub(super) fn tera_error(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The controller's address reaches every host, wherever the controller
    /// is listed; hosts are found by name ignoring case (both from the
    /// site's index, not a scan of its hosts for each host).
    #[test]
    fn every_host_gets_the_controller_address_wherever_it_is_listed() {
        let text = "site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 192.0.2.1}\n  - {name: b, address: 192.0.2.2}\n  - {name: C, address: 192.0.2.3, roles: [base, mariadb, keystone]}\n";
        let site =
            crate::desired::check::site_from_bytes(std::path::Path::new("s.yaml"), text.as_bytes())
                .unwrap();
        let os = crate::desired::stand_ins(site.release).remove(0);
        for name in ["a", "B", "c"] {
            let host = site.host(name).unwrap();
            assert!(host.name.eq_ignore_ascii_case(name));
            let cx = context(&site, host, &os).unwrap();
            assert_eq!(
                cx.get("controller_address"),
                Some(&json!("192.0.2.3")),
                "{name}"
            );
        }
        assert_eq!(site.first_controller().map(|h| h.name.as_str()), Some("C"));
        assert!(site.host("d").is_none());
    }
}
