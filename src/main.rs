use clap::Parser;
use signal_hook::consts::SIGINT;
use signal_hook::flag;
use signal_hook::iterator::Signals;
use std::io::IsTerminal;
use std::sync::Once;
use std::sync::atomic::AtomicBool;

fn main() {
    let cli = match stackprov::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => std::process::exit(stackprov::commands::usage_error(
            &e,
            std::env::args_os(),
            &mut std::io::stdout(),
        )),
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
    let mut io = stackprov::commands::Io {
        out: &mut out,
        err: &mut err,
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        style,
        interrupted: &INTERRUPTED,
        arm_interrupt,
        forks: None,
    };
    let code = stackprov::commands::run(&cli, &stackprov::commands::ssh_connector, &mut io);
    std::process::exit(code);
}

/// Columns of the terminal on stdout, when it is one.
fn terminal_width() -> Option<u16> {
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0)
}

/// Set by the first Ctrl-C once `apply` is changing hosts.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// From here on, a first Ctrl-C asks for a graceful stop (it sets [`INTERRUPTED`]
/// and says so on stderr); a second one kills with SIGINT's default action.
/// Before this, SIGINT keeps its default action: Ctrl-C kills at once.
fn arm_interrupt() {
    static ARMED: Once = Once::new();
    ARMED.call_once(|| {
        if let Err(e) = arm() {
            tracing::warn!("Ctrl-C will kill at once: cannot handle SIGINT: {e}");
        }
    });
}

fn arm() -> std::io::Result<()> {
    // signal-hook runs a signal's actions in the order they were registered:
    // once the flag is set (by an earlier Ctrl-C), the default action kills
    // before anything else runs; the first Ctrl-C only sets the flag.
    flag::register_conditional_default(SIGINT, &INTERRUPTED)?;
    flag::register(SIGINT, &INTERRUPTED)?;
    // The message is printed by a thread woken through signal-hook's self-pipe,
    // not in the handler, where only async-signal-safe calls are allowed.
    let mut signals = Signals::new([SIGINT])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            eprintln!(
                "\ninterrupt: each host finishes the step it runs, then stops (Ctrl-C again kills)"
            );
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use signal_hook::consts::SIGINT;
    use signal_hook::low_level::raise;
    use std::os::unix::process::ExitStatusExt;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    const CHILD: &str = "STACKPROV_TEST_SIGINT_CHILD";

    /// Run in a child copy of this test binary, as a second SIGINT kills it.
    #[test]
    fn armed_first_ctrl_c_sets_the_flag_and_says_so_the_second_kills() {
        if std::env::var_os(CHILD).is_some() {
            return child();
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::armed_first_ctrl_c_sets_the_flag_and_says_so_the_second_kills",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.signal(), Some(SIGINT), "{stdout}{stderr}");
        assert!(stdout.contains("survived the first Ctrl-C"), "{stdout}");
        assert!(!stdout.contains("survived the second"), "{stdout}");
        assert_eq!(
            stderr
                .matches("\ninterrupt: each host finishes the step it runs, then stops (Ctrl-C again kills)\n")
                .count(),
            1,
            "{stderr}"
        );
    }

    fn child() {
        super::arm_interrupt();
        super::arm_interrupt(); // a second arming changes nothing
        assert!(!super::INTERRUPTED.load(Ordering::SeqCst));
        raise(SIGINT).unwrap();
        let start = Instant::now();
        while !super::INTERRUPTED.load(Ordering::SeqCst) {
            assert!(start.elapsed() < Duration::from_secs(10), "flag never set");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(300)); // the message's thread
        println!("survived the first Ctrl-C");
        raise(SIGINT).unwrap();
        std::thread::sleep(Duration::from_secs(5));
        println!("survived the second");
    }
}
