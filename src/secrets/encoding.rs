//! How a secret is written into each place it lands: one [`Encoding`] per place
//! (URL, database URL, INI value, paste.deploy value, SQL literal, shell word,
//! MySQL option file), named in placeholders as `((secret:NAME|ENCODING))`,
//! and what each place cannot carry at all ([`Encoding::check`]). The shell
//! and URL quoting is shared with non-secret values and lives in [`crate::quote`].
//!
//! For every value `check` accepts, the encoded form reads back as the value
//! with the reader of that place: tests/encodings.rs decodes each one with the
//! real parser where this machine has it (oslo.config, SQLAlchemy's
//! `make_url`, `sh`, MariaDB's `my_print_defaults`) and with small decoders
//! written from the readers' source where it does not.

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
    /// The same, for the SQLAlchemy 0.7/0.8 that Havana to Juno allowed
    /// (`dburl-sqla07`): written alike, but its URL parser carries less.
    DbUrlSqla07,
    /// An oslo.config / INI value (`ini`, [`ini_value`]).
    Ini,
    /// A value in a paste.deploy ini file of the guide's era (`paste`): read by
    /// Python 2's `ConfigParser`, which has no quoting at all, so the value is
    /// written as it is and [`Encoding::check`] refuses what it would change.
    Paste,
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
    pub const ALL: [Encoding; 9] = [
        Encoding::Plain,
        Encoding::Url,
        Encoding::DbUrl,
        Encoding::DbUrlSqla07,
        Encoding::Ini,
        Encoding::Paste,
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
            Encoding::DbUrlSqla07 => "dburl-sqla07",
            Encoding::Ini => "ini",
            Encoding::Paste => "paste",
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
            Encoding::DbUrl | Encoding::DbUrlSqla07 => db_url_password(value),
            Encoding::Ini => ini_value(value),
            Encoding::Paste => value.to_string(),
            Encoding::Sql => sql_string(value),
            Encoding::Shell => quote::shell_word(value),
            Encoding::Cnf => cnf_value(value),
        }
    }

    /// The place, for messages: "a database URL", "a paste.deploy value"...
    pub fn place(&self) -> &'static str {
        match self {
            Encoding::Plain => "a value",
            Encoding::Url => "a URL",
            Encoding::DbUrl => "a database URL",
            Encoding::DbUrlSqla07 => "a database URL for SQLAlchemy 0.7/0.8",
            Encoding::Ini => "an oslo.config value",
            Encoding::Paste => "a paste.deploy value",
            Encoding::Sql => "an SQL string",
            Encoding::Shell => "a shell word",
            Encoding::Cnf => "a MySQL option file",
        }
    }

    /// Whether this place can carry the value at all: `Err` says what in it
    /// cannot be written and why (every accepted value reads back exactly).
    pub fn check(&self, value: &str) -> Result<(), Unencodable> {
        let line_break = |reader: &'static str| {
            value
                .chars()
                .find(|c| matches!(c, '\n' | '\r'))
                .map(|c| Unencodable::char(c, reader))
        };
        let oslo = || {
            line_break(INI_LINES).or_else(|| {
                value
                    .contains("\\$")
                    .then(|| Unencodable::text("`\\$`", OSLO_BACKSLASH_DOLLAR))
            })
        };
        let found = match self {
            Encoding::Plain | Encoding::Url | Encoding::Sql => None,
            Encoding::DbUrl => value
                .chars()
                .find(|c| matches!(c, '%' | '@'))
                .map(|c| Unencodable::char(c, DB_URL_PERCENT_AT))
                .or_else(|| {
                    value
                        .chars()
                        .find(|c| !c.is_ascii())
                        .map(|c| Unencodable::char(c, PYMYSQL_LATIN1))
                })
                .or_else(oslo),
            Encoding::DbUrlSqla07 => Encoding::DbUrl.check(value).err().or_else(|| {
                value
                    .chars()
                    .find(|c| matches!(c, '/' | '+'))
                    .map(|c| Unencodable::char(c, SQLA07))
            }),
            Encoding::Ini => oslo(),
            Encoding::Paste => paste_problem(value),
            Encoding::Shell => value.contains('\0').then(|| {
                Unencodable::char('\0', "a shell word or variable cannot hold a NUL byte")
            }),
            Encoding::Cnf => {
                if value.contains('\0') {
                    Some(Unencodable::char(
                        '\0',
                        "MySQL option files are C strings: the value would end there",
                    ))
                } else if cnf_value(value).len() > CNF_MAX {
                    Some(Unencodable::text(
                        &format!("{} bytes", value.len()),
                        "MySQL reads option file lines of at most 4094 bytes",
                    ))
                } else {
                    None
                }
            }
        };
        match found {
            Some(u) => Err(u),
            None => Ok(()),
        }
    }
}

