//! Host key fingerprints and known_hosts checking, read as OpenSSH's client reads
//! them (hostfile.c, match.c and check_host_key in sshconnect.c):
//!
//! - A host is looked up under its name: `host` on port 22, `[host]:port` on any
//!   other, in lowercase. An entry's host field is either a comma list of patterns
//!   (`*`, `?`, `!` negation, case-insensitive) or one hashed name,
//!   `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. A `[host]:22` entry is not the
//!   name of anything (OpenSSH looks port 22 up as plain `host`).
//! - Lines OpenSSH skips are skipped: comments, unknown markers, truncated lines,
//!   bad hashes, key types it does not know, keys that do not parse.
//! - Of the entries for the name: one holding the offered key makes it known; any
//!   other key recorded there (of any type) means the key has changed; none at all,
//!   new. A matching `@revoked` entry overrides all that.
//! - Off port 22, a name with nothing recorded under it falls back to the plain
//!   host name, where only an entry holding the very key offered counts
//!   (OpenSSH's "checking without port identifier"); a key revoked there is
//!   refused too (OpenSSH would go on as if nothing were recorded).
//! - `@cert-authority` lines are not used: libssh2 has no host certificates.
//!
//! Each entry keeps its file and line, so that a refusal can say where to look.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
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
        "sk-ssh-ed25519@openssh.com" => "ED25519-SK".into(),
        "ssh-rsa" => "RSA".into(),
        "ssh-dss" => "DSA".into(),
        "sk-ecdsa-sha2-nistp256@openssh.com" => "ECDSA-SK".into(),
        t if t.starts_with("ecdsa-sha2-") => "ECDSA".into(),
        t => t.to_ascii_uppercase(),
    }
}

