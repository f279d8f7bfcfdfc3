//! `plan` and `apply` on hosts seen before: the OS probe and the facts
//! script for the OS the host had last time go in one exec (one round trip
//! instead of two; see `facts::os_cache`). The host runs the script only
//! when its probe prints exactly what it printed then; otherwise the run
//! goes on as for a new host, with the probe it just got.

use super::{
    Connector, Dropped, Gathered, Timings, Work, desired, gather_after, parallel, secrets_for,
    split,
};
use crate::error::Error;
use crate::error::HostError;
use crate::facts::os_cache::{self, Remembered};
use crate::facts::{self, Facts, OsFacts};
use crate::secrets::SecretStore;
use crate::site::{Host, Site};
use crate::transport::{ExecRequest, Transport};
use std::time::{Duration, Instant};

/// The line between the probe's output and the facts script's.
const END: &str = "--stackprov-os-probe-end--";

/// The probe, then `script` only when the probe printed `expected`.
pub fn probe_then(expected: &str, script: &str) -> String {
    let w = crate::quote::shell_word;
    format!(
        "os=$({}); printf '%s\\n{END}\\n' \"$os\"; [ \"$os\" = {} ] || exit 0\n{script}",
        facts::OS_SCRIPT,
        w(expected.trim_end_matches('\n'))
    )
}

/// The OS probe sent before the facts script did not print what the cache
/// remembered, so the script did not run: what it printed instead (the whole
/// output when it has no end line: not this script's output).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the OS probe printed another OS than last time")]
pub struct OtherOs {
    pub printed: String,
}

/// The facts script's output, or what the probe printed when it was not
/// `expected` (the script did not run).
pub fn split_probe<'a>(expected: &str, out: &'a str) -> Result<&'a str, OtherOs> {
    let Some((seen, rest)) = out.split_once(&format!("\n{END}\n")) else {
        return Err(OtherOs {
            printed: out.to_string(),
        });
    };
    if seen == expected.trim_end_matches('\n') {
        Ok(rest)
    } else {
        Err(OtherOs {
            printed: seen.to_string(),
        })
    }
}

/// The first round trip of a host not seen before (or changed): the OS probe.
fn probe(t: &mut dyn Transport) -> Result<(OsFacts, String), HostError> {
    let out = t.exec(&ExecRequest::new(facts::OS_SCRIPT).timeout(Duration::from_secs(60)))?;
    let text = out.stdout_str();
    Ok((facts::parse_os(&text)?, text))
}

/// A host the cache knows: its OS then, and its roles for that OS.
pub(super) struct Guess {
    seen: Remembered,
    os: OsFacts,
    resources: Vec<crate::desired::resource::Resource>,
}

fn guess(site: &Site, host: &Host) -> Option<Guess> {
    let seen = os_cache::recall(host)?;
    let os = facts::parse_os(&seen.probe).ok()?;
    let resources = desired(site, host, &os).ok()?;
    Some(Guess {
        seen,
        os,
        resources,
    })
}

/// Connect to every host, find its OS and roles, and for the hosts the cache
/// guessed right, their facts too; then the secrets every host needs.
#[allow(clippy::type_complexity)]
pub fn prepare(
    site: &Site,
    hosts: Vec<Host>,
    connect: &Connector<'_>,
) -> Result<(Vec<(Work, Option<Facts>)>, Vec<Dropped>, SecretStore), Error> {
    let guesses: Vec<Option<Guess>> = hosts.iter().map(|h| guess(site, h)).collect();
    let lists: Vec<&[_]> = guesses
        .iter()
        .flatten()
        .map(|g| g.resources.as_slice())
        .collect();
    // the guessed hosts' facts scripts need their secrets before connecting
    let early = if lists.is_empty() {
        None
    } else {
        Some(secrets_for(site, &lists)?)
    };
    let results = parallel(
        site.forks(),
        hosts.into_iter().zip(guesses).collect(),
        |(host, g)| {
            let name = host.name.clone();
            one(site, host, g, early.as_ref(), connect)
                .map_err(|error| Dropped { host: name, error })
        },
    );
    let (done, dropped) = split(results);
    let lists: Vec<&[_]> = done.iter().map(|(w, _)| w.resources.as_slice()).collect();
    let secrets = secrets_for(site, &lists)?;
    Ok((done, dropped, secrets))
}

/// One host: connect, then its OS (guessed right, with its facts, or
/// probed) and its roles for that OS.
pub(super) fn one(
    site: &Site,
    host: Host,
    g: Option<Guess>,
    secrets: Option<&SecretStore>,
    connect: &Connector<'_>,
) -> Result<(Work, Option<Facts>), HostError> {
    let started = Instant::now();
    let mut t = connect(site, &host)?;
    let connected = Instant::now();
    let key = t.host_key();
    let mut timings = Timings {
        connect: (connected - started).as_secs_f64(),
        ..Timings::default()
    };
    let work = |transport: Box<dyn Transport>, os, resources, timings| Work {
        host: host.clone(),
        transport,
        resources,
        os,
        http_requests: 0,
        started,
        timings,
    };
    let mut seen = None;
    if let (Some(g), Some(secrets), Some(key)) = (g, secrets, key.as_ref())
        && g.seen.host_key == *key
    {
        match gather_after(
            t.as_mut(),
            &g.os,
            &g.resources,
            secrets,
            &mut timings,
            Some(&g.seen.probe),
        )? {
            Gathered::Facts(f) => {
                tracing::debug!(host = %host.name, "OS as last time: probe and facts in one exec");
                return Ok((work(t, g.os, g.resources, timings), Some(*f)));
            }
            Gathered::OtherOs(text) => {
                tracing::debug!(host = %host.name, "the OS probe differs from last time");
                seen = Some((facts::parse_os(&text)?, text));
            }
        }
    }
    let (os, text) = match seen {
        Some(s) => s,
        None => probe(t.as_mut())?,
    };
    if let Some(key) = key {
        os_cache::remember(
            &host,
            &Remembered {
                host_key: key,
                probe: text,
            },
        );
    }
    let resources = desired(site, &host, &os)?;
    timings.os = connected.elapsed().as_secs_f64();
    Ok((work(t, os, resources, timings), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    /// The guard as a real shell runs it (this machine's /etc/os-release).
    #[test]
    fn the_script_runs_only_when_the_probe_prints_the_same() {
        let probe = sh(facts::OS_SCRIPT);
        assert!(probe.contains("ID="), "{probe}");
        let same = sh(&probe_then(&probe, "echo facts-ran"));
        assert_eq!(split_probe(&probe, &same), Ok("facts-ran\n"));

        let other = probe.replace("ID=", "ID=x");
        let out = sh(&probe_then(&other, "echo facts-ran"));
        assert!(!out.contains("facts-ran"), "{out}");
        assert_eq!(
            split_probe(&other, &out),
            Err(OtherOs {
                printed: probe.trim_end().to_string()
            })
        );

        // quotes in what the cache says cannot end the test's word
        let hostile = "ID='; echo facts-ran; '";
        let out = sh(&probe_then(hostile, "true"));
        assert!(!out.contains("facts-ran"), "{out}");
        assert!(split_probe(hostile, &out).is_err());
        // no end line at all: not the output of this script
        assert_eq!(
            split_probe(&probe, "facts-ran\n"),
            Err(OtherOs {
                printed: "facts-ran\n".into()
            })
        );
    }
}
