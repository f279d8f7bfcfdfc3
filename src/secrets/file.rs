//! The secrets file's text: a strict reader and the writer of new lines.
//!
//! The file is YAML, restricted to what stackprov can add to without
//! rewriting anything: every line is blank, a comment, a `---` before the
//! first secret, or exactly one `name: value` entry starting in column 1,
//! the value a one-line string (plain, `'single'` or `"double"` quoted).
//! New secrets are appended as `name: "value"` lines, so every byte already
//! in the file (comments, order, quoting) stays as it is.
//!
//! [`parse`] reads the file twice, once with the YAML reader and once line
//! by line, and refuses it unless both agree on every name and value: what
//! it accepts is exactly what appending keeps. Refusals point at the line
//! and column and say how to fix them.

use crate::model::diagnostic::Diagnostic;
use crate::yaml::{self, Mark, Value};
use std::collections::HashMap;
use std::path::Path;

/// A secrets file larger than this is refused without being read (a real one
/// is a few hundred bytes; this is thousands of secrets, which the YAML
/// reader, whose duplicate-key check is quadratic, still reads at once).
pub const MAX_BYTES: u64 = 64 << 10;

/// The first line of a secrets file stackprov creates.
pub const HEADER: &str =
    "# stackprov secrets: generated once, never regenerated. Keep this file private (0600).\n";

/// How most structural refusals say what to do.
const ONE_PER_LINE: &str = "write one secret per line, as `name: \"value\"` starting in column 1 (stackprov appends new secrets that way and keeps every other line as it is)";

/// One secret as the file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub value: String,
}

/// A character no secret name or value may hold: control characters (tab
/// included), the Unicode line and paragraph separators, and U+FEFF.
pub fn forbidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Messages about the file point at a line and column and say what is wrong
/// there, never what the line holds: the file may not be the secrets file it
/// should be (a symlink to /etc/shadow), and its lines are secrets.
/// The entries of a secrets file, in file order, or why it is refused.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Entry>, Diagnostic> {
    let text = text_of(path, bytes)?;
    let root = yaml::parse(text).map_err(|e| match e.duplicate_of {
        // the YAML reader's message quotes the name: said again without it
        Some(first) => Diagnostic::new(path, e.mark, "", duplicate(first))
            .hint("keep one of the two lines: stackprov cannot tell which value the hosts use"),
        None => Diagnostic::new(path, e.mark, "", format!("invalid YAML: {}", e.message)),
    })?;
    let nodes = match root.value {
        Value::Null => Vec::new(),
        Value::Map(entries) => entries,
        _ => {
            return Err(Diagnostic::new(
                path,
                root.mark,
                "",
                "expected a mapping of secret names to values",
            ));
        }
    };
    let mut entries = Vec::with_capacity(nodes.len());
    let mut first_at: HashMap<String, usize> = HashMap::new();
    for (k, v) in nodes {
        let entry = entry(path, &k, v, &first_at)?;
        first_at.insert(entry.name.clone(), k.mark.line);
        entries.push((entry, k.mark));
    }
    agrees_with_lines(path, text, &entries)?;
    Ok(entries.into_iter().map(|(e, _)| e).collect())
}

/// The file's text: UTF-8 without a BOM, NUL or invisible characters (tabs
/// and line ends aside).
fn text_of<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, Diagnostic> {
    let at = |mark: Mark, msg: String| Diagnostic::new(path, mark, "", msg);
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(at(
            Mark { line: 1, col: 1 },
            "the secrets file starts with a byte order mark (BOM)".into(),
        )
        .hint(format!(
            "save it as UTF-8 without a BOM, e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' {}`",
            path.display()
        )));
    }
    if let Some(i) = bytes.iter().position(|b| *b == 0) {
        return Err(at(byte_mark(bytes, i), "the secrets file holds a NUL byte".into())
            .hint("a secrets file is text, and no secret can hold NUL: remove it (is this the right file?)"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        at(
            byte_mark(bytes, e.valid_up_to()),
            "the secrets file is not UTF-8 text".into(),
        )
        .hint("secrets files are YAML text; is this a binary file?")
    })?;
    if let Some((i, c)) = text
        .char_indices()
        .find(|(_, c)| forbidden(*c) && !matches!(c, '\n' | '\t'))
    {
        let mark = byte_mark(bytes, i);
        return Err(if c == '\r' {
            at(
                mark,
                "the secrets file has a carriage return (Windows line ends?)".into(),
            )
            .hint(format!(
                "save it with Unix line ends, e.g. `sed -i 's/\\r$//' {}`",
                path.display()
            ))
        } else {
            at(
                mark,
                format!(
                    "the secrets file holds an invisible character ({})",
                    code(c)
                ),
            )
            .hint("remove it: secret names and values are printable text")
        });
    }
    Ok(text)
}

