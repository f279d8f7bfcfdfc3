//! The secrets file: passwords and tokens by name, generated once from the OS
//! CSPRNG, kept in a 0600 YAML file beside the site, never regenerated.

use super::file::{self, Entry};
use super::secret::{MIN_SECRET_CHARS, Secret};
use crate::atomic_file::{WriteError, replace_via};
use crate::model::diagnostic::Diagnostic;
use crate::yaml::Mark;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Generated secrets: 32 characters from [A-Za-z0-9], about 190 bits, and safe
/// unescaped in URLs, INI files, SQL literals and shell words.
pub const GENERATED_LEN: usize = 32;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Why the secrets could not be loaded, generated or saved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file cannot be used as it is (points at the line to fix).
    #[error("{0}")]
    File(Box<Diagnostic>),
    #[error("cannot write the secrets file {}: {}", .0.path.display(), .0.source)]
    Write(WriteError),
    #[error("cannot lock the secrets file {} (with {}): {source}", .path.display(), .lock.display())]
    Lock {
        path: PathBuf,
        lock: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the secrets file {} changed while stackprov was adding to it; run the command again",
        .0.display()
    )]
    Changed(PathBuf),
    /// The new lines would not read back as the secrets they are for (a
    /// name no secrets file can hold, e.g. with a control character).
    #[error("cannot add to the secrets file {}: the new lines would not read back ({detail})", .path.display())]
    Unsaveable { path: PathBuf, detail: String },
    #[error("the OS random source failed: {0}")]
    Random(getrandom::Error),
}

impl From<Diagnostic> for StoreError {
    fn from(d: Diagnostic) -> Self {
        StoreError::File(Box::new(d))
    }
}

/// The file's bytes as they were read; never printed (they hold the secrets).
#[derive(Clone, Default, PartialEq, Eq)]
struct Raw(Vec<u8>);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

#[derive(Debug, Clone, Default)]
pub struct SecretStore {
    pub path: PathBuf,
    values: BTreeMap<String, Secret>,
    /// The file as read: saving keeps it byte for byte and appends to it.
    original: Raw,
    /// Names added since (appended on save, in this order).
    added: Vec<String>,
}

/// The exclusive lock on a secrets file (flock on `<file>.lock` beside the
/// file, or beside what a symlinked file points to); released when dropped.
#[derive(Debug)]
pub struct SecretsLock {
    /// The file writes go to: the secrets file, or the target of its link.
    target: PathBuf,
    _file: std::fs::File,
}

impl SecretStore {
    /// Read the file if it exists, strictly (see [`file`]); refuse it if
    /// group or others can read it, if it is not a regular file, or if it is
    /// a symlink to nothing.
    pub fn load(path: &Path) -> Result<SecretStore, Diagnostic> {
        let empty = || SecretStore {
            path: path.to_path_buf(),
            ..SecretStore::default()
        };
        let Some(bytes) = read_checked(path)? else {
            return Ok(empty());
        };
        let entries = file::parse(path, &bytes)?;
        let mut store = empty();
        for Entry { name, value } in entries {
            store.values.insert(name, Secret::new(value));
        }
        store.original = Raw(bytes);
        Ok(store)
    }

    /// Load the file and generate the names it lacks, saved at once. The
    /// file is read again under its lock before anything is generated, so
    /// concurrent runs (or sites sharing the file) add each name once and
    /// keep each other's. Returns the store and the names generated.
    pub fn load_generating<'a>(
        path: &Path,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(SecretStore, Vec<String>), StoreError> {
        let names: Vec<&str> = names.into_iter().collect();
        let store = SecretStore::load(path)?;
        if names.iter().all(|n| store.values.contains_key(*n)) {
            return Ok((store, Vec::new()));
        }
        let lock = SecretStore::lock(path)?;
        let mut store = SecretStore::load(path)?;
        let made = store.ensure(names)?;
        store.save(&lock)?;
        Ok((store, made))
    }

