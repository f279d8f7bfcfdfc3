//! A masker that scrubs known secret values (and their encoded forms) out of
//! any text we show.

use super::encoding::Encoding;
use super::placeholder;
use super::secret::{MASK, MIN_SECRET_CHARS, Secret};
use super::store::SecretStore;

impl SecretStore {
    /// A masker that knows every secret in this store.
    pub fn masker(&self) -> Masker {
        let mut m = Masker::default();
        for (k, v) in self.values() {
            m.add(k, v);
        }
        m
    }
}

/// Replaces every known secret value, and each encoding of it that can land in a
/// file or URL, with a replacement (the mask, or a named placeholder).
///
/// A secret shorter than [`MIN_SECRET_CHARS`] (stackprov warns about it) is
/// replaced only where it stands alone: not preceded or followed by a letter,
/// a digit or `_`. Otherwise a password `e` would mask every `e` of a diff.
/// Text already replaced is never searched again.
#[derive(Clone, Default, Debug)]
pub struct Masker {
    /// Longest needle first, so encodings win over substrings.
    needles: Vec<Needle>,
}

#[derive(Clone, Debug)]
struct Needle {
    text: String,
    placeholder: String,
    /// Replace only where no word character touches it (a weak secret).
    alone: bool,
}

impl Masker {
    /// Register a secret under a name. Its form in every [`Encoding`] is masked too.
    pub fn add(&mut self, name: &str, secret: &Secret) {
        let v = secret.expose();
        if v.is_empty() {
            return;
        }
        let alone = v.chars().count() < MIN_SECRET_CHARS;
        for enc in Encoding::ALL {
            self.push(enc.encode(v), placeholder::of(name, enc), alone);
        }
        // the inside of a SQL literal, as it shows in a logged statement
        let sql = Encoding::Sql.encode(v);
        let inner = sql[1..sql.len() - 1].to_string();
        self.push(inner, placeholder::of(name, Encoding::Plain), alone);
        self.needles
            .sort_by_key(|n| std::cmp::Reverse(n.text.len()));
    }

    /// A needle no other registered form already covers (the first one names it).
    fn push(&mut self, text: String, placeholder: String, alone: bool) {
        if text.is_empty() {
            return;
        }
        match self.needles.iter_mut().find(|n| n.text == text) {
            // a strong secret's form is masked everywhere, whoever else has it
            Some(n) => n.alone &= alone,
            None => self.needles.push(Needle {
                text,
                placeholder,
                alone,
            }),
        }
    }

    /// Text safe to show: every secret replaced by the mask.
    pub fn mask(&self, text: &str) -> String {
        self.replace(text, |_| MASK)
    }

    /// Text safe to store and reversible with [`super::placeholder::resolve`]: every secret
    /// replaced by a named placeholder.
    pub fn to_placeholders(&self, text: &str) -> String {
        self.replace(text, |n| &n.placeholder)
    }

    /// Each needle in turn, longest first, in the parts of the text that no
    /// earlier needle replaced.
    fn replace<'a>(&'a self, text: &str, with: impl Fn(&'a Needle) -> &'a str) -> String {
        // (text, replaced): two parts not yet replaced are never adjacent
        let mut parts: Vec<(String, bool)> = vec![(text.to_string(), false)];
        for n in &self.needles {
            if !parts.iter().any(|(t, done)| !done && t.contains(&n.text)) {
                continue;
            }
            let mut next = Vec::with_capacity(parts.len() + 2);
            for (t, done) in parts {
                if done || !t.contains(&n.text) {
                    next.push((t, done));
                    continue;
                }
                let mut from = 0;
                let mut search = 0;
                while let Some(i) = t[search..].find(&n.text).map(|i| i + search) {
                    let end = i + n.text.len();
                    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                    if n.alone
                        && (word(t[..i].chars().next_back()) || word(t[end..].chars().next()))
                    {
                        search = i + t[i..].chars().next().map_or(1, char::len_utf8);
                        continue;
                    }
                    if i > from {
                        next.push((t[from..i].to_string(), false));
                    }
                    next.push((with(n).to_string(), true));
                    from = end;
                    search = end;
                }
                if from < t.len() {
                    next.push((t[from..].to_string(), false));
                }
            }
            parts = next;
        }
        parts.into_iter().map(|(t, _)| t).collect()
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

    /// Before, a password `e` masked every `e` of a diff.
    #[test]
    fn a_weak_secret_is_masked_only_where_it_stands_alone() {
        let mut m = Masker::default();
        m.add("admin", &Secret::new("e"));
        m.add("db", &Secret::new("keystone-db-pass"));
        assert_eq!(
            m.mask("keystone: password = e\nurl = mysql://k:e@h/keystone\nx=e,e"),
            format!(
                "keystone: password = {MASK}\nurl = mysql://k:{MASK}@h/keystone\nx={MASK},{MASK}"
            )
        );
        assert_eq!(m.mask("the engine"), "the engine");
        // strong secrets are masked anywhere, even inside a word
        assert_eq!(m.mask("xkeystone-db-passy"), format!("x{MASK}y"));
        assert_eq!(m.to_placeholders("pw=e;"), "pw=((secret:admin));");
    }

    #[test]
    fn replaced_text_is_not_searched_again() {
        let mut m = Masker::default();
        m.add("a", &Secret::new("long-password-1"));
        m.add("b", &Secret::new("secret:a"));
        // the placeholder for `a` holds `secret:a`, which must not be replaced
        assert_eq!(m.to_placeholders("long-password-1"), "((secret:a))");
    }
}
