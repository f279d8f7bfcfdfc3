//! Text that may reference secrets. Plans, saved facts and templates hold
//! `((secret:NAME))` or `((secret:NAME|ENC))` placeholders; only [`resolve`]
//! turns them into values, at the moment bytes go to a host.

use super::encoding::Encoding;
use super::store::SecretStore;

/// Why a placeholder could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error("secret `{0}` is not in the secrets file")]
    UnknownSecret(String),
    #[error("secret `{name}`: unknown encoding `{encoding}`")]
    UnknownEncoding { name: String, encoding: String },
}

const OPEN: &str = "((secret:";
const CLOSE: &str = "))";

/// The placeholder for a secret in an encoding: `((secret:NAME))` for
/// [`Encoding::Plain`], `((secret:NAME|ENCODING))` for the others.
pub fn of(name: &str, enc: Encoding) -> String {
    if enc == Encoding::Plain {
        format!("{OPEN}{name}{CLOSE}")
    } else {
        format!("{OPEN}{name}|{}{CLOSE}", enc.name())
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
pub fn secret_names_with_encoding(text: &str, enc: Encoding) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        let after = &rest[i + OPEN.len()..];
        let Some(j) = after.find(CLOSE) else { break };
        if let Some((name, e)) = after[..j].split_once('|')
            && e == enc.name()
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

/// Replace placeholders with encoded secret values. Errors name a missing
/// secret or an encoding that is not one of [`Encoding::ALL`].
pub fn resolve(text: &str, secrets: &SecretStore) -> Result<String, PlaceholderError> {
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
        let (name, enc) = match inner.split_once('|') {
            None => (inner, Encoding::Plain),
            Some((name, enc)) => (
                name,
                enc.parse::<Encoding>()
                    .map_err(|_| PlaceholderError::UnknownEncoding {
                        name: name.to_string(),
                        encoding: enc.to_string(),
                    })?,
            ),
        };
        let secret = secrets
            .get(name)
            .ok_or_else(|| PlaceholderError::UnknownSecret(name.to_string()))?;
        out.push_str(&enc.encode(secret.expose()));
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
            of("db", Encoding::Url),
            of("db", Encoding::Ini),
            of("db", Encoding::Sql)
        );
        assert_eq!(
            resolve(&t, &s).unwrap(),
            "u=p%40ss%20w%24rd i=p@ss w$$rd q='p@ss w$rd'"
        );
        assert_eq!(secret_names(&t), vec!["db"]);
        assert_eq!(
            resolve(&of("nope", Encoding::Plain), &s)
                .unwrap_err()
                .to_string(),
            "secret `nope` is not in the secrets file"
        );
        assert_eq!(
            resolve("((secret:db|base64))", &s).unwrap_err(),
            PlaceholderError::UnknownEncoding {
                name: "db".into(),
                encoding: "base64".into()
            }
        );
    }
}
