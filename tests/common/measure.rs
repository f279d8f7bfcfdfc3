//! Running the real binary with its CPU time and peak RSS measured by
//! `wait4`: under 1 s of CPU time (user + system; the machine may be shared,
//! so wall time is only a 10 s guard against a hang, e.g. on a FIFO) and
//! under 50 MB peak RSS, for the hostile-input tests.
//!
//! A child's peak RSS as the kernel reports it includes its parent's size
//! when it was forked (the maximum is kept across `exec`), and the test
//! process may hold megabytes of hostile input. So each run is started by a
//! fresh, small copy of the test binary (the `measure::launcher` test below,
//! which does nothing unless the environment asks it to), and that copy
//! reports the run's own figures. A test binary uses it as
//! `#[path = "common/measure.rs"] mod measure;`.

use assert_cmd::cargo::CommandCargoExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const CPU_LIMIT: Duration = Duration::from_secs(1);
const WALL_GUARD: Duration = Duration::from_secs(10);
pub const RSS_LIMIT_KB: i64 = 50 * 1024;

/// Set for the copy of this binary that runs one command: the directory
/// for its report, the directory to run in, and the argument.
const LAUNCH: [&str; 3] = [
    "HOSTILE_SITE_REPORT",
    "HOSTILE_SITE_DIR",
    "HOSTILE_SITE_ARG",
];

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub cpu: Duration,
    pub max_rss_kb: i64,
}

/// `stackprov ARGS` in `dir`: exit code, output, CPU time and peak RSS of
/// that process alone.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let arg = args.join("\n");
    let report = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "measure::launcher",
            "--test-threads=1",
            "--quiet",
        ])
        .env(LAUNCH[0], report.path())
        .env(LAUNCH[1], dir)
        .env(LAUNCH[2], &arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    assert!(status.success(), "the launcher failed for `{arg}`");
    let read = |name: &str| std::fs::read_to_string(report.path().join(name)).unwrap();
    assert_ne!(
        read("report"),
        "hung\n",
        "`{arg}` still running after {WALL_GUARD:?}: killed"
    );
    let figures: Vec<i64> = read("report")
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let [code, cpu_us, max_rss_kb] = figures[..] else {
        panic!("bad report {figures:?}")
    };
    Run {
        code: code as i32,
        stdout: read("stdout"),
        stderr: read("stderr"),
        cpu: Duration::from_micros(cpu_us as u64),
        max_rss_kb,
    }
}

/// Not a test of its own: in the copy started by [`run_in`], run the
/// binary, wait for it with `wait4` (killing it past the guard) and write
/// its output and figures (exit code, CPU µs, peak RSS kB) to the report
/// directory.
#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4, which clippy does not know
fn launcher() {
    let Some([report, dir, arg]) = LAUNCH
        .iter()
        .map(|k| std::env::var_os(k).map(PathBuf::from))
        .collect::<Option<Vec<_>>>()
        .and_then(|v| <[PathBuf; 3]>::try_from(v).ok())
    else {
        return;
    };
    let file = |name: &str| std::fs::File::create(report.join(name)).unwrap();
    let mut child = Command::cargo_bin("stackprov")
        .unwrap()
        .current_dir(&dir)
        .args(arg.to_str().unwrap().split('\n'))
        .env("NO_COLOR", "1")
        .env_remove("STACKPROV_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(file("stdout"))
        .stderr(file("stderr"))
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped; the pointers are valid
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > WALL_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            std::fs::write(report.join("report"), "hung\n").unwrap();
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let us = |t: libc::timeval| t.tv_sec * 1_000_000 + t.tv_usec;
    let cpu = us(usage.ru_utime) + us(usage.ru_stime);
    std::fs::write(
        report.join("report"),
        format!("{code} {cpu} {}\n", usage.ru_maxrss),
    )
    .unwrap();
}

/// The default bound: under [`CPU_LIMIT`] of CPU time and [`RSS_LIMIT_KB`]
/// of peak RSS.
pub fn check_limits(what: &str, run: &Run) {
    check_within(what, run, CPU_LIMIT, RSS_LIMIT_KB);
}

/// A bound of the test's own, for an input whose size costs more than the
/// default allows (the test says why).
pub fn check_within(what: &str, run: &Run, cpu_limit: Duration, rss_limit_kb: i64) {
    // shown with --nocapture
    eprintln!("{what}: {:?} CPU, {} kB peak RSS", run.cpu, run.max_rss_kb);
    assert!(
        run.cpu < cpu_limit,
        "{what}: {:?} of CPU time (limit {cpu_limit:?})",
        run.cpu
    );
    assert!(
        run.max_rss_kb < rss_limit_kb,
        "{what}: peak RSS {} kB (limit {rss_limit_kb} kB)",
        run.max_rss_kb
    );
}
