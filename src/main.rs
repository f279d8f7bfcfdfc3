use clap::Parser;
use std::io::IsTerminal;

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
