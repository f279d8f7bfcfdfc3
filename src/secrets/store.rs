//! The secrets file: passwords and tokens by name, generated once from the OS
//! CSPRNG, kept in a 0600 YAML file beside the site, never regenerated.

use super::masker::{Masker, Secret};
use crate::atomic_file::{WriteError, write_private};
use crate::site::diagnostic::Diagnostic;
use crate::yaml::{self, Mark, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Generated secrets: 32 characters from [A-Za-z0-9], about 190 bits, and safe
/// unescaped in URLs, INI files, SQL literals and shell words.
pub const GENERATED_LEN: usize = 32;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Why the secrets could not be generated or saved. (Reading the file fails
/// with a [`Diagnostic`], which points at the line to fix.)
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write the secrets file {}: {}", .0.path.display(), .0.source)]
    Write(WriteError),
    #[error("the OS random source failed: {0}")]
    Random(getrandom::Error),
}

#[derive(Debug, Clone, Default)]
pub struct SecretStore {
    pub path: PathBuf,
    values: BTreeMap<String, Secret>,
}

impl SecretStore {
    /// Read the file if it exists; refuse it if group or others can read it.
    pub fn load(path: &Path) -> Result<SecretStore, Diagnostic> {
        let at = |msg: String| Diagnostic::new(path, Mark { line: 0, col: 0 }, "", msg);
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SecretStore {
                    path: path.to_path_buf(),
                    values: BTreeMap::new(),
                });
            }
            Err(e) => return Err(at(format!("cannot read the secrets file: {e}"))),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(at(format!(
                "the secrets file is readable by group or others (mode {mode:04o})"
            ))
            .hint(format!("run `chmod 600 {}`", path.display())));
        }
        let bytes =
            std::fs::read(path).map_err(|e| at(format!("cannot read the secrets file: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| at("the secrets file is not UTF-8 text".into()))?;
        let root = yaml::parse(&text).map_err(|e| {
            Diagnostic::new(path, e.mark, "", format!("invalid YAML: {}", e.message))
        })?;
        let mut values = BTreeMap::new();
        match root.value {
            Value::Null => {}
            Value::Map(entries) => {
                for (k, v) in entries {
                    let name = k.as_str().unwrap_or_default().to_string();
                    match v.value {
                        Value::Scalar { text, .. } if !text.is_empty() && !text.contains('\n') => {
                            values.insert(name, Secret::new(text));
                        }
                        _ => {
                            return Err(Diagnostic::new(
                                path,
                                v.mark,
                                &name,
                                "expected a one-line, non-empty string",
                            )
                            .hint("delete the line to have stackprov generate a new value"));
                        }
                    }
                }
            }
            _ => {
                return Err(Diagnostic::new(
                    path,
                    root.mark,
                    "",
                    "expected a mapping of secret names to values",
                ));
            }
        }
        Ok(SecretStore {
            path: path.to_path_buf(),
            values,
        })
    }

    /// An in-memory store, for tests and offline planning.
    pub fn from_values(values: impl IntoIterator<Item = (String, String)>) -> SecretStore {
        SecretStore {
            path: PathBuf::new(),
            values: values
                .into_iter()
                .map(|(k, v)| (k, Secret::new(v)))
                .collect(),
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
                self.values.insert(name.to_string(), generate()?);
                made.push(name.to_string());
            }
        }
        Ok(made)
    }

    /// Write the file atomically with mode 0600.
    pub fn save(&self) -> Result<(), StoreError> {
        let mut text = String::from(
            "# stackprov secrets: generated once, never regenerated. Keep this file private (0600).\n",
        );
        for (k, v) in &self.values {
            let escaped = v.expose().replace('\\', "\\\\").replace('"', "\\\"");
            text.push_str(&format!("{k}: \"{escaped}\"\n"));
        }
        write_private(&self.path, text.as_bytes()).map_err(StoreError::Write)
    }

    /// A masker that knows every secret in this store.
    pub fn masker(&self) -> Masker {
        let mut m = Masker::default();
        for (k, v) in &self.values {
            m.add(k, v);
        }
        m
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
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

    #[test]
    fn generates_once_and_round_trips_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let mut s = SecretStore::load(&path).unwrap();
        assert_eq!(s.ensure(["a", "b"]).unwrap(), vec!["a", "b"]);
        s.save().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut again = SecretStore::load(&path).unwrap();
        assert!(again.ensure(["a", "b"]).unwrap().is_empty());
        assert_eq!(again.get("a"), s.get("a"));
        let a = s.get("a").unwrap().expose();
        assert_eq!(a.len(), GENERATED_LEN);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(s.get("a"), s.get("b"));
    }

    #[test]
    fn says_which_secrets_file_it_could_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("s.yaml");
        let mut s = SecretStore::from_values([("a".to_string(), "x".to_string())]);
        s.path = path.clone();
        let e = s.save().unwrap_err().to_string();
        let want = format!("cannot write the secrets file {}: ", path.display());
        assert!(e.starts_with(&want), "{e}");
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
        s.save().unwrap();
        let back = SecretStore::load(&path).unwrap();
        assert_eq!(back.get("p").unwrap().expose(), r#"a'b"c $%#@/:; d\e"#);
    }
}
