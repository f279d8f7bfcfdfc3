//! What each host's OS probe printed on the last run, by endpoint and
//! verified host key. With it, `plan` and `apply` send the probe and the
//! facts script for that OS in one exec (one round trip instead of two); the
//! host runs the facts script only when its probe prints the same again, and
//! stackprov uses those facts only then. A different probe (an upgraded or
//! reinstalled host) costs the second round trip it always cost, and
//! replaces the entry. Nothing secret is kept: the entry is the probe's text.
//!
//! Where: `$STACKPROV_CACHE_DIR`, else `$XDG_CACHE_HOME/stackprov`, else
//! `~/.cache/stackprov`; one file per endpoint under `os/`. A cache that
//! cannot be read or written is only a slower run (said at debug level).

use crate::site::Host;
use std::path::PathBuf;

const HEADER: &str = "stackprov os probe 1";

/// The OS probe a host printed last time, and the host key it was seen with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    pub host_key: String,
    pub probe: String,
}

fn dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = var("STACKPROV_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("stackprov"));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".cache").join("stackprov"))
}

/// `os/root@10.0.0.11_22`: the endpoint, in characters safe in a file name.
fn file(host: &Host) -> Option<PathBuf> {
    let name: String = format!("{}@{}_{}", host.user, host.address, host.port)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(dir()?.join("os").join(name))
}

/// The probe a host printed last time, if the cache has it.
pub fn recall(host: &Host) -> Option<Remembered> {
    let path = file(host)?;
    let text = std::fs::read_to_string(&path).ok()?;
    let mut lines = text.splitn(3, '\n');
    if lines.next()? != HEADER {
        tracing::debug!("{}: not an OS cache entry, ignored", path.display());
        return None;
    }
    let host_key = lines.next()?.to_string();
    let probe = lines.next()?.to_string();
    Some(Remembered { host_key, probe })
}

/// Keep what the probe printed, for the next run (written atomically).
pub fn remember(host: &Host, seen: &Remembered) {
    let Some(path) = file(host) else { return };
    let write = || -> std::io::Result<()> {
        let parent = path.parent().unwrap_or(&path);
        std::fs::create_dir_all(parent)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, format!("{HEADER}\n{}\n{}", seen.host_key, seen.probe))?;
        std::fs::rename(&tmp, &path)
    };
    if let Err(e) = write() {
        tracing::debug!("{}: OS cache not written: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(address: &str) -> Host {
        Host {
            name: "controller".into(),
            address: address.into(),
            port: 22,
            user: "root".into(),
            become_root: false,
            identity_file: None,
            roles: vec![],
            controller: false,
        }
    }

    #[test]
    fn file_names_are_the_endpoint_in_safe_characters() {
        let f = |a: &str| {
            file(&host(a))
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(f("10.0.0.11"), "root@10.0.0.11_22");
        assert_eq!(f("fe80::1%eth0"), "root@fe80__1_eth0_22");
        assert_eq!(f("../../etc/passwd"), "root@.._.._etc_passwd_22");
    }
}
