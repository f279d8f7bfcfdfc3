//! One file per command. Each returns a [`Status`] or an [`Error`]; [`run`]
//! prints the error and asks [`crate::error::exit_code`] for the exit code.

mod apply;
mod facts;
mod plan;
mod saved_plan;
mod validate;
mod verify;

use crate::cli::{Cli, Command, Format};
use crate::error::{Error, Status};
use crate::model::diagnostic::Diagnostic;
use crate::render::{Style, safe};
use crate::secrets::{MIN_SECRET_CHARS, SecretStore};
use crate::site::{Host, Site};
use crate::transport::{Transport, TransportError};
use std::io::Write;
use std::path::Path;

pub use crate::pipeline::Connector;

/// Real hosts: ssh2, host keys checked.
pub fn ssh_connector(site: &Site, host: &Host) -> Result<Box<dyn Transport>, TransportError> {
    Ok(Box::new(crate::transport::ssh::connect(
        &site.target(host),
    )?))
}

/// Output streams, so tests can capture them.
pub struct Io<'a> {
    pub out: &'a mut (dyn Write + Send),
    pub err: &'a mut (dyn Write + Send),
    /// Whether a person can answer a question on stdin.
    pub interactive: bool,
    pub style: Style,
    /// Set when the operator interrupts (Ctrl-C): `apply` lets each host finish
    /// the step it runs and starts no other.
    pub interrupted: &'a std::sync::atomic::AtomicBool,
    /// Called once `apply` starts changing hosts: from then on a first Ctrl-C
    /// sets `interrupted` instead of killing the run (the binary installs the
    /// signal handler here; before, Ctrl-C simply stops stackprov).
    pub arm_interrupt: fn(),
    /// `--forks`, a run setting from the command line (it overrides the
    /// site's `forks`); `run` sets it from the parsed arguments.
    pub forks: Option<usize>,
}

/// Run the command; the process's exit code.
pub fn run(cli: &Cli, connect: &Connector<'_>, io: &mut Io<'_>) -> i32 {
    let result = dispatch(cli, connect, io);
    if let Err(e) = &result {
        report(e, cli.format, io);
    }
    crate::error::exit_code(&result)
}

fn dispatch(cli: &Cli, connect: &Connector<'_>, io: &mut Io<'_>) -> Result<Status, Error> {
    let format = cli.format;
    io.forks = cli.forks.map(usize::from);
    match &cli.command {
        Command::Validate { site } => validate::run(site, format, io),
        Command::Schema => {
            let _ = writeln!(
                io.out,
                "{}",
                serde_json::to_string_pretty(&crate::site::schema::site_schema(
                    crate::desired::roles::roles().map_err(crate::error::HostError::from)?
                ))
                .unwrap_or_default()
            );
            Ok(Status::Success)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "stackprov", io.out);
            Ok(Status::Success)
        }
        Command::Facts { site, host, save } => {
            facts::run(site, host.as_deref(), save.as_deref(), format, connect, io)
        }
        Command::Plan {
            site,
            facts,
            out,
            detailed_exitcode,
            host,
            galera_bootstrap,
        } => plan::run(
            &plan::Args {
                site,
                saved_facts: facts.as_deref(),
                out: out.as_deref(),
                detailed: *detailed_exitcode,
                only: host.as_deref(),
                galera_bootstrap: galera_bootstrap.as_deref(),
            },
            format,
            connect,
            io,
        ),
        Command::Verify {
            site,
            host,
            tempest,
            tempest_concurrency,
            tempest_host,
        } => {
            let tempest = tempest.then(|| verify::TempestArgs {
                concurrency: *tempest_concurrency,
                host: tempest_host.as_deref(),
            });
            verify::run(site, host.as_deref(), tempest, format, connect, io)
        }
        Command::Apply {
            target,
            site,
            host,
            yes,
            galera_bootstrap,
        } => apply::run(
            &apply::Args {
                target,
                site: site.as_deref(),
                only: host.as_deref(),
                galera_bootstrap: galera_bootstrap.as_deref(),
                yes: *yes,
            },
            format,
            connect,
            io,
        ),
    }
}

