//! Running one script on the host: a fresh channel per command with the become
//! wrapper, stdin fed while stdout and stderr are drained, the timeout, and
//! killing the command's processes when it runs over.

use super::SshTransport;
use super::nonblocking::{self, Fail};
use super::shell;
use crate::transport::{ExecOutput, TransportError, TransportErrorKind as Kind};
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

impl SshTransport {
    /// Run `command` (already a full command line) on a fresh channel.
    fn run(
        &self,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, TransportError> {
        self.run_killing(command, stdin, timeout, true)
    }

    /// [`Self::run`]; on timeout, the command's processes are killed only when
    /// `kill_on_timeout` (the kill itself runs with it off, so a kill that times
    /// out too is given up on, not retried without end).
    fn run_killing(
        &self,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
        kill_on_timeout: bool,
    ) -> Result<ExecOutput, TransportError> {
        let c = &self.conn;
        c.stats.trip();
        let start = Instant::now();
        let deadline = start + timeout;
        let mut ch = nonblocking::Chan::new(
            c,
            c.open(deadline, || c.sess.channel_session())
                .map_err(|f| self.fail(f, "open channel", timeout))?,
        );
        c.retry(deadline, || ch.exec(command))
            .map_err(|f| self.fail(f, "exec", timeout))?;
        c.stats.sent(command.len());
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let (mut pos, mut eof_sent, mut out_done, mut err_done) = (0usize, false, false, false);
        loop {
            let mut progress = false;
            if !eof_sent {
                if pos < stdin.len() {
                    match c.call_io(|| ch.write(&stdin[pos..])) {
                        Ok(n) => {
                            pos += n;
                            c.stats.sent(n);
                            progress |= n > 0;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        // The command closed its stdin or exited: stop feeding it.
                        Err(_) => pos = stdin.len(),
                    }
                }
                if pos >= stdin.len() {
                    match c.call(|| ch.send_eof()) {
                        Ok(()) => eof_sent = true,
                        Err(e) if nonblocking::would_block(&e) => {}
                        Err(_) => eof_sent = true,
                    }
                }
            }
            for (done, sink, id) in [(&mut out_done, &mut out, 0), (&mut err_done, &mut err, 1)] {
                if *done {
                    continue;
                }
                match c.call_io(|| ch.stream(id).read(&mut buf)) {
                    Ok(0) => *done = true,
                    Ok(n) => {
                        sink.extend_from_slice(&buf[..n]);
                        c.stats.received(n);
                        progress = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => {
                        return Err(TransportError::new(
                            Kind::Unreachable,
                            format!("{}: connection lost while reading output: {e}", self.name),
                        ));
                    }
                }
            }
            if out_done && err_done {
                break;
            }
            if !progress {
                let now = Instant::now();
                if now >= deadline {
                    if kill_on_timeout {
                        self.kill(&mut ch);
                    } else {
                        self.conn.close_channel(&mut ch, Duration::from_secs(2));
                    }
                    return Err(TransportError::new(
                        Kind::Timeout,
                        format!(
                            "{}: command timed out after {:?} (channel closed, process sent SIGKILL)",
                            self.name, timeout
                        ),
                    ));
                }
                c.wait(deadline - now);
            }
        }
        let grace = Instant::now() + Duration::from_secs(10);
        let _ = c.retry(grace, || ch.wait_close());
        let status = match ch.exit_signal() {
            Ok(sig) if sig.exit_signal.is_some() => -1,
            _ => ch.exit_status().unwrap_or(-1),
        };
        tracing::debug!(host = %self.name, status, elapsed = ?start.elapsed(), out = out.len(), err = err.len(), "exec done");
        Ok(ExecOutput {
            status,
            stdout: out,
            stderr: err,
        })
    }

    /// On timeout: close the channel, then (one more exec) SIGKILL every process
    /// in the timed-out command's session (see [`shell::KILL_SIBLINGS_SCRIPT`]).
    /// libssh2's channel "signal" request is not reachable through ssh2, and sshd
    /// would refuse it for root processes under sudo anyway.
    fn kill(&self, ch: &mut ssh2::Channel) {
        self.conn.close_channel(ch, Duration::from_secs(2));
        let cmd = shell::command_line(shell::KILL_SIBLINGS_SCRIPT, self.become_root);
        if let Err(e) = self.run_killing(&cmd, b"", Duration::from_secs(10), false) {
            tracing::debug!(host = %self.name, error = %e, "could not kill the timed-out command");
        }
    }

    pub(super) fn fail(&self, f: Fail, what: &str, timeout: Duration) -> TransportError {
        match f {
            Fail::Deadline => TransportError::new(
                Kind::Timeout,
                format!("{}: {what} timed out after {timeout:?}", self.name),
            ),
            Fail::Ssh(e) if nonblocking::is_disconnect(&e) => TransportError::new(
                Kind::Unreachable,
                format!("{}: connection lost ({what}): {e}", self.name),
            ),
            Fail::Ssh(e) => TransportError::io(format!("{}: {what}: {e}", self.name)),
        }
    }

    /// Run a script with the become wrapper and turn sudo's password demand into
    /// an Auth error.
    pub(super) fn run_script(
        &self,
        script: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, TransportError> {
        tracing::debug!(host = %self.name, become_root = self.become_root, script, "exec");
        let out = self.run(
            &shell::command_line(script, self.become_root),
            stdin,
            timeout,
        )?;
        if self.become_root && out.status != 0 && shell::sudo_wants_password(&out.stderr) {
            return Err(TransportError::new(
                Kind::Auth,
                format!(
                    "user {} on {} needs passwordless sudo (NOPASSWD) for become: true \
                     (sudo said: {})",
                    self.endpoint.user,
                    self.name,
                    out.stderr_str().trim()
                ),
            ));
        }
        Ok(out)
    }
}
