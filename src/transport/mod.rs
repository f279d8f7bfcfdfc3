//! The only door to a host. Everything stackprov does to a machine goes through
//! [`Transport`]: ssh2 for real hosts ([`ssh`]); tests use an in-memory host
//! (`crate::fake`, compiled only for tests: `cfg(test)` or the `testing` feature).

pub mod ssh;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

/// What to run on the host. `script` is run by `sh -c` (through `sudo -n` when the
/// host has `become`); it must never contain a secret. Secrets travel in `stdin`.
#[derive(Debug, Clone)]
pub struct ExecRequest<'a> {
    pub script: &'a str,
    pub stdin: &'a [u8],
    pub timeout: Duration,
}

impl<'a> ExecRequest<'a> {
    pub fn new(script: &'a str) -> Self {
        ExecRequest {
            script,
            stdin: b"",
            timeout: Duration::from_secs(600),
        }
    }
    pub fn stdin(mut self, stdin: &'a [u8]) -> Self {
        self.stdin = stdin;
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status; -1 when the command was killed by a signal.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status == 0
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Where and how a file is written. The write is atomic: a temp file in the same
/// directory, fsync, chown/chmod, rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub path: String,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Permission bits, e.g. 0o640. `None` keeps 0644 for new files.
    pub mode: Option<u32>,
}

/// Counters for the benchmark and `--format json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransportStats {
    /// Requests that waited for the host to answer (exec, read, write, tunnel open).
    pub round_trips: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// A byte stream to a TCP port on the host's loopback, through the transport.
pub trait Tunnel: Read + Write + Send {}
impl<T: Read + Write + Send> Tunnel for T {}

pub trait Transport: Send {
    /// The host's name in the site file, for messages.
    fn name(&self) -> &str;

    /// Run a script; a non-zero exit is an `Ok` with that status, not an error.
    fn exec(&mut self, req: &ExecRequest<'_>) -> Result<ExecOutput, TransportError>;

    /// A file's bytes, or `None` when it does not exist.
    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, TransportError>;

    /// Write atomically (temp file in the same directory, fsync, chown/chmod, rename).
    fn write_file(&mut self, spec: &FileSpec, content: &[u8]) -> Result<(), TransportError>;

    /// Open a stream to `127.0.0.1:port` on the host (SSH direct-tcpip).
    fn open_tunnel(&mut self, port: u16) -> Result<Box<dyn Tunnel + '_>, TransportError>;

    /// Send later tunnels to this address on the host's side (an HA site's
    /// VIP, for `verify`); a transport without that choice keeps its own.
    fn set_service_address(&mut self, _address: &str) {}

    /// Tunnels opened later fail a read that waits longer than this for an
    /// answer (reading facts: a Keystone that hangs on its database is one
    /// that does not answer).
    fn set_tunnel_read_timeout(&mut self, _max: Option<Duration>) {}

    fn stats(&self) -> TransportStats;

    /// A second handle on the same connection, for work another thread does at
    /// the same time (reading the catalog while the facts script runs); its
    /// counters are this one's. `None` where the transport cannot share.
    fn fork(&self) -> Option<Box<dyn Transport>> {
        None
    }

    /// The fingerprint of the host key this connection verified (`SHA256:…`):
    /// what lets a run trust what it remembers of the host from the last one.
    /// `None` where there is no such key.
    fn host_key(&self) -> Option<String> {
        None
    }
}

/// How to reach one host, from the site file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTarget {
    /// The host's name in the site file (also tried as a ~/.ssh/config alias).
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Run commands through `sudo -n`.
    pub become_root: bool,
    pub identity_file: Option<PathBuf>,
    /// Extra known_hosts files checked before ~/.ssh/known_hosts (the site's own).
    pub known_hosts: Vec<PathBuf>,
    pub host_key_policy: HostKeyPolicy,
    /// Where [`Transport::open_tunnel`] reaches the host's services: its
    /// loopback, or in an HA site the node's own address (see
    /// [`crate::site::Site::service_address`]).
    pub service_address: String,
    pub connect_timeout: Duration,
}

/// OpenSSH's StrictHostKeyChecking, minus "no": there is no way to skip the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Unknown host keys are refused.
    #[default]
    Strict,
    /// Unknown host keys are recorded (and their fingerprint printed); a changed key is refused.
    AcceptNew,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportErrorKind {
    /// TCP connect failed or timed out, or the connection dropped.
    Unreachable,
    /// The host key is unknown (strict) or does not match.
    HostKey,
    /// No identity was accepted, or sudo wants a password.
    Auth,
    /// A command ran longer than its timeout.
    Timeout,
    /// Anything else on the wire or on the host.
    Io,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    pub kind: TransportErrorKind,
    pub message: String,
}

impl TransportError {
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
        }
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(TransportErrorKind::Io, message)
    }
}
