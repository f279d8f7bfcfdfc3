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

/// A URL inside a double-quoted apt.conf value (`Acquire::http::Proxy "URL";`).
/// apt reads such a value up to the next `"` with no escapes at all, and a
/// line break or `//` outside it starts something else, so every byte that
/// is not URL-safe (letters, digits, `-._~`, `%` and `:/@[]`) is written as
/// the URL's own `%XX` escape, which means the same byte to the URL's reader.
/// The site's `package_proxy` is validated to those characters already; this
/// keeps the file safe whatever reaches it.
pub fn apt_conf_url(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~%:/@[]".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
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
    fn apt_conf_url_escapes_what_would_end_the_value_or_the_statement() {
        assert_eq!(
            apt_conf_url("http://p:3128\"; Dpkg::Pre-Invoke {\"id\";};//"),
            "http://p:3128%22%3B%20Dpkg::Pre-Invoke%20%7B%22id%22%3B%7D%3B//"
        );
        assert_eq!(
            apt_conf_url("http://u:p%40@[::1]:3128/"),
            "http://u:p%40@[::1]:3128/"
        );
        assert_eq!(apt_conf_url("http://h\n#x$"), "http://h%0A%23x%24");
    }

    #[test]
    fn shell_word_quotes_when_needed() {
        assert_eq!(shell_word("keystone"), "keystone");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
