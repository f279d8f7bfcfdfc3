//! Where to connect: the site file's [`HostTarget`] merged with ~/.ssh/config into
//! an [`Endpoint`] (and one more for a `ProxyJump` bastion).
//!
//! The site file is treated like an `ssh` command line (`ssh -l USER -p PORT -i
//! IDENTITY ADDRESS`) and ~/.ssh/config like OpenSSH treats it, so what the site
//! states explicitly wins and the config fills in the rest:
//!
//! * The config is evaluated for the site `name` when a `Host` pattern other
//!   than `*` matches it, else for the `address`.
//! * `HostName` replaces the address only when the alias *is* the address (or the
//!   name and address are the same); an explicit, different site address wins.
//! * `User` applies when the site user is empty; `Port` when the site port is 22
//!   (the default, indistinguishable from unset).
//! * `IdentityFile`s are tried after the site's `identity_file`, before the
//!   defaults `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
//! * `ProxyJump` (exactly one hop, `[user@]host[:port]`, itself looked up in the
//!   config for `HostName`/`User`/`Port`/`IdentityFile`) has no site equivalent and
//!   always applies. The bastion's user defaults to the target's user.
//!
//! The config file is `$STACKPROV_SSH_CONFIG` when set, else `~/.ssh/config`
//! (see [`SshOptions`]).

use super::SshOptions;
use super::config;
use crate::transport::{HostTarget, TransportError, TransportErrorKind as Kind};
use std::path::PathBuf;

/// A resolved place to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Endpoint {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) identities: Vec<PathBuf>,
}

impl Endpoint {
    pub(super) fn display(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

pub(super) fn resolve(
    target: &HostTarget,
    opts: &SshOptions,
) -> Result<(Endpoint, Option<Endpoint>), TransportError> {
    let text = opts
        .config_file
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let home = opts.home();
    let by_name = config::lookup(&text, &target.name);
    let (cfg, alias_is_address) = if by_name.specific {
        let same = target.name == target.address;
        (by_name, same)
    } else {
        (config::lookup(&text, &target.address), true)
    };
    let host = match (&cfg.hostname, alias_is_address) {
        (Some(h), true) => h.clone(),
        _ => target.address.clone(),
    };
    let user = if target.user.is_empty() {
        cfg.user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".into())
    } else {
        target.user.clone()
    };
    let port = if target.port == 22 || target.port == 0 {
        cfg.port.unwrap_or(22)
    } else {
        target.port
    };
    let defaults: Vec<PathBuf> = opts
        .ssh_dir
        .iter()
        .flat_map(|d| ["id_ed25519", "id_ecdsa", "id_rsa"].map(|f| d.join(f)))
        .collect();
    let mut identities: Vec<PathBuf> = target.identity_file.iter().cloned().collect();
    identities.extend(
        cfg.identity_files
            .iter()
            .map(|p| config::expand_path(p, &home, &host, &user)),
    );
    identities.extend(defaults.iter().cloned());
    dedup(&mut identities);
    let ep = Endpoint {
        host,
        port,
        user: user.clone(),
        identities,
    };

    let jump = match cfg
        .proxy_jump
        .as_deref()
        .map(config::parse_jump)
        .transpose()
    {
        Err(e) => {
            return Err(TransportError::new(
                Kind::Unreachable,
                format!("{}: {e}", target.name),
            ));
        }
        Ok(None) | Ok(Some(None)) => None,
        Ok(Some(Some(spec))) => {
            let jc = config::lookup(&text, &spec.host);
            let jhost = jc.hostname.clone().unwrap_or(spec.host.clone());
            let juser = spec.user.clone().or(jc.user.clone()).unwrap_or(user);
            let mut ids: Vec<PathBuf> = jc
                .identity_files
                .iter()
                .map(|p| config::expand_path(p, &home, &jhost, &juser))
                .collect();
            ids.extend(target.identity_file.iter().cloned());
            ids.extend(defaults);
            dedup(&mut ids);
            Some(Endpoint {
                port: spec.port.or(jc.port).unwrap_or(22),
                host: jhost,
                user: juser,
                identities: ids,
            })
        }
    };
    Ok((ep, jump))
}

fn dedup(v: &mut Vec<PathBuf>) {
    let mut seen = Vec::new();
    v.retain(|p| {
        if seen.contains(p) {
            false
        } else {
            seen.push(p.clone());
            true
        }
    });
}
