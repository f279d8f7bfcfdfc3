//! Quoting any value (package names, paths, query parameters, secrets) for a
//! POSIX shell word or a URL component. One function per place, so every caller agrees.

/// Percent-encode for the userinfo part of a URL (RFC 3986 unreserved kept).
pub fn url(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A single shell word, quoted for POSIX sh.
pub fn shell_word(value: &str) -> String {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        return value.to_string();
    }
    shell_quoted(value)
}

/// A single-quoted POSIX sh word, always quoted.
pub fn shell_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encodes_every_reserved_character() {
        assert_eq!(url("a' \"$%#@/:;b"), "a%27%20%22%24%25%23%40%2F%3A%3Bb");
        assert_eq!(url("Az09-._~"), "Az09-._~");
    }

    #[test]
    fn shell_word_quotes_when_needed() {
        assert_eq!(shell_word("keystone"), "keystone");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
