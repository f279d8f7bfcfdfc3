//! Running the CLI in-process for tests, against a fake host or offline.

use clap::Parser;
use stackprov::cli::Cli;
use stackprov::commands::{self as cmd, Io};
use stackprov::fake::SharedFake;
use stackprov::render::Style;
use stackprov::transport::Transport;
use std::sync::atomic::AtomicBool;

#[allow(dead_code)] // not every test binary reads every field
pub struct Run {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// `stackprov ARGS` with every connection going to `host`; with `None` the
/// command must not connect at all (offline plans), and a connection fails the test.
#[allow(dead_code)] // not every test binary uses it
pub fn run_cli(host: Option<&SharedFake>, args: &[&str]) -> Run {
    run_cli_styled(host, args, Style::plain())
}

/// [`run_cli`] as seen on a terminal with `style`.
#[allow(dead_code)] // not every test binary uses it
pub fn run_cli_styled(host: Option<&SharedFake>, args: &[&str], style: Style) -> Run {
    let connect =
        |_: &stackprov::site::Site, _: &stackprov::site::Host| -> Result<Box<dyn Transport>, _> {
            match host {
                Some(h) => Ok(Box::new(h.clone()) as Box<dyn Transport>),
                None => panic!("this command must work offline, without connecting"),
            }
        };
    run_with(&connect, args, style)
}

/// `stackprov ARGS` with each host of the site going to its own fake, by name; a
/// host without one is unreachable.
#[allow(dead_code)] // not every test binary uses it
pub fn run_cli_hosts(hosts: &[(&str, &SharedFake)], args: &[&str]) -> Run {
    let connect = |_: &stackprov::site::Site,
                   h: &stackprov::site::Host|
     -> Result<Box<dyn Transport>, stackprov::transport::TransportError> {
        match hosts.iter().find(|(name, _)| *name == h.name) {
            Some((_, fake)) => Ok(Box::new((*fake).clone()) as Box<dyn Transport>),
            None => Err(stackprov::transport::TransportError::new(
                stackprov::transport::TransportErrorKind::Unreachable,
                format!(
                    "{}: cannot reach {}:22: connection refused",
                    h.name, h.address
                ),
            )),
        }
    };
    run_with(&connect, args, Style::plain())
}

/// [`run_cli`] with the Ctrl-C flag of the run in the test's hands.
#[allow(dead_code)] // not every test binary uses it
pub fn run_cli_interruptible(host: &SharedFake, args: &[&str], interrupted: &AtomicBool) -> Run {
    let connect = |_: &stackprov::site::Site,
                   _: &stackprov::site::Host|
     -> Result<Box<dyn Transport>, stackprov::transport::TransportError> {
        Ok(Box::new(host.clone()) as Box<dyn Transport>)
    };
    run_with_flag(&connect, args, Style::plain(), interrupted)
}

fn run_with(connect: &cmd::Connector<'_>, args: &[&str], style: Style) -> Run {
    run_with_flag(connect, args, style, &AtomicBool::new(false))
}

fn run_with_flag(
    connect: &cmd::Connector<'_>,
    args: &[&str],
    style: Style,
    interrupted: &AtomicBool,
) -> Run {
    let cli =
        Cli::try_parse_from(std::iter::once("stackprov").chain(args.iter().copied())).unwrap();
    // as main.rs sets it
    let style = Style {
        verbose: style.verbose || cli.verbose > 0,
        ..style
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = cmd::run(
        &cli,
        connect,
        &mut Io {
            out: &mut out,
            err: &mut err,
            interactive: false,
            style,
            interrupted,
            arm_interrupt: || {},
            forks: None,
        },
    );
    Run {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

/// CPU time (user + system) this thread has used so far.
#[allow(dead_code)] // not every test binary uses it
pub fn thread_cpu() -> std::time::Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) },
        0
    );
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Peak RSS of this test process so far, in kB (all its tests together):
/// `VmHWM`, the high-water mark of its own memory, which starts anew at
/// `exec` (`getrusage`'s maximum would count cargo, which started it).
#[allow(dead_code)] // not every test binary uses it
pub fn process_peak_rss_kb() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .expect("/proc/self/status has VmHWM");
    line.trim().trim_end_matches("kB").trim().parse().unwrap()
}

/// The bound of an in-process run on hostile input (the stackprov of
/// `common/measure.rs` runs in its own process): `f` may take `cpu` of this
/// thread's CPU time, and the whole test process may have peaked at
/// `rss_kb` after it (the test harness and every test's data count, so
/// this bound is coarser than the binary's: it catches runaway memory; and
/// a panic's backtrace costs some 120 MB in a debug build, so after one
/// failure others may fail this bound too).
#[allow(dead_code)] // not every test binary uses it
pub fn within<T>(what: &str, cpu: std::time::Duration, rss_kb: i64, f: impl FnOnce() -> T) -> T {
    let start = thread_cpu();
    let out = f();
    let used = thread_cpu() - start;
    assert!(used < cpu, "{what}: {used:?} of CPU time (limit {cpu:?})");
    let rss = process_peak_rss_kb();
    assert!(
        rss < rss_kb,
        "{what}: the test process peaked at {rss} kB (limit {rss_kb} kB)"
    );
    out
}

/// A fresh directory holding `site.yaml` with `site` and its secrets file
/// `site.secrets.yaml` with `secrets` (mode 0600, as stackprov requires);
/// the directory and the site file's path.
#[allow(dead_code)] // not every test binary uses it
pub fn site_dir(site: &str, secrets: &str) -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.yaml");
    std::fs::write(&path, site).unwrap();
    let s = dir.path().join("site.secrets.yaml");
    std::fs::write(&s, secrets).unwrap();
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = path.to_string_lossy().into_owned();
    (dir, path)
}