/// One `name: value` entry: a printable string name seen once, and a one-line
/// printable string value.
fn entry(
    path: &Path,
    k: &yaml::Node,
    v: yaml::Node,
    first_at: &HashMap<String, usize>,
) -> Result<Entry, Diagnostic> {
    let at = |mark: Mark, msg: String| Diagnostic::new(path, mark, "", msg);
    let name = k.as_str().unwrap_or_default().to_string();
    if let Some(c) = name.chars().find(|c| forbidden(*c)) {
        return Err(at(
            k.mark,
            format!("a secret name holds an invisible character ({})", code(c)),
        )
        .hint("secret names are printable text"));
    }
    if name.is_empty() {
        return Err(at(k.mark, "empty secret name".into())
            .hint("give the secret a name, or delete the line"));
    }
    if k.kind() != "a string" {
        return Err(at(
            k.mark,
            format!("the secret name is {} to YAML, not a string", k.kind()),
        )
        .hint("put the name in double quotes: `\"name\": \"value\"`"));
    }
    if let Some(first) = first_at.get(&name) {
        return Err(at(k.mark, duplicate(*first))
            .hint("keep one of the two lines: stackprov cannot tell which value the hosts use"));
    }
    let kind = v.kind();
    let value = match v.value {
        Value::Scalar { text, .. } if !text.is_empty() && !text.contains('\n') => text,
        _ => {
            // at the name: an empty value's place is the next line
            return Err(Diagnostic::new(
                path,
                k.mark,
                "",
                "the secret's value is not a one-line, non-empty string",
            )
            .hint("delete the line to have stackprov generate a new value"));
        }
    };
    if kind != "a string" {
        return Err(Diagnostic::new(
            path,
            v.mark,
            "",
            format!("the secret's value is {kind} to YAML, not a string"),
        )
        .hint("put the value in double quotes (`name: \"value\"`) so that YAML reads it as text"));
    }
    if let Some(c) = value.chars().find(|c| forbidden(*c)) {
        return Err(Diagnostic::new(
            path,
            v.mark,
            "",
            format!("the value holds an invisible character ({})", code(c)),
        )
        .hint("secret values are one line of printable text: change it, or delete the line to have stackprov generate a new one"));
    }
    Ok(Entry { name, value })
}

/// The line reader accepts a subset of what YAML does; where they agree,
/// appending a line cannot change what the file already says.
fn agrees_with_lines(path: &Path, text: &str, entries: &[(Entry, Mark)]) -> Result<(), Diagnostic> {
    let at = |mark: Mark, msg: String| Diagnostic::new(path, mark, "", msg);
    let lines = parse_lines(path, text)?;
    for (line, (entry, mark)) in lines.iter().zip(entries) {
        if line.entry != *entry || line.mark.line != mark.line {
            return Err(at(
                line.mark,
                "stackprov cannot tell exactly how YAML reads this line".into(),
            )
            .hint("put the name and the value in double quotes"));
        }
    }
    if lines.len() != entries.len() {
        let mark = lines
            .get(entries.len())
            .map(|l| l.mark)
            .or_else(|| entries.get(lines.len()).map(|e| e.1))
            .unwrap_or(Mark { line: 1, col: 1 });
        return Err(at(mark, "expected one `name: value` per line".into()).hint(ONE_PER_LINE));
    }
    Ok(())
}

/// The line to append for a new secret: `name: "value"`, the name quoted too
/// unless it is a plain word YAML reads as a string.
pub fn render(name: &str, value: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    let key = if plain {
        name.to_string()
    } else {
        double_quoted(name)
    };
    format!("{key}: {}\n", double_quoted(value))
}