/// What a place cannot carry: what in the value, and why (naming the reader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unencodable {
    /// The character it is about, when it is one.
    pub ch: Option<char>,
    /// It as it may be shown: `` `%(` ``, `` `\r` ``, "white space at its start or end".
    pub what: String,
    pub why: &'static str,
}

impl Unencodable {
    fn char(c: char, why: &'static str) -> Unencodable {
        Unencodable {
            ch: Some(c),
            what: format!("`{}`", shown(c)),
            why,
        }
    }

    fn text(what: &str, why: &'static str) -> Unencodable {
        Unencodable {
            ch: None,
            what: what.to_string(),
            why,
        }
    }
}

/// A character as it may be shown in a message: control characters escaped
/// (`\0`, `\r`, `\u{1b}`).
pub(crate) fn shown(c: char) -> String {
    if c == '\0' {
        "\\0".to_string()
    } else if c.is_control() {
        c.escape_default().to_string()
    } else {
        c.to_string()
    }
}

/// Why `%` and `@` cannot be in a database URL (see [`db_url_password`]).
pub const DB_URL_PERCENT_AT: &str = "alembic reads the URL through Python's configparser, which rejects `%`, and `@` ends the password";
const INI_LINES: &str = "INI readers (oslo.config, Python's configparser) end a line at `\\n` and `\\r`, so the rest would be read as a key of its own";
/// oslo.config commit 6c38839 ("Fix for parsing error with Dollar Sign"), first in 1.3.0.
const OSLO_BACKSLASH_DOLLAR: &str = "oslo.config reads `\\$` as an escaped `$` since 1.3.0 (Icehouse) and as it is before (Havana), so no one spelling of it reads back in every release";
/// Found on the test host (keystone db_sync failed to log in): PyMySQL encodes
/// the password as Latin-1 (connections.py), MariaDB hashed the UTF-8 bytes of
/// the SQL that set it.
const PYMYSQL_LATIN1: &str = "OpenStack's MySQL driver (PyMySQL) sends a password as Latin-1 bytes while MariaDB hashed its UTF-8 bytes, so a password with a character outside ASCII never logs in";
const SQLA07: &str = "Havana to Juno allowed SQLAlchemy 0.7 and 0.8, whose URL parser ends the password at `/` and reads `+` as a space (0.9 fixed both)";
/// The longest `cnf_value` a `password="..."` line can hold: MySQL reads option
/// file lines into a 4096-byte buffer (`fgets` of 4095, the line break included).
const CNF_MAX: usize = 4000;

