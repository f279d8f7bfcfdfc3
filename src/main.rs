use clap::Parser;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

fn main() {
    let cli = match stackprov::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                stackprov::cmd::EXIT_ERROR
            } else {
                0
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STACKPROV_LOG")
                .unwrap_or_else(|_| level.into()),
        )
        .with_ansi(stackprov::render::Style::detect().color)
        .without_time()
        .init();
    let mut style = stackprov::render::Style::detect();
    // Log lines on stderr would tear a status line redrawn in place.
    style.live &= cli.verbose == 0;
    style.verbose = cli.verbose > 0;
    if let Some(w) = terminal_width() {
        style.width = w;
    }
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let mut io = stackprov::cmd::Io {
        out: &mut out,
        err: &mut err,
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        style,
        interrupted: &INTERRUPTED,
        arm_interrupt,
    };
    let code = stackprov::cmd::run(&cli, &stackprov::cmd::ssh_connector, &mut io);
    std::process::exit(code);
}

/// Columns of the terminal on stdout, when it is one.
fn terminal_width() -> Option<u16> {
    // SAFETY: TIOCGWINSZ only fills the winsize it is given.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col)
}

/// Set by the first Ctrl-C once `apply` is changing hosts.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let msg =
        b"\ninterrupt: each host finishes the step it runs, then stops (Ctrl-C again kills)\n";
    // SAFETY: write(2) is async-signal-safe; the buffer is a static byte string.
    unsafe {
        libc::write(libc::STDERR_FILENO, msg.as_ptr().cast(), msg.len());
    }
}

/// From here on, a first Ctrl-C asks for a graceful stop; the handler then
/// gives way (SA_RESETHAND), so a second one kills as usual.
fn arm_interrupt() {
    // SAFETY: a zeroed sigaction with a valid handler, an empty mask and plain flags.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}
