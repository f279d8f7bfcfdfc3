//! Apply's live progress on a terminal: finished lines, and one status line redrawn in place.

use super::{Style, safe};

/// Apply's progress: finished changes as lines, and, on a terminal, one status line
/// below them naming what each host is running now and for how long, redrawn in
/// place by [`Live::tick`].
pub struct Live<'a> {
    out: std::sync::Mutex<Screen<'a>>,
    live: bool,
}

struct Screen<'a> {
    out: &'a mut (dyn std::io::Write + Send),
    running: Vec<Running>,
    /// The status line as last drawn ("" when cleared).
    shown: String,
    /// Characters the status line may take: one less than the terminal's width.
    width: usize,
}

struct Running {
    host: String,
    what: String,
    since: std::time::Instant,
}

const CLEAR_LINE: &str = "\r\x1b[2K";

impl<'a> Live<'a> {
    pub fn new(out: &'a mut (dyn std::io::Write + Send), style: Style) -> Live<'a> {
        Live {
            out: std::sync::Mutex::new(Screen {
                out,
                running: Vec::new(),
                shown: String::new(),
                width: usize::from(style.width.max(20)) - 1,
            }),
            live: style.live,
        }
    }

    /// `host` has started `what`.
    pub fn start(&self, host: &str, what: String) {
        if !self.live {
            return;
        }
        self.with(|sc| {
            sc.running.retain(|r| r.host != host);
            sc.running.push(Running {
                host: host.to_string(),
                what,
                since: std::time::Instant::now(),
            });
            sc.draw();
        });
    }

    /// A finished line from `host`; its status entry goes away. `text` holds
    /// [`Style`]'s colours: the caller made the values in it [`safe`].
    pub fn line(&self, host: &str, text: &str) {
        let live = self.live;
        self.with(|sc| {
            if live {
                sc.running.retain(|r| r.host != host);
                sc.clear();
            }
            let _ = writeln!(sc.out, "{text}");
            if live {
                sc.draw();
            }
        });
    }

    /// Redraw the status line with fresh times.
    pub fn tick(&self) {
        if self.live {
            self.with(Screen::draw);
        }
    }

    /// Clear the status line for good.
    pub fn finish(&self) {
        if self.live {
            self.with(Screen::clear);
        }
    }

    fn with(&self, f: impl FnOnce(&mut Screen<'a>)) {
        if let Ok(mut sc) = self.out.lock() {
            f(&mut sc);
            let _ = sc.out.flush();
        }
    }
}

impl Screen<'_> {
    fn clear(&mut self) {
        if !self.shown.is_empty() {
            let _ = write!(self.out, "{CLEAR_LINE}");
            self.shown.clear();
        }
    }

    /// Draw the status line, at most `self.width` characters so that it never wraps
    /// (a wrapped line cannot be redrawn in place), unless it reads as it does already.
    fn draw(&mut self) {
        let status = status_line(&self.running, self.width);
        if status != self.shown {
            let _ = write!(self.out, "{CLEAR_LINE}{status}");
            self.shown = status;
        }
    }
}

fn status_line(running: &[Running], width: usize) -> String {
    let status = running
        .iter()
        .map(|r| {
            format!(
                "{}: {} {}s",
                safe(&r.host),
                safe(&r.what),
                r.since.elapsed().as_secs()
            )
        })
        .collect::<Vec<_>>()
        .join(" | ");
    status.chars().take(width).collect()
}
