//! How a secret is written into each place it lands: one [`Encoding`] per place
//! (URL, database URL, INI value, SQL literal, shell word, MySQL option file),
//! named in placeholders as `((secret:NAME|ENCODING))`. The shell and URL
//! quoting is shared with non-secret values and lives in [`crate::quote`].

use crate::quote;
use std::fmt;
use std::str::FromStr;

/// One way of writing a secret where it lands. A placeholder names it after a
/// `|` (`((secret:db|url))`); a placeholder without one is [`Encoding::Plain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// The value as it is (`plain`).
    Plain,
    /// Percent-encoded for the userinfo of a URL (`url`, [`quote::url`]).
    Url,
    /// A password in an SQLAlchemy URL in an oslo.config value (`dburl`, [`db_url_password`]).
    DbUrl,
    /// An oslo.config / INI value (`ini`, [`ini_value`]).
    Ini,
    /// A MariaDB string literal, quotes included (`sql`, [`sql_string`]).
    Sql,
    /// A POSIX shell word (`shell`, [`quote::shell_word`]).
    Shell,
    /// Inside a double-quoted MySQL option-file value (`cnf`, [`cnf_value`]).
    Cnf,
}

impl Encoding {
    /// Every encoding. The masker registers a secret's forms in this order, so
    /// when two encodings write a value alike, the earlier one names it.
    pub const ALL: [Encoding; 7] = [
        Encoding::Plain,
        Encoding::Url,
        Encoding::DbUrl,
        Encoding::Ini,
        Encoding::Sql,
        Encoding::Shell,
        Encoding::Cnf,
    ];

    /// The name placeholders and templates use (`secret(name=..., enc="url")`).
    pub fn name(&self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Url => "url",
            Encoding::DbUrl => "dburl",
            Encoding::Ini => "ini",
            Encoding::Sql => "sql",
            Encoding::Shell => "shell",
            Encoding::Cnf => "cnf",
        }
    }

    /// The value written as this encoding wants it.
    pub fn encode(&self, value: &str) -> String {
        match self {
            Encoding::Plain => value.to_string(),
            Encoding::Url => quote::url(value),
            Encoding::DbUrl => db_url_password(value),
            Encoding::Ini => ini_value(value),
            Encoding::Sql => sql_string(value),
            Encoding::Shell => quote::shell_word(value),
            Encoding::Cnf => cnf_value(value),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`Encoding::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown encoding `{0}`")]
pub struct UnknownEncoding(pub String);

impl FromStr for Encoding {
    type Err = UnknownEncoding;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Encoding::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| UnknownEncoding(s.to_string()))
    }
}

/// A password inside an SQLAlchemy database URL inside an oslo.config value.
/// SQLAlchemy takes everything up to the `@` as the password and only decodes
/// `%XX`, so the characters are written as they are; oslo.config needs `$$`.
/// `%` and `@` cannot be carried at all (alembic's configparser rejects `%`, so
/// `%40` is no way out): callers refuse them (see `planner::check_secret_values`).
pub fn db_url_password(value: &str) -> String {
    value.replace('$', "$$")
}

/// A SQL string literal for MariaDB, with quotes and backslashes escaped.
pub fn sql_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An oslo.config / INI value. oslo.config reads values literally (no inline
/// comments), strips surrounding white space and one pair of matching quotes,
/// and interpolates `$name`; so `$` is doubled and a value that white space or
/// matching quotes would lose is wrapped in double quotes.
pub fn ini_value(value: &str) -> String {
    let v = value.replace('$', "$$");
    let edge_space = value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace);
    let quoted = value.len() >= 2
        && (value.starts_with('"') || value.starts_with('\''))
        && value.ends_with(&value[..1]);
    if edge_space || quoted {
        format!("\"{v}\"")
    } else {
        v
    }
}

/// The inside of a double-quoted value in a MySQL option file (`password="..."`).
pub fn cnf_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in Encoding::ALL {
            assert_eq!(e.name().parse::<Encoding>(), Ok(e));
            assert_eq!(e.to_string(), e.name());
        }
        assert_eq!(
            "base64".parse::<Encoding>().unwrap_err().to_string(),
            "unknown encoding `base64`"
        );
    }

    #[test]
    fn cnf_value_escapes_backslashes_and_double_quotes() {
        assert_eq!(cnf_value(r#"a\b"c'd"#), r#"a\\b\"c'd"#);
    }

    #[test]
    fn sql_string_escapes_quotes_and_backslashes() {
        assert_eq!(sql_string(r"it's \ ok"), r"'it''s \\ ok'");
    }

    #[test]
    fn ini_value_doubles_dollars_and_keeps_edges() {
        assert_eq!(ini_value("a$b"), "a$$b");
        assert_eq!(ini_value("a'b\" #c"), "a'b\" #c");
        assert_eq!(ini_value("'quoted'"), "\"'quoted'\"");
        assert_eq!(ini_value(" pad "), "\" pad \"");
    }
}