/// A YAML double-quoted scalar that reads back as `s`.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c if forbidden(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `U+000D`, as messages name a character without printing it.
/// A name seen twice, said without the name.
fn duplicate(first: usize) -> String {
    format!("this secret name is already on line {first}")
}

fn code(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// Line and column (in characters) of a byte offset.
fn byte_mark(bytes: &[u8], i: usize) -> Mark {
    let before = &bytes[..i];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    Mark {
        line: before.iter().filter(|b| **b == b'\n').count() + 1,
        col: String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1,
    }
}

struct LineEntry {
    entry: Entry,
    mark: Mark,
}

/// The file read line by line, as the restricted format (see the module).
fn parse_lines(path: &Path, text: &str) -> Result<Vec<LineEntry>, Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let ln = i + 1;
        let err = |byte: usize, msg: &str, hint: &str| {
            let col = line[..byte].chars().count() + 1;
            Diagnostic::new(path, Mark { line: ln, col }, "", msg).hint(hint)
        };
        let rest = line.trim_start_matches([' ', '\t']);
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if out.is_empty()
            && let Some(after) = line.strip_prefix("---")
            && is_blank_or_comment(after)
        {
            continue;
        }
        if rest.len() != line.len() {
            return Err(err(
                0,
                "expected `name: value` starting in column 1",
                ONE_PER_LINE,
            ));
        }
        let mut l = Cursor { line, at: 0 };
        let name = match l.peek() {
            Some('"') => l.double_quoted(),
            Some('\'') => l.single_quoted(),
            Some(c) if starts_plain(c, l.peek2()) => l.plain_key(),
            _ => None,
        }
        .ok_or_else(|| err(l.at, "expected one `name: value` per line", ONE_PER_LINE))?;
        l.skip_blanks();
        if l.peek() != Some(':') || !matches!(l.peek2(), None | Some(' ' | '\t')) {
            return Err(err(
                l.at,
                "expected `: ` after the secret name",
                ONE_PER_LINE,
            ));
        }
        l.at += 1;
        l.skip_blanks();
        let value_at = l.at;
        let value = match l.peek() {
            Some('"') => l.double_quoted(),
            Some('\'') => l.single_quoted(),
            Some('|' | '>') => {
                return Err(err(
                    value_at,
                    "block scalars (`|`, `>`) are not supported in the secrets file",
                    "write the value on one line, in double quotes",
                ));
            }
            Some(c) if starts_plain(c, l.peek2()) => Some(l.plain_value()),
            _ => None,
        }
        .ok_or_else(|| {
            err(
                value_at,
                "expected a one-line value",
                "write the value on one line, in double quotes",
            )
        })?;
        if !is_blank_or_comment(&line[l.at..]) {
            return Err(err(
                l.at,
                "unexpected text after the value",
                "put the value in double quotes",
            ));
        }
        out.push(LineEntry {
            entry: Entry { name, value },
            mark: Mark { line: ln, col: 1 },
        });
    }
    Ok(out)
}

/// What may follow a value (or `---`): blanks, then nothing or a comment
/// (which YAML wants after at least one blank).
fn is_blank_or_comment(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '\t']);
    t.is_empty() || (t.starts_with('#') && t.len() != s.len())
}

/// Whether a plain (unquoted) scalar may start with `c` (YAML's indicators
/// may not; `-`, `?` and `:` may when a non-blank follows).
fn starts_plain(c: char, next: Option<char>) -> bool {
    match c {
        '-' | '?' | ':' => next.is_some_and(|n| !matches!(n, ' ' | '\t')),
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' | ' ' | '\t' => false,
        _ => true,
    }
}

