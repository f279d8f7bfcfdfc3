//! Secrets as a type: a value that never prints itself, and a masker that scrubs
//! known secret values (and their encoded forms) out of any text we show.

use super::encoding::Encoding;
use super::placeholder;
use std::fmt;

/// The mask shown wherever a secret would appear.
pub const MASK: &str = "********";

/// A secret value. `Debug` and `Display` print the mask; the only way to the
/// plain text is [`Secret::expose`], which call sites must justify.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The plain value, for the few places that must send it to a host (stdin,
    /// 0600 files) or a server (HTTP body over the SSH tunnel).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}

/// Replaces every known secret value, and each encoding of it that can land in a
/// file or URL, with a replacement (the mask, or a named placeholder).
#[derive(Clone, Default, Debug)]
pub struct Masker {
    /// (needle, replacement), longest needle first so encodings win over substrings.
    needles: Vec<(String, String)>,
}

impl Masker {
    /// Register a secret under a name. Its form in every [`Encoding`] is masked too.
    pub fn add(&mut self, name: &str, secret: &Secret) {
        let v = secret.expose();
        if v.is_empty() {
            return;
        }
        for enc in Encoding::ALL {
            self.push(enc.encode(v), placeholder::of(name, enc));
        }
        // the inside of a SQL literal, as it shows in a logged statement
        let sql = Encoding::Sql.encode(v);
        let inner = sql[1..sql.len() - 1].to_string();
        self.push(inner, placeholder::of(name, Encoding::Plain));
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.0.len()));
    }

    /// A needle no other registered form already covers (the first one names it).
    fn push(&mut self, needle: String, replacement: String) {
        if !needle.is_empty() && !self.needles.iter().any(|(n, _)| *n == needle) {
            self.needles.push((needle, replacement));
        }
    }

    /// Text safe to show: every secret replaced by the mask.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (needle, _) in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        out
    }

    /// Text safe to store and reversible with [`super::placeholder::resolve`]: every secret
    /// replaced by a named placeholder.
    pub fn to_placeholders(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (needle, ph) in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), ph);
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), MASK);
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{MASK}\""));
    }

    #[test]
    fn masker_masks_plain_and_url_encoded_forms() {
        let mut m = Masker::default();
        m.add("db", &Secret::new("p@ss/w:rd"));
        let text = "connection = mysql+pymysql://k:p%40ss%2Fw%3Ard@h/k\npassword = p@ss/w:rd";
        let masked = m.mask(text);
        assert!(!masked.contains("p@ss"), "{masked}");
        assert!(!masked.contains("p%40ss"), "{masked}");
        assert_eq!(masked.matches(MASK).count(), 2);
        assert_eq!(m.to_placeholders("x p@ss/w:rd"), "x ((secret:db))");
        assert_eq!(m.to_placeholders("p%40ss%2Fw%3Ard"), "((secret:db|url))");
    }

    #[test]
    fn masker_masks_the_mysql_option_file_form() {
        let mut m = Masker::default();
        m.add("db", &Secret::new(r#"a\b"c"#));
        let cnf = "[client]\nuser=keystone\npassword=\"a\\\\b\\\"c\"\n";
        assert!(cnf.contains(r#"password="a\\b\"c""#), "{cnf}");
        let masked = m.mask(cnf);
        assert_eq!(
            masked,
            format!("[client]\nuser=keystone\npassword=\"{MASK}\"\n")
        );
        assert_eq!(
            m.to_placeholders(cnf),
            "[client]\nuser=keystone\npassword=\"((secret:db|cnf))\"\n"
        );
    }
}
