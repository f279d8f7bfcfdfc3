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
mod tests;
