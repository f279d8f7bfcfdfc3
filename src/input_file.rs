//! Files stackprov reads on the operator's machine (the site file, saved
//! plans and facts): regular files only, opened without blocking, read up to
//! a limit. What is checked is the open file itself (`fstat`), so what is
//! checked is what is read; the read stops one byte past the limit whatever
//! the file claims (`/proc` files say they are empty, `/dev/zero` never ends).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The largest saved plan or facts file read (64 MiB): a plan of a few hosts
/// is a few hundred kB, its saved facts a few MB.
pub const MAX_SAVED_BYTES: u64 = 64 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// It could not be opened or read.
    Io(std::io::Error),
    /// It is not a regular file: what it is ("a FIFO (named pipe)").
    NotRegular(&'static str),
    /// Larger than the limit: its size, or `None` when it grew while read.
    TooBig(Option<u64>),
}

/// A file's bytes and the metadata of the file that was read.
pub struct Input {
    pub bytes: Vec<u8>,
    pub meta: std::fs::Metadata,
}

/// Read `path`, a regular file of at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Input, ReadError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if let Some(what) = not_regular(&meta.file_type()) {
        return Err(ReadError::NotRegular(what));
    }
    if meta.len() > limit {
        return Err(ReadError::TooBig(Some(meta.len())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        // it grew while being read
        return Err(ReadError::TooBig(None));
    }
    Ok(Input { bytes, meta })
}

/// The first `n` bytes of `path` when it is a regular file (opened without
/// blocking); `None` otherwise. For telling what a file is by its content.
pub fn head(path: &Path, n: u64) -> Option<Vec<u8>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    if not_regular(&file.metadata().ok()?.file_type()).is_some() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(n).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// What a file that is not a regular file is ("a FIFO (named pipe)"), as
/// messages say it; `None` for a regular file.
pub fn not_regular(kind: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    Some(if kind.is_file() {
        return None;
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    })
}

/// Why a file only its owner should write (a saved plan, which `apply`
/// obeys) is refused, as OpenSSH refuses such a private key: owned by
/// another user, or writable by group or others. `None` when it is fine.
pub fn not_private(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Some(format!(
            "it is owned by uid {}, not by you (uid {me})",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    (mode & 0o022 != 0).then(|| format!("its mode {mode:04o} lets others than you write it"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(read_regular(&p, 3).unwrap().bytes, b"abc");
        assert!(matches!(
            read_regular(&p, 2),
            Err(ReadError::TooBig(Some(3)))
        ));
        assert!(matches!(
            read_regular(dir.path(), 9),
            Err(ReadError::NotRegular("a directory"))
        ));
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 9),
            Err(ReadError::NotRegular("a character device"))
        ));
    }

    #[test]
    fn a_file_others_can_write_is_not_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(not_private(&std::fs::metadata(&p).unwrap()), None);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o620)).unwrap();
        assert_eq!(
            not_private(&std::fs::metadata(&p).unwrap()).as_deref(),
            Some("its mode 0620 lets others than you write it")
        );
    }
}
