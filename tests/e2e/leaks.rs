//! Every form a secret could leak in, and the checks that look for them.
//!
//! stackprov writes a secret in its own encodings, and Rust prints it in JSON
//! and Debug forms; but the host's services and Tempest are Python, and their
//! logs carry a value as Python writes it: `json.dumps` (non-ASCII as
//! `\u00e9`), `repr` and `ascii`, base64, `quote_plus` and `quote`. The e2e
//! secrets hold quotes, backslashes, spaces and non-ASCII so that each of
//! these forms differs from the others (checked against python3 below).

use crate::support::SECRETS;

/// Every form `value` could leak in, without outer quotes.
pub fn leak_forms(value: &str) -> Vec<String> {
    let mut forms: Vec<String> = stackprov::secrets::Encoding::ALL
        .iter()
        .map(|e| e.encode(value))
        .collect();
    forms.extend(rust_forms(value));
    forms.extend(python_forms(value).into_iter().map(|(_, f)| f));
    // a SQL literal's quotes are not part of the value
    forms.iter_mut().for_each(|f| {
        if f.len() > 2 && f.starts_with('\'') && f.ends_with('\'') {
            *f = f[1..f.len() - 1].to_string();
        }
    });
    forms.sort();
    forms.dedup();
    forms
}

/// Rust's JSON and Debug forms, without their quotes.
fn rust_forms(value: &str) -> Vec<String> {
    let json = serde_json::to_string(value).unwrap();
    let debug = format!("{value:?}");
    vec![
        json[1..json.len() - 1].to_string(),
        debug[1..debug.len() - 1].to_string(),
    ]
}

/// How Python writes `value`, by name: `json.dumps`, `repr`, `ascii` (all
/// without their quotes), base64 (without `=` padding: a value inside a longer
/// base64 text shows only when it starts on a 3-byte boundary), URL-safe
/// base64, `quote_plus` and `quote`.
pub fn python_forms(value: &str) -> Vec<(&'static str, String)> {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD_NO_PAD.encode(value);
    let u = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value);
    vec![
        ("json.dumps", json_dumps(value)),
        ("repr", py_repr(value, false)),
        ("ascii", py_repr(value, true)),
        ("base64", b),
        ("urlsafe_b64", u),
        ("quote_plus", py_quote(value, "", true)),
        ("quote", py_quote(value, "/", false)),
    ]
}

/// `json.dumps(value)[1:-1]` (ensure_ascii: everything outside `' '..='~'`
/// escaped, as `\uXXXX` in lowercase hex, surrogate pairs above the BMP).
fn json_dumps(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out
}

/// `repr(value)[1:-1]`, or `ascii(value)[1:-1]` when `ascii`.
fn py_repr(value: &str, ascii: bool) -> String {
    let quote = if value.contains('\'') && !value.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    for c in value.chars() {
        let n = c as u32;
        match c {
            _ if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            _ if !ascii && n > 0x7f && !c.is_control() => out.push(c),
            _ if n < 0x100 => out.push_str(&format!("\\x{n:02x}")),
            _ if n < 0x10000 => out.push_str(&format!("\\u{n:04x}")),
            _ => out.push_str(&format!("\\U{n:08x}")),
        }
    }
    out
}

/// `urllib.parse.quote(value, safe)`, or `quote_plus` when `plus`.
fn py_quote(value: &str, safe: &str, plus: bool) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "_.-~".contains(c) || safe.contains(c) {
            out.push(c);
        } else if plus && c == ' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn assert_no_secret(what: &str, text: &str) {
    assert_none_of(
        SECRETS.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        what,
        text,
    );
}

/// No form of any of `secrets` in `text`.
pub fn assert_none_of(secrets: impl IntoIterator<Item = (String, String)>, what: &str, text: &str) {
    for (name, v) in secrets {
        for form in leak_forms(&v) {
            // where, with the secret itself blanked out
            let lines: Vec<String> = text
                .lines()
                .filter(|l| l.contains(&form))
                .take(3)
                .map(|l| l.replace(&form, "<SECRET>"))
                .collect();
            assert!(
                lines.is_empty(),
                "secret {name} leaked into {what} (as {form:?}) in: {lines:#?}"
            );
        }
    }
}

/// The Python forms above are what python3 itself writes for each e2e
/// secret, and each is needed: for some secret it differs from every form
/// stackprov and Rust write, so the scan would miss a leak in that form
/// without it.
#[test]
#[ignore = "needs python3 (scripts/test installs it with the e2e suite's dependencies)"]
fn python_leak_forms_match_python3_and_are_needed() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let script = r#"
import base64, json, sys, urllib.parse
out = []
for v in json.load(sys.stdin):
    b = v.encode()
    out.append({
        "json.dumps": json.dumps(v)[1:-1],
        "repr": repr(v)[1:-1],
        "ascii": ascii(v)[1:-1],
        "base64": base64.b64encode(b).decode().rstrip("="),
        "urlsafe_b64": base64.urlsafe_b64encode(b).decode().rstrip("="),
        "quote_plus": urllib.parse.quote_plus(v),
        "quote": urllib.parse.quote(v),
    })
print(json.dumps(out))
"#;
    let values: Vec<&str> = SECRETS.iter().map(|(_, v)| *v).collect();
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&values).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let python: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(python.len(), SECRETS.len());
    let mut needed = std::collections::BTreeSet::new();
    for ((name, v), py) in SECRETS.iter().zip(&python) {
        let others: Vec<String> = stackprov::secrets::Encoding::ALL
            .iter()
            .map(|e| e.encode(v))
            .chain(rust_forms(v))
            .collect();
        for (form, ours) in python_forms(v) {
            assert_eq!(py[form], ours.as_str(), "{form} of {name}");
            if !others.contains(&ours) {
                needed.insert(form);
            }
        }
    }
    let all: std::collections::BTreeSet<&str> =
        python_forms("x").into_iter().map(|(f, _)| f).collect();
    assert_eq!(needed, all, "a Python form no e2e secret needs");
}
