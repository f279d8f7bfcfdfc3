//! Files on the host, one exec round trip each: `read_file` is `cat` behind an
//! existence test, `write_file` an atomic write (temp file beside the target,
//! fsync, chown, chmod, rename) fed the content on stdin. The scripts are
//! [`shell`]'s.

use super::SshTransport;
use super::shell;
use crate::transport::{FileSpec, TransportError};
use std::time::Duration;

const FILE_TIMEOUT: Duration = Duration::from_secs(300);

impl SshTransport {
    /// [`Transport::read_file`](crate::transport::Transport::read_file).
    pub(super) fn read_remote_file(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        let out = self.run_script(&shell::read_script(path), b"", FILE_TIMEOUT)?;
        if out.success() {
            return Ok(Some(out.stdout));
        }
        if out.status == shell::MISSING_STATUS && out.stderr_str().trim() == shell::MISSING_MARKER {
            return Ok(None);
        }
        Err(TransportError::io(format!(
            "{}: cannot read {path}: {}",
            self.name,
            out.stderr_str().trim()
        )))
    }

    /// [`Transport::write_file`](crate::transport::Transport::write_file).
    pub(super) fn write_remote_file(
        &self,
        spec: &FileSpec,
        content: &[u8],
    ) -> Result<(), TransportError> {
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd).map_err(|e| TransportError::io(format!("getrandom: {e}")))?;
        let script = shell::write_script(
            &spec.path,
            spec.owner.as_deref(),
            spec.group.as_deref(),
            spec.mode,
            &hex::encode(rnd),
        );
        let out = self.run_script(&script, content, FILE_TIMEOUT)?;
        if out.success() {
            Ok(())
        } else {
            Err(TransportError::io(format!(
                "{}: cannot write {}: {} (exit {}; nothing was changed)",
                self.name,
                spec.path,
                out.stderr_str().trim(),
                out.status
            )))
        }
    }
}