/// How a host appears in known_hosts: `host`, or `[host]:port` off port 22
/// (OpenSSH's put_host_port), in lowercase as OpenSSH looks it up and records it.
pub fn host_pattern(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// A recorded key, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKey {
    pub file: PathBuf,
    pub line: usize,
    /// e.g. `ssh-ed25519` (`rsa-sha2-*` entries are `ssh-rsa` keys).
    pub key_type: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An entry for the host holds this key.
    Known,
    /// Nothing is recorded for the host. Off port 22, `port22` lists the entries
    /// under the plain host name (port 22's), none of which holds this key.
    Unknown { port22: Vec<KnownKey> },
    /// The host's entries hold other keys (all of them listed, in file order),
    /// whatever their type: the host key has changed.
    Mismatch { known: Vec<KnownKey> },
    /// The key is marked `@revoked`.
    Revoked { file: PathBuf, line: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    CertAuthority,
    Revoked,
}

/// One known_hosts line that names the host looked up and holds a key.
#[derive(Debug, Clone)]
struct Entry {
    file: PathBuf,
    line: usize,
    marker: Marker,
    /// The key's type, as in its blob.
    key_type: &'static str,
    blob: Vec<u8>,
}

impl Entry {
    fn known_key(&self) -> KnownKey {
        KnownKey {
            file: self.file.clone(),
            line: self.line,
            key_type: self.key_type.to_string(),
            fingerprint: fingerprint_sha256(&self.blob),
        }
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_blanks(s: &[u8]) -> &[u8] {
    &s[s.iter().take_while(|b| is_blank(**b)).count()..]
}

/// A line's marker, host field and the rest (key type, key, comment); `None` for
/// blank lines, comments and lines with a bad marker or nothing after the hosts.
fn split_line(line: &[u8]) -> Option<(Marker, &[u8], &[u8])> {
    let mut cp = skip_blanks(line);
    if cp.is_empty() || cp[0] == b'#' {
        return None;
    }
    let mut marker = Marker::None;
    while cp.first() == Some(&b'@') {
        if marker != Marker::None {
            return None; // only one marker
        }
        // As OpenSSH finds its end: the line's first space, else its first tab.
        let end = cp
            .iter()
            .position(|b| *b == b' ')
            .or_else(|| cp.iter().position(|b| *b == b'\t'))?;
        if end <= 1 || end >= 32 {
            return None;
        }
        marker = match &cp[..end] {
            b"@cert-authority" => Marker::CertAuthority,
            b"@revoked" => Marker::Revoked,
            _ => return None,
        };
        cp = skip_blanks(&cp[end..]);
    }
    let end = cp.iter().position(|b| is_blank(*b))?;
    Some((marker, &cp[..end], skip_blanks(&cp[end..])))
}

/// The type of key a known_hosts key-type name stands for, from OpenSSH's key
/// table (`rsa-sha2-256` and `-512` name RSA keys); `None` for names it does not know.
fn key_type_of_name(name: &[u8]) -> Option<&'static str> {
    Some(match name {
        b"ssh-ed25519" => "ssh-ed25519",
        b"sk-ssh-ed25519@openssh.com" => "sk-ssh-ed25519@openssh.com",
        b"ecdsa-sha2-nistp256" => "ecdsa-sha2-nistp256",
        b"ecdsa-sha2-nistp384" => "ecdsa-sha2-nistp384",
        b"ecdsa-sha2-nistp521" => "ecdsa-sha2-nistp521",
        b"sk-ecdsa-sha2-nistp256@openssh.com" | b"webauthn-sk-ecdsa-sha2-nistp256@openssh.com" => {
            "sk-ecdsa-sha2-nistp256@openssh.com"
        }
        b"ssh-dss" => "ssh-dss",
        b"ssh-rsa" | b"rsa-sha2-256" | b"rsa-sha2-512" => "ssh-rsa",
        b"ssh-ed25519-cert-v01@openssh.com" => "ssh-ed25519-cert-v01@openssh.com",
        b"sk-ssh-ed25519-cert-v01@openssh.com" => "sk-ssh-ed25519-cert-v01@openssh.com",
        b"ecdsa-sha2-nistp256-cert-v01@openssh.com" => "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        b"ecdsa-sha2-nistp384-cert-v01@openssh.com" => "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        b"ecdsa-sha2-nistp521-cert-v01@openssh.com" => "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        b"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com" => {
            "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"
        }
        b"ssh-dss-cert-v01@openssh.com" => "ssh-dss-cert-v01@openssh.com",
        b"ssh-rsa-cert-v01@openssh.com"
        | b"rsa-sha2-256-cert-v01@openssh.com"
        | b"rsa-sha2-512-cert-v01@openssh.com" => "ssh-rsa-cert-v01@openssh.com",
        _ => return None,
    })
}

/// The SSH strings of a blob, or `None` when it is not a sequence of them.
fn ssh_strings(mut blob: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !blob.is_empty() {
        let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
        out.push(blob.get(4..4usize.checked_add(len)?)?);
        blob = &blob[4 + len..];
    }
    Some(out)
}

/// Whether `blob` is a public key of `ktype` that OpenSSH would load: the right
/// fields, nothing after them, an Ed25519 key of 32 bytes, an RSA modulus of at
/// least 1024 bits. Certificates are only checked for their type: they are never
/// compared with anything but themselves.
fn loads_as(ktype: &str, blob: &[u8]) -> bool {
    if key_type(blob) != Some(ktype) {
        return false;
    }
    if ktype.ends_with("-cert-v01@openssh.com") {
        return true;
    }
    let Some(f) = ssh_strings(blob) else {
        return false;
    };
    let mpint = |m: &[u8]| !m.is_empty() && m[0] & 0x80 == 0;
    match ktype {
        "ssh-ed25519" => f.len() == 2 && f[1].len() == 32,
        "sk-ssh-ed25519@openssh.com" => f.len() == 3 && f[1].len() == 32,
        "sk-ecdsa-sha2-nistp256@openssh.com" => f.len() == 4 && f[1] == b"nistp256",
        "ssh-dss" => f.len() == 5 && f[1..].iter().all(|m| mpint(m)),
        "ssh-rsa" => {
            let bits = |m: &[u8]| {
                let m = &m[m.iter().take_while(|b| **b == 0).count()..];
                m.first()
                    .map_or(0, |b| (m.len() - 1) * 8 + (8 - b.leading_zeros() as usize))
            };
            f.len() == 3 && mpint(f[1]) && mpint(f[2]) && bits(f[2]) >= 1024
        }
        t => match t.strip_prefix("ecdsa-sha2-") {
            Some(curve) => f.len() == 3 && f[1] == curve.as_bytes() && !f[2].is_empty(),
            None => false,
        },
    }
}

/// The key type and blob of `type base64 [comment]`, when OpenSSH would load it.
fn parse_key(rest: &[u8]) -> Option<(&'static str, Vec<u8>)> {
    if rest.is_empty() || rest[0] == b'#' {
        return None;
    }
    let end = rest.iter().position(|b| is_blank(*b))?;
    let ktype = key_type_of_name(&rest[..end])?;
    let rest = skip_blanks(&rest[end..]);
    let token: Vec<u8> = rest
        .iter()
        .take_while(|b| !is_blank(**b))
        .filter(|b| !b.is_ascii_whitespace()) // a CR of a CRLF line
        .copied()
        .collect();
    let blob = STANDARD.decode(token).ok()?;
    loads_as(ktype, &blob).then_some((ktype, blob))
}

/// OpenSSH's match_pattern: `*` any run of bytes, `?` any one byte.
fn match_pattern(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|b| *b == b'*')
}

