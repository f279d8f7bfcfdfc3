//! Host key fingerprints and known_hosts checking.
//!
//! Host-name matching (plain, comma lists, `[host]:port`, hashed `|1|` entries) is
//! libssh2's; each line is checked on its own so that a mismatch can be reported
//! with the file and line of the stale entry and the fingerprint it expects.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};
use ssh2::{CheckResult, KnownHostFileKind, Session};
use std::io::Write;
use std::path::{Path, PathBuf};

/// OpenSSH's fingerprint format: `SHA256:` + unpadded base64 of the key blob's hash.
pub fn fingerprint_sha256(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

/// The algorithm name inside a key blob (its first SSH string), e.g. `ssh-ed25519`.
pub fn key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

/// How OpenSSH names a key type in messages: ED25519, ECDSA, RSA, DSA.
pub fn short_type(t: &str) -> String {
    match t {
        "ssh-ed25519" => "ED25519".into(),
        "ssh-rsa" => "RSA".into(),
        "ssh-dss" => "DSA".into(),
        t if t.starts_with("ecdsa-sha2-") => "ECDSA".into(),
        t => t.to_ascii_uppercase(),
    }
}

/// How a host appears in known_hosts: `host`, or `[host]:port` off port 22.
pub fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An entry with this key exists.
    Known,
    /// No entry for this host and key type.
    Unknown,
    /// An entry of the same key type holds another key.
    Mismatch {
        file: PathBuf,
        line: usize,
        expected: String,
    },
    /// The key is marked `@revoked`.
    Revoked { file: PathBuf, line: usize },
}

/// Check the offered key `blob` for `host`:`port` against `files` in order.
/// Missing or unreadable files are skipped. A matching entry anywhere wins over a
/// stale one (a host may be listed twice); a revoked key is refused outright.
pub fn check(sess: &Session, files: &[PathBuf], host: &str, port: u16, blob: &[u8]) -> Verdict {
    let Some(offered_type) = key_type(blob) else {
        return Verdict::Unknown;
    };
    let mut first_mismatch = None;
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (revoked, entry) = match line.strip_prefix('@') {
                Some(rest) => {
                    let (marker, entry) =
                        rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                    if marker != "revoked" {
                        continue; // @cert-authority: certificates are not used
                    }
                    (true, entry.trim())
                }
                None => (false, line),
            };
            let mut fields = entry.split_whitespace();
            let (Some(_hosts), Some(ktype), Some(kb64)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if ktype != offered_type {
                continue;
            }
            match check_line(sess, entry, host, port, blob) {
                Some(CheckResult::Match) if revoked => {
                    return Verdict::Revoked {
                        file: file.clone(),
                        line: i + 1,
                    };
                }
                Some(CheckResult::Match) => return Verdict::Known,
                Some(CheckResult::Mismatch) if !revoked && first_mismatch.is_none() => {
                    let expected = STANDARD
                        .decode(kb64)
                        .map(|b| fingerprint_sha256(&b))
                        .unwrap_or_else(|_| format!("(undecodable key {kb64:.16}...)"));
                    first_mismatch = Some(Verdict::Mismatch {
                        file: file.clone(),
                        line: i + 1,
                        expected,
                    });
                }
                _ => {}
            }
        }
    }
    first_mismatch.unwrap_or(Verdict::Unknown)
}

/// libssh2's verdict on one known_hosts line; `None` when it cannot parse it.
fn check_line(
    sess: &Session,
    entry: &str,
    host: &str,
    port: u16,
    blob: &[u8],
) -> Option<CheckResult> {
    let mut kh = sess.known_hosts().ok()?;
    kh.read_str(entry, KnownHostFileKind::OpenSSH).ok()?;
    Some(if port == 22 {
        kh.check(host, blob)
    } else {
        kh.check_port(host, port, blob)
    })
}

