//! What people and machines see: plans with diffs, progress lines, the recap.
//! Colour only on a terminal and never with NO_COLOR.

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
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
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