/// What Python 2's `ConfigParser` (paste.deploy in the guide's era) would
/// change in a value written as it is, in `key = VALUE`: it strips white space
/// around the value, cuts it at a `;` that follows white space (an inline
/// comment), reads `""` as empty, and interpolates `%(name)s`, with no escape
/// for a literal `%(` (a `%%(` is read again after one pass). Line breaks
/// end the value.
fn paste_problem(value: &str) -> Option<Unencodable> {
    const PY2_SPACE: &[char] = &[' ', '\t', '\n', '\r', '\x0b', '\x0c'];
    if let Some(c) = value.chars().find(|c| matches!(c, '\n' | '\r')) {
        return Some(Unencodable::char(
            c,
            "Python 2's ConfigParser, which paste.deploy reads the file with, ends the value at a line break",
        ));
    }
    if value.contains("%(") {
        return Some(Unencodable::text(
            "`%(`",
            "Python 2's ConfigParser, which paste.deploy reads the file with, takes `%(` as an interpolation and has no escape for it",
        ));
    }
    if value.starts_with(PY2_SPACE) || value.ends_with(PY2_SPACE) {
        return Some(Unencodable::text(
            "white space at its start or end",
            "Python 2's ConfigParser, which paste.deploy reads the file with, strips it and has no quoting",
        ));
    }
    if value
        .match_indices(';')
        .any(|(i, _)| value[..i].ends_with(PY2_SPACE))
    {
        return Some(Unencodable::text(
            "white space before a `;`",
            "Python 2's ConfigParser, which paste.deploy reads the file with, cuts the value there (an inline comment)",
        ));
    }
    if value == "\"\"" {
        return Some(Unencodable::text(
            "only `\"\"`",
            "Python 2's ConfigParser, which paste.deploy reads the file with, reads `\"\"` as an empty value",
        ));
    }
    None
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

/// A SQL string literal for MariaDB, with quotes and backslashes escaped, and
/// NUL, line breaks and Ctrl-Z written as escapes, so that the statement the
/// `mysql` client reads on stdin stays on one line.
pub fn sql_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1a' => out.push_str("\\Z"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An oslo.config / INI value. oslo.config reads values literally (no inline
/// comments), strips surrounding white space (Python's `str.strip`) and one
/// pair of matching quotes (a value that is one quote character is such a
/// pair to it), and interpolates `$name`; so `$` is doubled and a value that
/// white space or quote stripping would change is wrapped in double quotes.
/// Line breaks and `\$` cannot be carried ([`Encoding::check`]).
pub fn ini_value(value: &str) -> String {
    let v = value.replace('$', "$$");
    let edge_space = value.starts_with(is_python_space) || value.ends_with(is_python_space);
    let quoted =
        (value.starts_with('"') || value.starts_with('\'')) && value.ends_with(&value[..1]);
    if edge_space || quoted {
        format!("\"{v}\"")
    } else {
        v
    }
}

/// Python 3's `str.isspace`, what `str.strip()` removes: Unicode white space
/// plus the information separators U+001C to U+001F.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The inside of a double-quoted value in a MySQL option file (`password="..."`).
/// MySQL strips the quotes, then reads `\\`, `\"`, `\n` and `\r` (among
/// others) as escapes; a line break itself would end the line.
pub fn cnf_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
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
    fn sql_string_keeps_the_statement_on_one_line() {
        assert_eq!(sql_string("a\nb\rc\u{1a}d\0"), r"'a\nb\rc\Zd\0'");
    }

    #[test]
    fn cnf_value_escapes_line_breaks() {
        assert_eq!(cnf_value("a\nb\rc"), r"a\nb\rc");
    }

    #[test]
    fn ini_value_quotes_what_python_would_strip() {
        // str.strip() also removes U+001C..U+001F; a lone quote is a "pair"
        assert_eq!(ini_value("\u{1f}x"), "\"\u{1f}x\"");
        assert_eq!(ini_value("\""), "\"\"\"");
        assert_eq!(ini_value("'"), "\"'\"");
        assert_eq!(ini_value("'a\""), "'a\"");
    }

    #[test]
    fn what_each_place_refuses() {
        let refused = |e: Encoding, v: &str| e.check(v).err().map(|u| u.what);
        let rows: &[(Encoding, &str, Option<&str>)] = &[
            (Encoding::DbUrl, "50%off", Some("`%`")),
            (Encoding::DbUrl, "me@home", Some("`@`")),
            (Encoding::DbUrl, "a\rb", Some("`\\r`")),
            (Encoding::DbUrl, "a/b+c $#;:'\"", None),
            (Encoding::DbUrlSqla07, "a/b", Some("`/`")),
            (Encoding::DbUrlSqla07, "a+b", Some("`+`")),
            (Encoding::DbUrlSqla07, "a%b", Some("`%`")),
            (Encoding::DbUrlSqla07, "a b$#;:'\"?", None),
            (Encoding::Ini, "a\nb", Some("`\\n`")),
            (Encoding::Ini, "a\\$b", Some("`\\$`")),
            (Encoding::DbUrl, "a\\$b", Some("`\\$`")),
            (Encoding::Ini, "a\\ $b\\", None),
            (Encoding::Ini, " '$%(x)s\0 ", None),
            (Encoding::Paste, "50%(x)s", Some("`%(`")),
            (
                Encoding::Paste,
                " a",
                Some("white space at its start or end"),
            ),
            (
                Encoding::Paste,
                "a\t",
                Some("white space at its start or end"),
            ),
            (Encoding::Paste, "a ;b", Some("white space before a `;`")),
            (Encoding::Paste, "\"\"", Some("only `\"\"`")),
            (Encoding::Paste, "a;b $$ % %% \u{a0}x\u{a0}", None),
            (Encoding::Shell, "a\0", Some("`\\0`")),
            (Encoding::Shell, "a'b\n$(id)", None),
            (Encoding::Cnf, "a\0", Some("`\\0`")),
            (Encoding::Cnf, &"x".repeat(4001), Some("4001 bytes")),
            (Encoding::Cnf, "a\\\"#'\n", None),
            (Encoding::Sql, "\0\n'\\", None),
        ];
        for (e, v, want) in rows {
            assert_eq!(refused(*e, v).as_deref(), *want, "{e} {v:?}");
        }
    }

    #[test]
    fn ini_value_doubles_dollars_and_keeps_edges() {
        assert_eq!(ini_value("a$b"), "a$$b");
        assert_eq!(ini_value("a'b\" #c"), "a'b\" #c");
        assert_eq!(ini_value("'quoted'"), "\"'quoted'\"");
        assert_eq!(ini_value(" pad "), "\" pad \"");
    }
}
