//! Files stackprov writes on the operator's machine (saved plans and facts, the
//! secrets file): written whole or not at all, and readable by the owner only.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A private write that failed, with the file it was for.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Write atomically with mode 0600: a temporary file beside `path`, created
/// fresh (so the mode is always 0600), synced, renamed over `path`, and the
/// directory synced (so the rename itself survives a crash).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp.{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    replace_via(&tmp, path, bytes)
}

/// [`write_private`] through a temporary file the caller names (the secrets
/// store, which holds a lock, uses one fixed name so that a killed run leaves
/// no stray copies behind).
pub(crate) fn replace_via(tmp: &Path, path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let r = (|| -> std::io::Result<()> {
        // a leftover from a killed run with the same name would make create_new fail
        let _ = std::fs::remove_file(tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)?;
        // in two halves, so that a test can stop the writer between them
        let (first, rest) = bytes.split_at(bytes.len() / 2);
        f.write_all(first)?;
        #[cfg(any(test, feature = "testing"))]
        window::reached(window::Point::HalfWritten, tmp);
        f.write_all(rest)?;
        f.sync_all()?;
        #[cfg(any(test, feature = "testing"))]
        window::reached(window::Point::BeforeRename, tmp);
        std::fs::rename(tmp, path)?;
        sync_dir(path)
    })();
    r.map_err(|source| {
        let _ = std::fs::remove_file(tmp);
        WriteError {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// fsync the directory holding `path`, so that a rename into it is on disk.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(test)]
    SYNCED_DIRS.with(|d| d.borrow_mut().push(dir.to_path_buf()));
    Ok(())
}

/// Where a test can stop a writer inside the window that matters (the
/// temporary file exists, the file is not yet replaced), to kill it there
/// (tests/secrets_store.rs): a hook the `testing` feature builds in, which
/// nothing sets outside tests.
#[cfg(any(test, feature = "testing"))]
pub mod window {
    use std::path::Path;
    use std::sync::OnceLock;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Point {
        /// Half the bytes are in the temporary file.
        HalfWritten,
        /// All of them, synced; the rename is next.
        BeforeRename,
    }

    static HOOK: OnceLock<fn(Point, &Path)> = OnceLock::new();

    /// Call `hook` with the temporary file's path at each [`Point`] of every
    /// later write in this process (set once; later calls are ignored).
    pub fn set_hook(hook: fn(Point, &Path)) {
        let _ = HOOK.set(hook);
    }

    pub(crate) fn reached(point: Point, tmp: &Path) {
        if let Some(hook) = HOOK.get() {
            hook(point, tmp)
        }
    }
}

#[cfg(test)]
thread_local! {
    /// The directories this thread synced, for the tests.
    pub(crate) static SYNCED_DIRS: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_a_file_with_mode_0600_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Before, the rename was not synced: a crash just after it could lose
    /// the new file (or bring back the old one) although the write had returned.
    #[test]
    fn syncs_the_directory_after_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        SYNCED_DIRS.with(|d| d.borrow_mut().clear());
        write_private(&path, b"new").unwrap();
        assert_eq!(
            SYNCED_DIRS.with(|d| d.borrow().clone()),
            vec![dir.path().to_path_buf()]
        );
    }

    #[test]
    fn says_which_file_it_could_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("plan.json");
        let e = write_private(&path, b"x").unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot write {}: ", path.display())),
            "{e}"
        );
    }
}