/// clap's own refusal of the command line (`--forks 0`), or its `--help` or
/// `--version`: the process's exit code, 1 for a refusal and 0 for help. A
/// refusal is printed by clap on stderr, or, when the command line asks for
/// `--format json`, as the one JSON document on stdout, as [`report`] prints
/// every other error (`{"error": {"kind": "usage", ...}}`).
pub fn usage_error(
    e: &clap::Error,
    args: impl IntoIterator<Item = std::ffi::OsString>,
    out: &mut dyn Write,
) -> i32 {
    if !e.use_stderr() {
        let _ = e.print();
        return crate::error::EXIT_OK;
    }
    let code = crate::error::EXIT_ERROR;
    if !asks_for_json(args) {
        let _ = e.print();
        return code;
    }
    let text = e.render().to_string();
    let text = text.trim();
    let message = text.strip_prefix("error: ").unwrap_or(text);
    let _ = writeln!(
        out,
        "{}",
        serde_json::json!({"error": {"kind": "usage", "message": message, "exit_code": code}})
    );
    code
}

/// Whether a command line clap refused asks for `--format json` (its last
/// `--format`, before any `--`), as `--format json` or `--format=json`.
fn asks_for_json(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let mut json = false;
    let mut args = args.into_iter().skip(1);
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("--") => break,
            Some("--format") => json = args.next().is_some_and(|v| v == "json"),
            Some(a) if a.starts_with("--format=") => json = a == "--format=json",
            _ => {}
        }
    }
    json
}

/// How an error reaches the operator: on stderr for people; with
/// `--format json`, as the one JSON document on stdout (`{"error": ...}`).
fn report(e: &Error, format: Format, io: &mut Io<'_>) {
    match e {
        Error::Site(diags) => print_diags(diags, format, io),
        e if format == Format::Json => {
            let _ = writeln!(
                io.out,
                "{}",
                serde_json::json!({"error": {"kind": e.kind(), "message": e.to_string(), "exit_code": e.exit_code()}})
            );
        }
        e => {
            let _ = writeln!(io.err, "error: {}", safe(&e.to_string()));
        }
    }
}

fn print_diags(diags: &[Diagnostic], format: Format, io: &mut Io<'_>) {
    if format == Format::Json {
        // serialized straight from the diagnostics, in one write: 200k
        // problems made a tree of JSON values first (262 MB)
        let doc = JsonDiags {
            errors: JsonErrors(diags),
            valid: false,
        };
        let mut text = serde_json::to_vec(&doc).expect("strings and numbers serialize");
        text.push(b'\n');
        let _ = io.out.write_all(&text);
    } else {
        // one write: stderr is unbuffered, and a hostile file can hold 100k
        // problems (each diagnostic is several writes of its own)
        let mut text = String::new();
        for d in diags {
            use std::fmt::Write as _;
            let _ = writeln!(text, "{d}");
        }
        text.push_str(&format!("{} error(s)\n", diags.len()));
        let _ = io.err.write_all(text.as_bytes());
    }
}

/// `{"errors": [...], "valid": false}`, keys in the order a
/// `serde_json::Value` prints them (by name), as before.
#[derive(serde::Serialize)]
struct JsonDiags<'a> {
    errors: JsonErrors<'a>,
    valid: bool,
}

struct JsonErrors<'a>(&'a [Diagnostic]);

impl serde::Serialize for JsonErrors<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|d| JsonDiag {
            col: d.col,
            file: d.file.to_string_lossy(),
            hint: d.hint.as_deref(),
            line: d.line,
            message: &d.message,
            path: &d.path,
        }))
    }
}

/// One diagnostic, its keys by name.
#[derive(serde::Serialize)]
struct JsonDiag<'a> {
    col: usize,
    file: std::borrow::Cow<'a, str>,
    hint: Option<&'a str>,
    line: usize,
    message: &'a str,
    path: &'a str,
}

/// A warning on stderr for each secret too short to be masked everywhere
/// (named, never shown).
fn warn_weak(secrets: &SecretStore, io: &mut Io<'_>) {
    for name in secrets.weak() {
        let _ = writeln!(
            io.err,
            "warning: secret `{}` in {} is shorter than {MIN_SECRET_CHARS} characters, so it is masked only where it stands alone (not inside longer words); use a longer value, or delete the line to have stackprov generate one",
            safe(name),
            safe(&secrets.path.display().to_string())
        );
    }
}