/// OpenSSH's match_hostname (`name` already lowercase): 1 when a pattern of the
/// comma list matches, -1 when a negated one does, else 0. A pattern of 1023
/// bytes or more makes the whole list fail, as there.
fn match_hostname(name: &[u8], list: &[u8]) -> i32 {
    let mut positive = false;
    let mut rest = list;
    while !rest.is_empty() {
        let (negated, r) = match rest.strip_prefix(b"!") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let end = r.iter().position(|b| *b == b',').unwrap_or(r.len());
        if end >= 1023 {
            return 0;
        }
        let sub = r[..end].to_ascii_lowercase();
        rest = r.get(end + 1..).unwrap_or(&[]);
        if match_pattern(name, &sub) {
            if negated {
                return -1;
            }
            positive = true;
        }
    }
    i32::from(positive)
}

/// Whether a hashed host field `|1|salt|hash` is `name`'s (a bad one never is).
fn hashed_matches(field: &[u8], name: &str) -> bool {
    let Some(rest) = field.strip_prefix(b"|1|") else {
        return false;
    };
    let Some(end) = rest.iter().position(|b| *b == b'|') else {
        return false;
    };
    if end == 0 || end > 1024 {
        return false;
    }
    let Ok(salt) = STANDARD.decode(&rest[..end]) else {
        return false;
    };
    if salt.len() != 20 {
        return false;
    }
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    let hashed = format!(
        "|1|{}|{}",
        STANDARD.encode(&salt),
        STANDARD.encode(mac.finalize().into_bytes())
    );
    hashed.as_bytes() == field
}

fn host_field_matches(field: &[u8], name: &str) -> bool {
    if field.first() == Some(&b'|') {
        hashed_matches(field, name)
    } else {
        match_hostname(name.as_bytes(), field) == 1
    }
}

/// The entries for `name` (lowercase, as [`host_pattern`] makes it) in `files`
/// (path and contents), in order.
fn entries_for(files: &[(PathBuf, Vec<u8>)], name: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (file, text) in files {
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            let Some((marker, hosts, rest)) = split_line(line) else {
                continue;
            };
            if !host_field_matches(hosts, name) {
                continue;
            }
            if let Some((key_type, blob)) = parse_key(rest) {
                out.push(Entry {
                    file: file.clone(),
                    line: i + 1,
                    marker,
                    key_type,
                    blob,
                });
            }
        }
    }
    out
}

enum Status<'a> {
    Known,
    New,
    Changed,
    Revoked(&'a Entry),
}

