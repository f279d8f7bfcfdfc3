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

/// What a stackprov process may map (its address space, `RLIMIT_AS`) in
/// [`bounded_stackprov`]: a normal offline run maps under 100 MiB; a run that
/// grows past this fails to allocate and dies, which no pinned message survives.
#[allow(dead_code)] // not every test binary uses it
pub const AS_LIMIT_BYTES: u64 = 256 << 20;

/// The real binary with its memory bounded by [`AS_LIMIT_BYTES`] (set in the
/// child, so it bounds that process alone, unlike `getrusage`, whose figures
/// for a child include what it shared with the test before its exec).
#[allow(dead_code)] // not every test binary uses it
pub fn bounded_stackprov() -> assert_cmd::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("stackprov"));
    // SAFETY: setrlimit is async-signal-safe, and nothing else runs in the hook
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: AS_LIMIT_BYTES as libc::rlim_t,
                rlim_max: AS_LIMIT_BYTES as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    assert_cmd::Command::from_std(cmd)
}
