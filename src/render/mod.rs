//! What people and machines see: plans with diffs, progress lines, the recap.
//! Colour only on a terminal and never with NO_COLOR.
//!
//! Text for people quotes the site, facts and what hosts hold (a file's
//! content in a diff, a command's output): every such value goes through
//! [`safe`] (controls such as ESC, format characters such as bidi overrides
//! and zero-width spaces shown as `\u{1b}`; line breaks and tabs kept) where
//! it is written, so that nothing a host holds can act on the terminal. The
//! only escape sequences printed are [`Style`]'s colours. JSON is escaped by serde.

mod facts;
mod live;
mod plan;
mod recap;
mod tempest;
mod verify;

pub use facts::facts_text;
pub use live::Live;
pub use plan::{Summary, host_plan, plan_text, summary_line};
pub use recap::{Recap, recap_text};
pub use tempest::{tempest_error, tempest_text};
pub use verify::verify_text;

use crate::plan::Action;

/// A value as human output shows it (see the module).
pub use crate::model::diagnostic::terminal_text as safe;

/// For tests: panics unless every ESC in `text` starts one of [`Style`]'s
/// colours (`ESC [ digits m`) and no other control or format character is
/// left but line ends and tabs.
#[cfg(any(test, feature = "testing"))]
#[track_caller]
pub fn assert_only_colours(text: &str) {
    let mut rest = text;
    while let Some(i) = rest.find('\u{1b}') {
        let after = &rest[i + 1..];
        let end = after.find('m').expect("an ESC without its `m`");
        assert!(
            after.starts_with('[') && after[1..end].bytes().all(|b| b.is_ascii_digit()),
            "an escape sequence that is not a colour: {:?} in {text:?}",
            &after[..end + 1]
        );
        rest = &after[end + 1..];
    }
    let raw: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, '\u{1b}' | '\n' | '\t'))
        .filter(|c| crate::model::diagnostic::needs_escape(*c))
        .collect();
    assert!(raw.is_empty(), "raw {raw:?} in {text:?}");
}

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// A status line that `apply` redraws in place (stdout is a terminal and not
    /// `TERM=dumb`); plain lines otherwise.
    pub live: bool,
    /// The terminal's width in columns (80 when unknown).
    pub width: u16,
    /// `-v`: plans also list the resources that need nothing, with the reason.
    pub verbose: bool,
}

impl Style {
    pub fn detect() -> Style {
        use std::io::IsTerminal;
        let tty = std::io::stdout().is_terminal();
        Style {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && tty,
            live: tty && std::env::var("TERM").map_or(true, |t| t != "dumb"),
            width: 80,
            verbose: false,
        }
    }
    pub fn plain() -> Style {
        Style {
            color: false,
            live: false,
            width: 80,
            verbose: false,
        }
    }
    /// `s` in colour, made [`safe`] first.
    fn paint(&self, code: &str, s: &str) -> String {
        let s = safe(s);
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.into_owned()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn action(&self, a: Action) -> String {
        let sym = a.symbol().to_string();
        match a {
            Action::Create => self.green(&sym),
            Action::Update => self.yellow(&sym),
            Action::Run => self.paint("35", &sym),
        }
    }
}

#[cfg(test)]
mod tests;