/// The site file, its warnings told on stderr.
fn load_site(path: &Path, io: &mut Io<'_>) -> Result<Site, Error> {
    let mut site = crate::desired::check::load_site(path).map_err(Error::Site)?;
    if io.forks.is_some() {
        site.forks = io.forks;
    }
    for w in &site.warnings {
        let _ = writeln!(io.err, "warning: {w}");
    }
    Ok(site)
}

/// Write an output file (`plan --out`, `facts --save`) only its owner can
/// read, atomically; never over a file the command reads: the site file, the
/// secrets file, the site's known_hosts, a host's identity_file, ssh's own
/// files in `~/.ssh`, and the command's other `inputs` (`--facts`).
fn write_output(
    site: &Site,
    path: &Path,
    text: &str,
    inputs: &[(&Path, &'static str)],
) -> Result<(), Error> {
    // by the directory they are in and their name: the secrets file may not exist yet
    let place = |p: &Path| {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = std::fs::canonicalize(dir.unwrap_or(Path::new("."))).ok()?;
        Some(match std::fs::canonicalize(p) {
            Ok(full) => full,
            Err(_) => dir.join(p.file_name()?),
        })
    };
    let same = |a: &Path, b: &Path| matches!((place(a), place(b)), (Some(a), Some(b)) if a == b);
    let ssh_dir = std::env::var_os("HOME").map(|h| Path::new(&h).join(".ssh"));
    let ssh_files: Vec<(std::path::PathBuf, &'static str)> = ssh_dir
        .iter()
        .flat_map(|d| {
            [
                (d.join("known_hosts"), "the known_hosts file"),
                (d.join("config"), "ssh's config file"),
                (d.join("id_ed25519"), "a private key"),
                (d.join("id_ecdsa"), "a private key"),
                (d.join("id_rsa"), "a private key"),
            ]
        })
        .collect();
    let own = [
        (site.path.as_path(), "the site file"),
        (site.secrets_file.as_path(), "the secrets file"),
    ];
    let known = site
        .known_hosts
        .iter()
        .map(|p| (p.as_path(), "the known_hosts file"));
    let keys = site
        .hosts
        .iter()
        .filter_map(|h| h.identity_file.as_deref())
        .map(|p| (p, "a host's identity_file"));
    let ssh = ssh_files.iter().map(|(p, w)| (p.as_path(), *w));
    for (input, what) in own
        .into_iter()
        .chain(known)
        .chain(keys)
        .chain(ssh)
        .chain(inputs.iter().copied())
    {
        if same(path, input) {
            return Err(Error::WouldOverwrite {
                path: path.to_path_buf(),
                what,
            });
        }
    }
    write_private(path, text)
}

/// The bytes of a saved plan or facts file (`what`: "plan", "facts file"),
/// read as the site file is: a regular file, without blocking, at most
/// [`crate::input_file::MAX_SAVED_BYTES`].
fn read_saved(path: &Path, what: &str) -> Result<crate::input_file::Input, Error> {
    use crate::input_file::{MAX_SAVED_BYTES, ReadError};
    let p = path.display();
    let message = match crate::input_file::read_regular(path, MAX_SAVED_BYTES) {
        Ok(input) => return Ok(input),
        Err(ReadError::Io(e)) => format!("{p}: cannot read: {e}; check the path to the {what}"),
        Err(ReadError::NotRegular(kind)) => format!(
            "{p}: cannot read: it is {kind}, not a regular file; a saved {what} is a regular file that stackprov wrote"
        ),
        Err(ReadError::TooBig(size)) => format!(
            "{p}: the file is {} bytes; saved plans and facts are limited to {MAX_SAVED_BYTES} (64 MiB); is this the right file?",
            size.map_or_else(|| format!("more than {MAX_SAVED_BYTES}"), |n| n.to_string())
        ),
    };
    Err(Error::SavedFile {
        path: path.to_path_buf(),
        message,
    })
}

/// Write a file only its owner can read, atomically.
fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    Ok(crate::atomic_file::write_private(path, text.as_bytes())?)
}
