//! Text that may reference secrets. Plans, saved facts and templates hold
//! `((secret:NAME))` or `((secret:NAME|ENC))` placeholders; only [`resolve`]
//! turns them into values, at the moment bytes go to a host.

use super::encoding as encode;
use super::store::SecretStore;
use crate::quote;

const OPEN: &str = "((secret:";
const CLOSE: &str = "))";

/// The placeholder for a secret in a given encoding (`plain`, `url`, `ini`, `sql`, `shell`).
pub fn placeholder(name: &str, enc: &str) -> String {
    if enc == "plain" {
        format!("{OPEN}{name}{CLOSE}")
    } else {
        format!("{OPEN}{name}|{enc}{CLOSE}")
    }
}

/// Names of the secrets a text references.
pub fn secret_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        let after = &rest[i + OPEN.len()..];
        let Some(j) = after.find(CLOSE) else { break };
        let name = after[..j].split('|').next().unwrap_or_default().to_string();
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[j + CLOSE.len()..];
    }
    out
}

/// Names of the secrets a text references in one encoding.
pub fn secret_names_with_encoding(text: &str, enc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        let after = &rest[i + OPEN.len()..];
        let Some(j) = after.find(CLOSE) else { break };
        if let Some((name, e)) = after[..j].split_once('|')
            && e == enc
            && !out.iter().any(|n| n == name)
        {
            out.push(name.to_string());
        }
        rest = &after[j + CLOSE.len()..];
    }
    out
}

pub fn has_secrets(text: &str) -> bool {
    text.contains(OPEN)
}

/// Replace placeholders with encoded secret values. Errors name a missing secret.
pub fn resolve(text: &str, secrets: &SecretStore) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        let Some(j) = after.find(CLOSE) else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let inner = &after[..j];
        let (name, enc) = inner.split_once('|').unwrap_or((inner, "plain"));
        let secret = secrets
            .get(name)
            .ok_or_else(|| format!("secret `{name}` is not in the secrets file"))?;
        let v = secret.expose();
        out.push_str(&match enc {
            "url" => quote::url(v),
            "dburl" => encode::db_url_password(v),
            "ini" => encode::ini_value(v),
            "sql" => encode::sql_string(v),
            "shell" => quote::shell_word(v),
            // a double-quoted value in a MySQL option file
            "cnf" => v.replace('\\', "\\\\").replace('"', "\\\""),
            _ => v.to_string(),
        });
        rest = &after[j + CLOSE.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_each_encoding() {
        let s = SecretStore::from_values([("db".to_string(), "p@ss w$rd".to_string())]);
        let t = format!(
            "u={} i={} q={}",
            placeholder("db", "url"),
            placeholder("db", "ini"),
            placeholder("db", "sql")
        );
        assert_eq!(
            resolve(&t, &s).unwrap(),
            "u=p%40ss%20w%24rd i=p@ss w$$rd q='p@ss w$rd'"
        );
        assert_eq!(secret_names(&t), vec!["db"]);
        assert!(
            resolve(&placeholder("nope", "plain"), &s)
                .unwrap_err()
                .contains("`nope`")
        );
    }
}