/// Key types already recorded for the host, in file order (for host key algorithm
/// preference, as OpenSSH does, so a known RSA-only host is not offered ED25519 first).
pub fn known_types(sess: &Session, files: &[PathBuf], host: &str, port: u16) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
                continue;
            }
            let mut f = line.split_whitespace();
            let (Some(_), Some(ktype), Some(_)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            // A dummy key: the host matches when libssh2 calls it a mismatch.
            let dummy = b"\0\0\0\x0bssh-ed25519\0\0\0\x01x";
            if matches!(
                check_line(sess, line, host, port, dummy),
                Some(CheckResult::Mismatch | CheckResult::Match)
            ) && !types.iter().any(|t| t == ktype)
            {
                types.push(ktype.to_string());
            }
        }
    }
    types
}

/// Append `host_pattern keytype base64` (unhashed) to the first of `files` that
/// can be opened for appending (created, with its directory, when missing).
/// Returns that file.
/// Why a new host key could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("host key blob has no type")]
    NoKeyType,
    #[error("no writable known_hosts file ({})", .0.join("; "))]
    NotWritable(Vec<String>),
}

pub fn record(
    files: &[PathBuf],
    host: &str,
    port: u16,
    blob: &[u8],
) -> Result<PathBuf, RecordError> {
    let ktype = key_type(blob).ok_or(RecordError::NoKeyType)?;
    let line = format!(
        "{} {} {}\n",
        host_pattern(host, port),
        ktype,
        STANDARD.encode(blob)
    );
    let mut errors = Vec::new();
    for file in files {
        match append(file, &line) {
            Ok(()) => return Ok(file.clone()),
            Err(e) => errors.push(format!("{}: {e}", file.display())),
        }
    }
    Err(RecordError::NotWritable(errors))
}

fn append(file: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        {
            std::fs::create_dir_all(dir)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    // Start on a fresh line if the file does not end with one.
    let len = f.metadata()?.len();
    if len > 0 {
        let text = std::fs::read(file)?;
        if text.last() != Some(&b'\n') {
            f.write_all(b"\n")?;
        }
    }
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ssh-keygen -lf` of `ssh-ed25519 PUB` prints this fingerprint.
    const PUB_FP: &str = "SHA256:ujt/zzVRxJ/dBc1ToRAizoLj5nITLjs7wNysf3OaMzg";
    const PUB: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIK4sB0ZYg5KsfgaXeP4VUV/cLsFnrpQ6UJE5DwqJVvCm";

    #[test]
    fn fingerprint_is_openssh_format() {
        let blob = STANDARD.decode(PUB).unwrap();
        assert_eq!(fingerprint_sha256(&blob), PUB_FP);
    }

    /// The same fingerprint from OpenSSH itself.
    #[test]
    #[ignore = "needs OpenSSH's ssh-keygen: scripts/test runs it"]
    fn fingerprint_matches_ssh_keygen() {
        let fp = fingerprint_sha256(&STANDARD.decode(PUB).unwrap());
        let out = std::process::Command::new("ssh-keygen")
            .args(["-lf", "/dev/stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(format!("ssh-ed25519 {PUB}\n").as_bytes())?;
                c.wait_with_output()
            })
            .expect("ssh-keygen (apt-get install openssh-client)");
        assert!(out.status.success());
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains(&fp), "ssh-keygen says {s}, we say {fp}");
    }

    #[test]
    fn key_type_and_names() {
        let blob = STANDARD.decode(PUB).unwrap();
        assert_eq!(key_type(&blob), Some("ssh-ed25519"));
        assert_eq!(short_type("ssh-ed25519"), "ED25519");
        assert_eq!(short_type("ecdsa-sha2-nistp256"), "ECDSA");
        assert_eq!(short_type("ssh-rsa"), "RSA");
        assert_eq!(key_type(b"\0\0"), None);
        assert_eq!(host_pattern("h", 22), "h");
        assert_eq!(host_pattern("h", 2222), "[h]:2222");
    }
}