/// OpenSSH's check_key_in_hostkeys for a plain (not certificate) key.
fn status<'a>(entries: &'a [Entry], blob: &[u8]) -> Status<'a> {
    let mut st = Status::New;
    for e in entries.iter().filter(|e| e.marker == Marker::None) {
        if e.blob == blob {
            st = Status::Known;
            break;
        }
        st = Status::Changed;
    }
    match entries
        .iter()
        .find(|e| e.marker == Marker::Revoked && e.blob == blob)
    {
        Some(e) => Status::Revoked(e),
        None => st,
    }
}

fn plain_keys(entries: &[Entry]) -> Vec<KnownKey> {
    entries
        .iter()
        .filter(|e| e.marker == Marker::None)
        .map(Entry::known_key)
        .collect()
}

/// Missing or unreadable files are skipped, as OpenSSH does.
fn read_files(files: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    files
        .iter()
        .filter_map(|f| std::fs::read(f).ok().map(|t| (f.clone(), t)))
        .collect()
}

/// Check the offered key `blob` for `host`:`port` against `files` in order.
pub fn check(files: &[PathBuf], host: &str, port: u16, blob: &[u8]) -> Verdict {
    check_in(&read_files(files), host, port, blob)
}

fn check_in(files: &[(PathBuf, Vec<u8>)], host: &str, port: u16, blob: &[u8]) -> Verdict {
    let revoked = |e: &Entry| Verdict::Revoked {
        file: e.file.clone(),
        line: e.line,
    };
    let entries = entries_for(files, &host_pattern(host, port));
    match status(&entries, blob) {
        Status::Known => Verdict::Known,
        Status::Revoked(e) => revoked(e),
        Status::Changed => Verdict::Mismatch {
            known: plain_keys(&entries),
        },
        Status::New if port == 22 => Verdict::Unknown { port22: Vec::new() },
        Status::New => {
            let plain = entries_for(files, &host_pattern(host, 22));
            match status(&plain, blob) {
                Status::Known => Verdict::Known,
                Status::Revoked(e) => revoked(e),
                Status::New | Status::Changed => Verdict::Unknown {
                    port22: plain_keys(&plain),
                },
            }
        }
    }
}

/// Key types recorded for the host, in file order, for the host key algorithm
/// preference (OpenSSH's order_hostkeyalgs: so that a host known by RSA only is
/// not asked for ED25519 first). Looked up under the host's own name only.
pub fn known_types(files: &[PathBuf], host: &str, port: u16) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for e in entries_for(&read_files(files), &host_pattern(host, port)) {
        if e.marker == Marker::None && !types.iter().any(|t| t == e.key_type) {
            types.push(e.key_type.to_string());
        }
    }
    types
}

/// Why a new host key could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("host key blob has no type")]
    NoKeyType,
    #[error(
        "host name {0:?} contains a character known_hosts cannot hold literally \
         (one of @?*#[]|'\"\\); its key is not recorded"
    )]
    UnsafeName(String),
    #[error("no writable known_hosts file ({})", .0.join("; "))]
    NotWritable(Vec<String>),
}