struct Cursor<'a> {
    line: &'a str,
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.line[self.at..].chars().next()
    }
    fn peek2(&self) -> Option<char> {
        self.line[self.at..].chars().nth(1)
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.at += 1;
        }
    }

    /// A `"..."` scalar that ends on this line.
    fn double_quoted(&mut self) -> Option<String> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => {
                    let c = match self.bump()? {
                        '0' => '\0',
                        'a' => '\x07',
                        'b' => '\x08',
                        't' | '\t' => '\t',
                        'n' => '\n',
                        'v' => '\x0b',
                        'f' => '\x0c',
                        'r' => '\r',
                        'e' => '\x1b',
                        ' ' => ' ',
                        '"' => '"',
                        '/' => '/',
                        '\\' => '\\',
                        'N' => '\u{85}',
                        '_' => '\u{a0}',
                        'L' => '\u{2028}',
                        'P' => '\u{2029}',
                        x @ ('x' | 'u' | 'U') => {
                            let n = match x {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex = self.line.get(self.at..self.at + n)?;
                            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                                return None;
                            }
                            self.at += n;
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                        }
                        _ => return None,
                    };
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }

    /// A `'...'` scalar that ends on this line (`''` is one `'`).
    fn single_quoted(&mut self) -> Option<String> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump()? {
                '\'' if self.peek() == Some('\'') => {
                    self.bump();
                    out.push('\'');
                }
                '\'' => return Some(out),
                c => out.push(c),
            }
        }
    }

    /// A plain key: up to the `:` that a blank or the end of the line follows.
    fn plain_key(&mut self) -> Option<String> {
        let start = self.at;
        loop {
            let c = self.peek()?;
            if c == ':' && matches!(self.peek2(), None | Some(' ' | '\t')) {
                let key = self.line[start..self.at].trim_end_matches([' ', '\t']);
                return Some(key.to_string());
            }
            if matches!(c, ' ' | '\t') && self.peek2() == Some('#') {
                return None;
            }
            self.bump();
        }
    }

    /// A plain value: up to a comment or the end of the line, blanks trimmed.
    fn plain_value(&mut self) -> String {
        let start = self.at;
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t')
                && matches!(
                    self.line[self.at..]
                        .trim_start_matches([' ', '\t'])
                        .chars()
                        .next(),
                    Some('#')
                )
            {
                break;
            }
            self.bump();
        }
        let value = self.line[start..self.at].trim_end_matches([' ', '\t']);
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(String, String)> {
        parse(Path::new("s.yaml"), text.as_bytes())
            .unwrap_or_else(|d| panic!("{d}"))
            .into_iter()
            .map(|e| (e.name, e.value))
            .collect()
    }

    fn refusal(text: &[u8]) -> String {
        parse(Path::new("s.yaml"), text).unwrap_err().to_string()
    }

    #[test]
    fn reads_each_quoting_style_and_keeps_file_order() {
        let got = entries(
            "# c\n---\nb: plain value  # note\n'a''q': 'it''s'\n\"c: d\": \"x\\\"y\\\\z \\u00e9\"\n#e: commented out\n",
        );
        assert_eq!(
            got,
            [
                ("b".into(), "plain value".into()),
                ("a'q".into(), "it's".into()),
                ("c: d".into(), "x\"y\\z \u{e9}".into()),
            ]
        );
    }

    #[test]
    fn refuses_what_appending_could_not_keep() {
        for (text, want) in [
            (
                &b"{a: x}\n"[..],
                "s.yaml:1:1: expected one `name: value` per line",
            ),
            (b"a: >-\n  x\n", "s.yaml:1:4: block scalars"),
            (
                b"a: x\n  y\n",
                "s.yaml:2:1: expected `name: value` starting in column 1",
            ),
            (b"a: \"x\n  y\"\n", "s.yaml:1:4: expected a one-line value"),
            (
                b"a: \"x\\\n  y\"\n",
                "s.yaml:1:4: expected a one-line value",
            ),
            (b"a: x\n...\n", "s.yaml:2:"),
        ] {
            let e = refusal(text);
            assert!(
                e.starts_with(want),
                "{:?}: {e}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn renders_lines_that_read_back() {
        for (name, value) in [
            ("admin", "p"),
            ("#key", "v"),
            ("a: b", "c: d # e"),
            ("true", "'\"\\"),
            ("é", "\u{a0}x "),
            ("-", "-"),
        ] {
            let line = render(name, value);
            assert_eq!(
                entries(&line),
                [(name.to_string(), value.to_string())],
                "{line}"
            );
        }
        assert_eq!(render("admin", "x"), "admin: \"x\"\n");
    }
}
