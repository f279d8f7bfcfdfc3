//! Problems found in an input file, each pointing at a place and saying how to fix it.

use crate::yaml::Mark;
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// The YAML path, e.g. `hosts[0].roles[1]`; empty for the whole document.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Path, mark: Mark, path: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: mark.line,
            col: mark.col,
            path: path.to_string(),
            message: message.into(),
            hint: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Text for a terminal: messages quote values from the file, so control
/// characters (an escape sequence could rewrite the screen or the title),
/// line and paragraph separators, bidirectional overrides and invisible
/// characters are shown as escapes such as `\u{1b}`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display().to_string();
        if self.line == 0 {
            write!(f, "{}: ", Shown(&file))?;
        } else {
            write!(f, "{}:{}:{}: ", Shown(&file), self.line, self.col)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", Shown(&self.path))?;
        }
        write!(f, "{}", Shown(&self.message))?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {}", Shown(h))?;
        }
        Ok(())
    }
}

/// A string with the characters a terminal would act on, or that would hide
/// or reorder text, written as escapes (`\u{1b}`); the rest as is. One line:
/// line breaks and tabs are escaped too (see [`ShownText`] for text of many lines).
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, |_| false)
    }
}

/// Text of many lines (a diff, a command's output) for a terminal: as
/// [`Shown`], but `\n` and `\t` are kept as they are.
pub struct ShownText<'a>(pub &'a str);

impl fmt::Display for ShownText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, |c| matches!(c, '\n' | '\t'))
    }
}

/// Text of many lines made safe for a terminal ([`ShownText`]), borrowed when
/// nothing needs an escape: what every line of human output goes through.
pub fn terminal_text(s: &str) -> Cow<'_, str> {
    if s.chars()
        .any(|c| needs_escape(c) && !matches!(c, '\n' | '\t'))
    {
        Cow::Owned(ShownText(s).to_string())
    } else {
        Cow::Borrowed(s)
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, s: &str, keep: impl Fn(char) -> bool) -> fmt::Result {
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        if needs_escape(c) && !keep(c) {
            f.write_str(&s[plain..i])?;
            write!(f, "{}", c.escape_unicode())?;
            plain = i + c.len_utf8();
        }
    }
    f.write_str(&s[plain..])
}

/// Whether a terminal would act on `c` or it would hide or reorder text:
/// the controls (C0, DEL, C1: Unicode's Cc), every format character (Cf:
/// zero-width characters, bidirectional embeddings, overrides and isolates,
/// invisible operators, tags) and the line and paragraph separators (Zl, Zp),
/// as of Unicode 15.1.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}' // soft hyphen
            | '\u{0600}'..='\u{0605}' // Arabic number signs
            | '\u{061c}' // Arabic letter mark
            | '\u{06dd}' // Arabic end of ayah
            | '\u{070f}' // Syriac abbreviation mark
            | '\u{0890}'..='\u{0891}' // Arabic pound and piastre marks above
            | '\u{08e2}' // Arabic disputed end of ayah
            | '\u{180e}' // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}' // zero-width spaces and joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line and paragraph separators, embeddings, overrides
            | '\u{2060}'..='\u{206f}' // word joiner, invisible operators, isolates
            | '\u{feff}' // byte order mark, zero-width no-break space
            | '\u{fff9}'..='\u{fffb}' // interlinear annotations
            | '\u{110bd}' | '\u{110cd}' // Kaithi number signs
            | '\u{13430}'..='\u{1343f}' // Egyptian hieroglyph format controls
            | '\u{1bca0}'..='\u{1bca3}' // shorthand format controls
            | '\u{1d173}'..='\u{1d17a}' // musical symbol format controls
            | '\u{e0001}' | '\u{e0020}'..='\u{e007f}' // tags
        )
}

/// A value from the file as a message quotes it: cut short after 64
/// characters, so a hostile megabyte-long key is not echoed whole.
pub fn short(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(64) {
        Some((end, _)) => Cow::Owned(format!("{}…", &s[..end])),
        None => Cow::Borrowed(s),
    }
}

/// The closest candidate to a misspelt word, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_l = word.to_ascii_lowercase();
    let word_chars = word.chars().count();
    candidates
        .into_iter()
        .map(|c| (c, (c.len().max(word.len()) / 3).max(1)))
        // the distance is at least the difference in length: a word much
        // longer than every candidate costs nothing
        .filter(|(c, max)| c.chars().count().abs_diff(word_chars) <= *max)
        .map(|(c, max)| (edit_distance(&word_l, &c.to_ascii_lowercase()), c, max))
        .filter(|(d, _, max)| d <= max)
        .min_by_key(|(d, _, _)| *d)
        .map(|(_, c, _)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(did_you_mean("adress", ["address", "port"]), Some("address"));
        assert_eq!(
            did_you_mean("keystnoe", ["keystone", "glance"]),
            Some("keystone")
        );
        assert_eq!(did_you_mean("zzz", ["address", "port"]), None);
    }

    #[test]
    fn shows_control_and_invisible_characters_as_escapes() {
        let d = Diagnostic::new(
            Path::new("s\u{7}.yaml"),
            Mark { line: 1, col: 2 },
            "hosts[0].\u{202e}x",
            "`\u{1b}]0;owned\u{7}` is not a valid host name",
        )
        .hint("\u{9b}2J\u{feff}é");
        assert_eq!(
            d.to_string(),
            "s\\u{7}.yaml:1:2: hosts[0].\\u{202e}x: `\\u{1b}]0;owned\\u{7}` is not a valid host name\n  hint: \\u{9b}2J\\u{feff}é"
        );
    }

    #[test]
    fn text_keeps_its_lines_and_tabs_and_escapes_the_rest() {
        let diff =
            "+a\tb\n-\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{202e}\u{200b}\u{ad}\u{7f}\u{85}\u{e0041}é\n";
        assert_eq!(
            terminal_text(diff),
            "+a\tb\n-\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{d}\\u{202e}\\u{200b}\\u{ad}\\u{7f}\\u{85}\\u{e0041}é\n"
        );
        assert!(matches!(terminal_text("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(Shown("a\tb\nc").to_string(), "a\\u{9}b\\u{a}c");
    }
}