    /// Take the exclusive lock on the secrets file at `path` (waits for it).
    pub fn lock(path: &Path) -> Result<SecretsLock, StoreError> {
        let target = target_of(path)?;
        let lock = sibling(&target, ".lock", false);
        let failed = |source| StoreError::Lock {
            path: path.to_path_buf(),
            lock: lock.clone(),
            source,
        };
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&lock)
            .map_err(failed)?;
        loop {
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                break;
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(failed(e));
            }
        }
        Ok(SecretsLock { target, _file: f })
    }

    /// An in-memory store, for tests and offline planning.
    pub fn from_values(values: impl IntoIterator<Item = (String, String)>) -> SecretStore {
        let values: BTreeMap<String, Secret> = values
            .into_iter()
            .map(|(k, v)| (k, Secret::new(v)))
            .collect();
        SecretStore {
            path: PathBuf::new(),
            added: values.keys().cloned().collect(),
            values,
            original: Raw::default(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.values.get(name)
    }

    /// Generate every missing name; returns the names generated.
    pub fn ensure<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<String>, StoreError> {
        let mut made = Vec::new();
        for name in names {
            if !self.values.contains_key(name) {
                let value = if is_fernet_key(name) {
                    generate_fernet_key()?
                } else {
                    generate()?
                };
                self.values.insert(name.to_string(), value);
                self.added.push(name.to_string());
                made.push(name.to_string());
            }
        }
        Ok(made)
    }

    /// The file's text after saving: the file as read, byte for byte, then a
    /// `name: "value"` line for each name added since.
    fn text(&self) -> Vec<u8> {
        let mut out = self.original.0.clone();
        if out.is_empty() {
            out.extend_from_slice(file::HEADER.as_bytes());
        } else if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        for name in &self.added {
            let v = self.values[name].expose();
            out.extend_from_slice(file::render(name, v).as_bytes());
        }
        out
    }

    /// Append the names added since loading, atomically (a temporary file,
    /// fsync, rename, fsync of the directory) with mode 0600, under the lock.
    /// Refused, with nothing written, if the file changed since it was read
    /// or if the new text would not read back as exactly these secrets.
    pub fn save(&self, lock: &SecretsLock) -> Result<(), StoreError> {
        if self.added.is_empty() {
            return Ok(());
        }
        let text = self.text();
        let unsaveable = |detail: String| StoreError::Unsaveable {
            path: self.path.clone(),
            detail,
        };
        let back = file::parse(&self.path, &text).map_err(|d| unsaveable(d.message))?;
        let same = back.len() == self.values.len()
            && back.iter().all(|e| {
                self.values
                    .get(&e.name)
                    .is_some_and(|v| v.expose() == e.value)
            });
        if !same {
            return Err(unsaveable("they read back as other values".into()));
        }
        let now = read_checked(&self.path)?.unwrap_or_default();
        // a link pointed elsewhere since the lock was taken is a change too
        if now != self.original.0 || target_of(&self.path)? != lock.target {
            return Err(StoreError::Changed(self.path.clone()));
        }
        let tmp = sibling(&lock.target, ".tmp", true);
        replace_via(&tmp, &lock.target, &text).map_err(StoreError::Write)
    }

    /// Every name with its value (see `masker.rs` for the store's masker).
    pub(super) fn values(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Names whose values are shorter than [`MIN_SECRET_CHARS`].
    pub fn weak(&self) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(_, v)| v.expose().chars().count() < MIN_SECRET_CHARS)
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// `<dir>/<name><suffix>` beside `path` (`.<name><suffix>` when hidden).
fn sibling(path: &Path, suffix: &str, hidden: bool) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dot = if hidden { "." } else { "" };
    path.with_file_name(format!("{dot}{name}{suffix}"))
}

/// Where writes to the secrets file go: the file, or what its symlink points
/// to (the link stays a link).
fn target_of(path: &Path) -> Result<PathBuf, StoreError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            Diagnostic::new(
                path,
                Mark::default(),
                "",
                format!("cannot follow the secrets file's symlink: {e}"),
            )
            .into()
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// The file's bytes, or None when there is no file; refused unless it is a
/// regular file of mode 0600 (or stricter) and of a sensible size. Opened
/// without blocking, so a FIFO put in its place cannot hang stackprov.
fn read_checked(path: &Path) -> Result<Option<Vec<u8>>, Diagnostic> {
    let at = |msg: String| Diagnostic::new(path, Mark { line: 0, col: 0 }, "", msg);
    let cannot = |e: std::io::Error| at(format!("cannot read the secrets file: {e}"));
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let to = std::fs::read_link(path).unwrap_or_default();
                return Err(at(format!(
                    "the secrets file is a symlink to {}, which does not exist",
                    to.display()
                ))
                .hint(
                    "create the file it points to (mode 0600), or remove the link to have stackprov create the secrets file",
                ));
            }
            Err(e) => return Err(cannot(e)),
        },
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    check_kind(path, &meta)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(at(format!(
            "the secrets file is readable by group or others (mode {mode:04o})"
        ))
        .hint(format!("run `chmod 600 {}`", path.display())));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(cannot)?;
    // what was opened, in case the file was swapped since the check above
    let meta = f.metadata().map_err(cannot)?;
    check_kind(path, &meta)?;
    if meta.len() > file::MAX_BYTES {
        return Err(too_big(path, meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(file::MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > file::MAX_BYTES {
        return Err(too_big(path, bytes.len() as u64));
    }
    Ok(Some(bytes))
}

fn too_big(path: &Path, len: u64) -> Diagnostic {
    Diagnostic::new(
        path,
        Mark::default(),
        "",
        format!(
            "the secrets file is {len} bytes; a secrets file is a few lines (at most {} bytes)",
            file::MAX_BYTES
        ),
    )
    .hint("is secrets_file in the site file the right path?")
}

/// Refuse anything but a regular file (a directory, a FIFO, a device...).
fn check_kind(path: &Path, meta: &std::fs::Metadata) -> Result<(), Diagnostic> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    };
    Err(Diagnostic::new(
        path,
        Mark::default(),
        "",
        format!("the secrets file is {kind}, not a regular file"),
    )
    .hint(
        "point secrets_file in the site file at a regular file (stackprov creates it when missing)",
    ))
}

/// Secrets that are Keystone fernet or credential keys (an HA site's
/// controllers share them: `keystone_fernet_0`, `keystone_credential_1`, ...):
/// generated as Keystone does, 32 random bytes in URL-safe base64.
pub fn is_fernet_key(name: &str) -> bool {
    name.starts_with("keystone_fernet_") || name.starts_with("keystone_credential_")
}

/// Whether `value` is a key Keystone's fernet reads: URL-safe base64 of 32 bytes.
pub fn valid_fernet_key(value: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE
        .decode(value)
        .is_ok_and(|b| b.len() == 32)
}

fn generate_fernet_key() -> Result<Secret, StoreError> {
    use base64::Engine;
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(StoreError::Random)?;
    Ok(Secret::new(
        base64::engine::general_purpose::URL_SAFE.encode(buf),
    ))
}

fn generate() -> Result<Secret, StoreError> {
    let mut out = String::with_capacity(GENERATED_LEN);
    while out.len() < GENERATED_LEN {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).map_err(StoreError::Random)?;
        // rejection sampling keeps every character equally likely
        for b in buf {
            if (b as usize) < 248 && out.len() < GENERATED_LEN {
                out.push(ALPHABET[b as usize % 62] as char);
            }
        }
    }
    Ok(Secret::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[test]
    fn fernet_keys_are_generated_as_keystone_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let (s, _) = SecretStore::load_generating(
            &path,
            ["keystone_fernet_0", "keystone_credential_1", "admin"],
        )
        .unwrap();
        for name in ["keystone_fernet_0", "keystone_credential_1"] {
            let v = s.get(name).unwrap().expose();
            assert_eq!(v.len(), 44, "{name}");
            assert!(valid_fernet_key(v), "{name}: {v}");
        }
        assert!(!valid_fernet_key(s.get("admin").unwrap().expose()));
        let (again, made) = SecretStore::load_generating(&path, ["keystone_fernet_0"]).unwrap();
        assert!(made.is_empty());
        assert_eq!(again.get("keystone_fernet_0"), s.get("keystone_fernet_0"));
    }

    #[test]
    fn generates_once_and_round_trips_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let (s, made) = SecretStore::load_generating(&path, ["a", "b"]).unwrap();
        assert_eq!(made, vec!["a", "b"]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, made) = SecretStore::load_generating(&path, ["a", "b"]).unwrap();
        assert!(made.is_empty());
        assert_eq!(again.get("a"), s.get("a"));
        let a = s.get("a").unwrap().expose();
        assert_eq!(a.len(), GENERATED_LEN);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(s.get("a"), s.get("b"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(file::HEADER), "{text}");
        // the lock file stays (removing it would let two runs lock two files)
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["s.yaml", "s.yaml.lock"]);
    }

    #[test]
    fn says_which_secrets_file_it_could_not_lock_or_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("s.yaml");
        let e = SecretStore::load_generating(&path, ["a"])
            .unwrap_err()
            .to_string();
        let want = format!(
            "cannot lock the secrets file {} (with {}.lock): ",
            path.display(),
            path.display()
        );
        assert!(e.starts_with(&want), "{e}");

        let path = dir.path().join("s.yaml");
        std::fs::create_dir(dir.path().join(".s.yaml.tmp")).unwrap();
        let e = SecretStore::load_generating(&path, ["a"])
            .unwrap_err()
            .to_string();
        let want = format!("cannot write the secrets file {}: ", path.display());
        assert!(e.starts_with(&want), "{e}");
        assert!(!path.exists());
    }

    #[test]
    fn refuses_a_group_readable_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, "a: x\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = SecretStore::load(&path).unwrap_err();
        assert!(e.to_string().contains("mode 0640"), "{e}");
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }

    #[test]
    fn keeps_values_with_quotes_and_specials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let mut s =
            SecretStore::from_values([("p".to_string(), r#"a'b"c $%#@/:; d\e"#.to_string())]);
        s.path = path.clone();
        s.save(&SecretStore::lock(&path).unwrap()).unwrap();
        let back = SecretStore::load(&path).unwrap();
        assert_eq!(back.get("p").unwrap().expose(), r#"a'b"c $%#@/:; d\e"#);
    }

    /// Before, adding a name rewrote the file from the map: comments went,
    /// `"#key"` became a comment and `"a: b"` a different key.
    #[test]
    fn adding_a_name_keeps_every_byte_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let old =
            "# mine\nzeta: 'it''s z' # why\n\"#key\": \"h\"\n\"a: b\": 'c'\nadmin: \"x\\\\y\"";
        private(&path, old);
        let (s, made) = SecretStore::load_generating(&path, ["admin", "new"]).unwrap();
        assert_eq!(made, ["new"]);
        let text = std::fs::read_to_string(&path).unwrap();
        let new = s.get("new").unwrap().expose();
        assert_eq!(text, format!("{old}\nnew: \"{new}\"\n"));
        let back = SecretStore::load(&path).unwrap();
        let got: Vec<(&str, &str)> = back
            .names()
            .map(|n| (n, back.get(n).unwrap().expose()))
            .collect();
        assert_eq!(
            got,
            [
                ("#key", "h"),
                ("a: b", "c"),
                ("admin", "x\\y"),
                ("new", new),
                ("zeta", "it's z")
            ]
        );
    }

    /// Before, the symlink was replaced by a regular file.
    #[test]
    fn a_symlinked_file_is_written_through_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        private(&real.join("shared.yaml"), "a: \"aaaaaaaaaa\"\n");
        let link = dir.path().join("s.yaml");
        std::os::unix::fs::symlink("real/shared.yaml", &link).unwrap();
        SecretStore::load_generating(&link, ["b"]).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let text = std::fs::read_to_string(real.join("shared.yaml")).unwrap();
        assert!(text.starts_with("a: \"aaaaaaaaaa\"\nb: \""), "{text}");
        assert!(real.join("shared.yaml.lock").exists());
        assert!(!dir.path().join("s.yaml.lock").exists());
    }

    #[test]
    fn refuses_to_save_over_a_file_changed_since_it_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        private(&path, "a: \"aaaaaaaaaa\"\n");
        let mut s = SecretStore::load(&path).unwrap();
        s.ensure(["b"]).unwrap();
        private(&path, "a: \"edited by hand\"\n");
        let e = s.save(&SecretStore::lock(&path).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the secrets file {} changed while stackprov was adding to it; run the command again",
                path.display()
            )
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a: \"edited by hand\"\n"
        );
    }

    #[test]
    fn refuses_to_save_a_name_no_file_can_hold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let mut s = SecretStore::load(&path).unwrap();
        s.ensure(["bad\u{7}name"]).unwrap();
        let e = s.save(&SecretStore::lock(&path).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot add to the secrets file {}: the new lines would not read back (a secret name holds an invisible character (U+0007))",
                path.display()
            )
        );
        assert!(!path.exists());
    }

    #[test]
    fn debug_never_shows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        private(&path, "a: \"hunter2hunter2\"\n");
        let s = SecretStore::load(&path).unwrap();
        let d = format!("{s:?}");
        assert!(!d.contains("hunter2"), "{d}");
    }
}