/// Append `host_pattern keytype base64` (unhashed) to the first of `files` that
/// can be opened for appending (created, with its directory, when missing).
/// Returns that file. A host name with a pattern or hash character is refused,
/// as OpenSSH refuses to record it.
pub fn record(
    files: &[PathBuf],
    host: &str,
    port: u16,
    blob: &[u8],
) -> Result<PathBuf, RecordError> {
    let ktype = key_type(blob).ok_or(RecordError::NoKeyType)?;
    if host.contains(|c| "@?*#[]|'\"\\".contains(c)) {
        return Err(RecordError::UnsafeName(host.to_string()));
    }
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

    // Other keys, from ssh-keygen: B ed25519, E ecdsa-sha2-nistp256, R 1024-bit RSA.
    const B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIEFFSAtQePO2tmUvQB5IeiLPLAzxyQ/GfneH6QF/FUel";
    const E: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBN6wtLf2oTfCgMSeVolZBG88tb+eFrDZlCoNipJuuQKogBZzHzwTa2ylQUWyAwFX6lBeGTiB2MLMOz/xAmwhE4s=";
    const R: &str = "AAAAB3NzaC1yc2EAAAADAQABAAAAgQC894gAayDSTLFegCy8DP2v9wcuds+DIVX9S5PvOETtnRyBUJCGxB2h3XcBkyFRZ+pfbyTd22nRDWfPVpRqC+YzT7+EFTX70kvbps7goLzK1iqlt6wCoeZzacQo+rnh3wNdXDY0mSVIp4M81zNnMomWsDLLpIUQzdljjhTSGgjXOw==";
    // `ssh-keygen -H` of PUB under `[127.0.0.1]:2222`, `host.example` and
    // `[Host.Example]:2222` (which it lowercases).
    const H_LOCAL_2222: &str = "|1|fjtGew1Voyp2ntIGD2plmFjCPvQ=|aSXLyQ5Jvu1a5+e5a18t8o2pglI=";
    const H_HOST: &str = "|1|co5wUEx8fazsRO3qSKPmoF7IWXo=|zpuP4r2l3dC3stGf0pd1Uledhzk=";
    const H_HOST_2222: &str = "|1|KfR2pJ0SA2AQv8UdxNsnWnZybuM=|Oi6+Ll+CW2ZH3xg1d1IdCJcknno=";

    #[derive(Debug, PartialEq)]
    enum Want {
        Match,
        /// The line of the first recorded key listed.
        Mismatch(usize),
        NotFound,
        Revoked(usize),
    }
    use Want::*;

    fn key(name: &str) -> Vec<u8> {
        STANDARD
            .decode(match name {
                "A" => PUB,
                "B" => B,
                "E" => E,
                "R" => R,
                _ => unreachable!(),
            })
            .unwrap()
    }

    /// `A`, `B`, `E`, `R`, `HL`, `HH`, `HP` in `text` stand for the keys and hashes.
    fn file(text: &str) -> (PathBuf, Vec<u8>) {
        let text = text
            .replace("HL", H_LOCAL_2222)
            .replace("HH", H_HOST)
            .replace("HP", H_HOST_2222)
            .replace(" A", &format!(" {PUB}"))
            .replace(" B", &format!(" {B}"))
            .replace(" E", &format!(" {E}"))
            .replace(" R", &format!(" {R}"));
        (PathBuf::from("kh"), text.into_bytes())
    }

    fn verdict(text: &str, host: &str, port: u16, offered: &str) -> Want {
        match check_in(&[file(text)], host, port, &key(offered)) {
            Verdict::Known => Match,
            Verdict::Unknown { .. } => NotFound,
            Verdict::Mismatch { known } => Mismatch(known[0].line),
            Verdict::Revoked { line, .. } => Revoked(line),
        }
    }

    /// (known_hosts, host, port, offered key) → verdict, as OpenSSH's client decides.
    #[test]
    fn matching_follows_openssh() {
        let long = "x".repeat(1023);
        let long_list = format!("{long},h ssh-ed25519 A");
        let table: &[(&str, &str, u16, &str, Want)] = &[
            // Port 22: plain names.
            ("h ssh-ed25519 A", "h", 22, "A", Match),
            ("h ssh-ed25519 B", "h", 22, "A", Mismatch(1)),
            ("other ssh-ed25519 B", "h", 22, "A", NotFound),
            ("", "h", 22, "A", NotFound),
            // `[h]:22` is nobody's name: port 22 is looked up as `h`.
            ("[h]:22 ssh-ed25519 A", "h", 22, "A", NotFound),
            ("[h]:22 ssh-ed25519 B", "h", 22, "A", NotFound),
            // Other ports: `[h]:port`.
            ("[h]:2222 ssh-ed25519 A", "h", 2222, "A", Match),
            ("[h]:2222 ssh-ed25519 B", "h", 2222, "A", Mismatch(1)),
            ("[h]:2223 ssh-ed25519 A", "h", 2222, "A", NotFound),
            ("[h]:2222 ssh-ed25519 A", "h", 22, "A", NotFound),
            ("[h]:2222 ssh-ed25519 B", "h", 22, "A", NotFound),
            // Nothing under `[h]:2222`: a plain `h` entry counts only with this key.
            ("h ssh-ed25519 A", "h", 2222, "A", Match),
            ("h ssh-ed25519 B", "h", 2222, "A", NotFound),
            ("h ssh-ed25519 B\nh ssh-ed25519 A", "h", 2222, "A", Match),
            // ...and never over a key recorded under `[h]:2222`.
            (
                "[h]:2222 ssh-ed25519 B\nh ssh-ed25519 A",
                "h",
                2222,
                "A",
                Mismatch(1),
            ),
            (
                "h ssh-ed25519 A\n[h]:2222 ssh-ed25519 B",
                "h",
                2222,
                "A",
                Mismatch(2),
            ),
            // Any recorded key that is not this one, whatever its type, is a change.
            ("h ecdsa-sha2-nistp256 E", "h", 22, "A", Mismatch(1)),
            ("[h]:2222 ssh-rsa R", "h", 2222, "A", Mismatch(1)),
            (
                "[h]:2222 ecdsa-sha2-nistp256 E\n[h]:2222 ssh-rsa R",
                "h",
                2222,
                "A",
                Mismatch(1),
            ),
            // A matching entry anywhere for the name wins.
            ("h ssh-ed25519 B\nh ssh-ed25519 A", "h", 22, "A", Match),
            (
                "h ecdsa-sha2-nistp256 E\nh ssh-ed25519 A",
                "h",
                22,
                "A",
                Match,
            ),
            // RSA keys under their signature names.
            ("h rsa-sha2-256 R", "h", 22, "R", Match),
            ("h rsa-sha2-512 R", "h", 22, "A", Mismatch(1)),
            // @revoked: this key revoked for the name is refused, whatever else is there.
            (
                "@revoked h ssh-ed25519 A\nh ssh-ed25519 A",
                "h",
                22,
                "A",
                Revoked(1),
            ),
            (
                "[h]:2222 ssh-ed25519 A\n@revoked * ssh-ed25519 A",
                "h",
                2222,
                "A",
                Revoked(2),
            ),
            ("@revoked * ssh-ed25519 A", "h", 2222, "A", Revoked(1)),
            ("@revoked  h ssh-rsa R", "h", 22, "R", Revoked(1)),
            (
                "@revoked h ssh-ed25519 B\nh ssh-ed25519 A",
                "h",
                22,
                "A",
                Match,
            ),
            (
                "@revoked other ssh-ed25519 A\nh ssh-ed25519 A",
                "h",
                22,
                "A",
                Match,
            ),
            ("@revoked h ssh-ed25519 B", "h", 22, "A", NotFound),
            // Revoked under the port-22 name and looked up there: refused too.
            (
                "@revoked h ssh-ed25519 A\nh ssh-ed25519 A",
                "h",
                2222,
                "A",
                Revoked(1),
            ),
            // @cert-authority lines are not used, and bad markers skip the line.
            ("@cert-authority h ssh-ed25519 A", "h", 22, "A", NotFound),
            (
                "@cert-authority * ssh-ed25519 B\nh ssh-ed25519 A",
                "h",
                22,
                "A",
                Match,
            ),
            (
                "@cert-authority *.example ssh-ed25519 B",
                "h.example",
                22,
                "A",
                NotFound,
            ),
            ("@bogus h ssh-ed25519 B", "h", 22, "A", NotFound),
            (
                "@revoked @revoked h ssh-ed25519 A\nh ssh-ed25519 A",
                "h",
                22,
                "A",
                Match,
            ),
            ("@ h ssh-ed25519 B", "h", 22, "A", NotFound),
            // OpenSSH ends a marker at the line's first space: a tab after it spoils it.
            (
                "@revoked\th ssh-ed25519 A\nh ssh-ed25519 A",
                "h",
                22,
                "A",
                Match,
            ),
            // Patterns: comma lists, `*`, `?`, negation, case-insensitive.
            ("a,h,b ssh-ed25519 A", "h", 22, "A", Match),
            (
                "*.example ssh-ed25519 B",
                "host.example",
                22,
                "A",
                Mismatch(1),
            ),
            (
                "*.example,!bad.example ssh-ed25519 B",
                "bad.example",
                22,
                "A",
                NotFound,
            ),
            (
                "!bad.example,*.example ssh-ed25519 B",
                "bad.example",
                22,
                "A",
                NotFound,
            ),
            (
                "!bad.example ssh-ed25519 B",
                "good.example",
                22,
                "A",
                NotFound,
            ),
            ("h?st ssh-ed25519 A", "host", 22, "A", Match),
            ("h?st ssh-ed25519 A", "hst", 22, "A", NotFound),
            ("[h]:* ssh-ed25519 B", "h", 2222, "A", Mismatch(1)),
            ("* ssh-ed25519 B", "h", 2222, "A", Mismatch(1)),
            ("HOST.Example ssh-ed25519 A", "Host.EXAMPLE", 22, "A", Match),
            (
                "[HOST.Example]:2222 ssh-ed25519 B",
                "host.example",
                2222,
                "A",
                Mismatch(1),
            ),
            ("a,,h ssh-ed25519 A", "h", 22, "A", Match),
            (&long_list, "h", 22, "A", NotFound),
            // IPv6.
            ("[::1]:2222 ssh-ed25519 A", "::1", 2222, "A", Match),
            ("::1 ssh-ed25519 B", "::1", 22, "A", Mismatch(1)),
            // Hashed names (from ssh-keygen -H), with the same port rules.
            ("HL ssh-ed25519 A", "127.0.0.1", 2222, "A", Match),
            ("HL ssh-ed25519 A", "127.0.0.1", 2222, "B", Mismatch(1)),
            ("HL ssh-ed25519 A", "127.0.0.1", 22, "B", NotFound),
            ("HH ssh-ed25519 A", "host.example", 22, "B", Mismatch(1)),
            ("HH ssh-ed25519 A", "host.example", 2222, "A", Match),
            ("HH ssh-ed25519 A", "host.example", 2222, "B", NotFound),
            ("HP ssh-ed25519 A", "HOST.example", 2222, "B", Mismatch(1)),
            ("HP ssh-ed25519 A", "host.example", 2223, "B", NotFound),
            ("HH,h ssh-ed25519 B", "h", 22, "A", NotFound),
            ("|1|bad|hash ssh-ed25519 B", "h", 22, "A", NotFound),
            (
                "|2|co5wUEx8fazsRO3qSKPmoF7IWXo=|zpuP4r2l3dC3stGf0pd1Uledhzk= ssh-ed25519 B",
                "host.example",
                22,
                "A",
                NotFound,
            ),
            // Lines OpenSSH skips: truncated, bad keys, unknown types, a type that is
            // not the key's; comments and blank lines; CRLF endings are read.
            ("h", "h", 22, "A", NotFound),
            ("h ssh-ed25519", "h", 22, "A", NotFound),
            ("h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "h", 22, "A", NotFound),
            ("h ssh-ed25519 !!!!", "h", 22, "A", NotFound),
            ("h ssh-rsa A", "h", 22, "B", NotFound),
            ("h ecdsa-sha2-nistp384 E", "h", 22, "A", NotFound),
            ("h ssh-foo A", "h", 22, "B", NotFound),
            ("h #ssh-ed25519 B", "h", 22, "A", NotFound),
            (
                "# h ssh-ed25519 B\n\n  \t\n\th ssh-ed25519 B the comment",
                "h",
                22,
                "A",
                Mismatch(4),
            ),
            (
                "h ssh-ed25519 B\r\nh ssh-ed25519 A\r\n",
                "h",
                22,
                "A",
                Match,
            ),
            ("h ssh-ed25519 B\r\n", "h", 22, "A", Mismatch(1)),
            ("h\tssh-ed25519\t B", "h", 22, "A", Mismatch(1)),
        ];
        let mut wrong = Vec::new();
        for (text, host, port, offered, want) in table {
            let got = verdict(text, host, *port, offered);
            if got != *want {
                wrong.push(format!(
                    "{text:?} {host}:{port} {offered}: {got:?}, want {want:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    }

    /// Every file is read, in order: the mismatch lists each recorded key with its
    /// file and line; off port 22 an unknown key says what port 22's name holds.
    #[test]
    fn entries_across_files() {
        let files = [
            (
                PathBuf::from("user"),
                format!("x ssh-ed25519 {B}\n[h]:2222 ssh-ed25519 {B}\n").into_bytes(),
            ),
            (
                PathBuf::from("site"),
                format!("[h]:2222 ecdsa-sha2-nistp256 {E}\nh ssh-ed25519 {PUB}\n").into_bytes(),
            ),
        ];
        let Verdict::Mismatch { known } = check_in(&files, "h", 2222, &key("A")) else {
            panic!("mismatch expected");
        };
        let at: Vec<_> = known
            .iter()
            .map(|k| (k.file.display().to_string(), k.line, k.key_type.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                ("user".into(), 2, "ssh-ed25519"),
                ("site".into(), 1, "ecdsa-sha2-nistp256")
            ]
        );
        assert_eq!(known[0].fingerprint, fingerprint_sha256(&key("B")));

        let files = [(
            PathBuf::from("kh"),
            format!("h ssh-ed25519 {B}\n").into_bytes(),
        )];
        let Verdict::Unknown { port22 } = check_in(&files, "h", 2222, &key("A")) else {
            panic!("unknown expected");
        };
        assert_eq!((port22.len(), port22[0].line), (1, 1));
        assert_eq!(
            check_in(&files, "h", 22, &key("B")),
            Verdict::Known,
            "a missing file is no file"
        );
    }

    #[test]
    fn known_types_of_the_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("kh");
        std::fs::write(
            &f,
            format!(
                "h ssh-ed25519 {PUB}\n[h]:2222 rsa-sha2-256 {R}\n@revoked [h]:2222 ssh-ed25519 {B}\n\
                 @cert-authority [h]:2222 ssh-ed25519 {B}\n[h]:2222 ecdsa-sha2-nistp256 {E}\n\
                 [h]:2222 ssh-rsa {R}\n"
            ),
        )
        .unwrap();
        let files = [dir.path().join("missing"), f];
        assert_eq!(
            known_types(&files, "h", 2222),
            ["ssh-rsa", "ecdsa-sha2-nistp256"]
        );
        assert_eq!(known_types(&files, "H", 22), ["ssh-ed25519"]);
        assert!(known_types(&files, "other", 22).is_empty());
    }

    #[test]
    fn record_writes_the_lowercase_name_and_refuses_pattern_characters() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sub/kh");
        let blob = key("A");
        assert_eq!(
            record(std::slice::from_ref(&f), "Host.Example", 2222, &blob).unwrap(),
            f
        );
        record(std::slice::from_ref(&f), "Host.Example", 22, &blob).unwrap();
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            format!("[host.example]:2222 ssh-ed25519 {PUB}\nhost.example ssh-ed25519 {PUB}\n")
        );
        let files = [(f.clone(), std::fs::read(&f).unwrap())];
        assert_eq!(
            check_in(&files, "HOST.example", 2222, &blob),
            Verdict::Known
        );
        for bad in [
            "*", "h?", "a,b#", "[h]", "h|x", "a'b", "a\"b", "a\\b", "u@h",
        ] {
            assert!(
                matches!(
                    record(std::slice::from_ref(&f), bad, 22, &blob),
                    Err(RecordError::UnsafeName(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn patterns_as_match_pattern() {
        for (s, p, want) in [
            ("abc", "abc", true),
            ("abc", "a*", true),
            ("abc", "*c", true),
            ("abc", "*b*", true),
            ("abc", "a?c", true),
            ("abc", "a??c", false),
            ("abc", "", false),
            ("", "", true),
            ("", "*", true),
            ("aXbXc", "a*b*c", true),
            ("aXbX", "a*b*c", false),
            ("[h]:2222", "[h]:2222", true),
            ("[h]:2222", "[h]:22", false),
        ] {
            assert_eq!(match_pattern(s.as_bytes(), p.as_bytes()), want, "{s} {p}");
        }
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
        assert_eq!(host_pattern("H.Example", 22), "h.example");
    }
}
