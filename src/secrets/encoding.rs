//! How a secret is written into each place it lands: URLs, INI values, SQL
//! string literals, shell words. One function per place, so every caller agrees.

use crate::quote::{shell_word, url};

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

/// Every form in which a secret may appear in a file, URL or command, with the
/// name of its encoding (`plain`, `url`, `ini`, `sql`, `shell`), for masking.
pub fn all_variants(value: &str) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![
        ("plain", value.to_string()),
        ("url", url(value)),
        ("dburl", db_url_password(value)),
        ("ini", ini_value(value)),
        ("sql", sql_string(value)),
        ("shell", shell_word(value)),
    ];
    let mut seen = Vec::new();
    v.retain(|(_, s)| {
        !s.is_empty() && !seen.contains(s) && {
            seen.push(s.clone());
            true
        }
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

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
