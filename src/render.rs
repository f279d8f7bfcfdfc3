//! What people and machines see: plans with diffs, progress lines, the recap.
//! Colour only on a terminal and never with NO_COLOR.

use crate::apply::HostOutcome;
use crate::plan::{Action, HostPlan, Plan};
use crate::transport::TransportStats;
use serde::Serialize;
use std::fmt::Write;

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

/// Counts per action.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub run: usize,
}

impl Summary {
    pub fn of(hosts: &[HostPlan]) -> Summary {
        let mut s = Summary::default();
        for c in hosts.iter().flat_map(|h| &h.changes) {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Run => s.run += 1,
            }
        }
        s
    }
    pub fn total(&self) -> usize {
        self.create + self.update + self.run
    }
}

pub fn host_plan(h: &HostPlan, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.bold(&h.host));
    if h.changes.is_empty() {
        let _ = writeln!(out, "  no changes");
    }
    // with -v the no-ops follow the changes, in the same columns
    let noops = if style.verbose { &h.noops[..] } else { &[] };
    let width = h
        .changes
        .iter()
        .map(|c| c.id.len())
        .chain(noops.iter().map(|n| n.id.len()))
        .max()
        .unwrap_or(0)
        .min(60);
    for c in &h.changes {
        let _ = writeln!(
            out,
            "  {} {:width$}  {}",
            style.action(c.action),
            c.id,
            c.reason
        );
        if let Some(d) = &c.diff {
            for line in d.lines() {
                let l = if line.starts_with("+++") || line.starts_with("---") {
                    style.bold(line)
                } else if line.starts_with('+') {
                    style.green(line)
                } else if line.starts_with('-') {
                    style.red(line)
                } else if line.starts_with("@@") {
                    style.paint("36", line)
                } else {
                    line.to_string()
                };
                let _ = writeln!(out, "      {l}");
            }
        }
    }
    for n in noops {
        let line = format!("  = {:width$}  {}", n.id, n.reason);
        let _ = writeln!(out, "{}", style.dim(&line));
    }
    out
}

pub fn summary_line(s: Summary, hosts: usize) -> String {
    if s.total() == 0 {
        format!("No changes. {hosts} host(s) match the site file.")
    } else {
        format!(
            "Plan: {} to create, {} to update, {} to run, on {hosts} host(s).",
            s.create, s.update, s.run
        )
    }
}

pub fn plan_text(p: &Plan, style: Style) -> String {
    let mut out = String::new();
    for h in &p.hosts {
        out.push_str(&host_plan(h, style));
        out.push('\n');
    }
    out.push_str(&summary_line(Summary::of(&p.hosts), p.hosts.len()));
    out.push('\n');
    out
}

/// One host's line in the recap, as Ansible prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Recap {
    pub host: String,
    pub ok: usize,
    pub changed: usize,
    /// Changes not run because the run was interrupted.
    pub skipped: usize,
    pub failed: usize,
    pub unreachable: bool,
    pub seconds: f64,
    pub transport: TransportStats,
    /// Requests to the OpenStack APIs (reading the catalog and changing it).
    pub http_requests: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<crate::apply::Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Recap {
    pub fn from_outcome(o: &HostOutcome, resources: usize, transport: TransportStats) -> Recap {
        Recap {
            host: o.host.clone(),
            ok: resources.saturating_sub(o.changed + o.skipped + usize::from(o.failure.is_some())),
            changed: o.changed,
            skipped: o.skipped,
            failed: usize::from(o.failure.is_some()),
            unreachable: false,
            seconds: o.seconds,
            http_requests: o.http_requests,
            transport,
            failure: o.failure.clone(),
            error: None,
        }
    }
}

pub fn recap_text(recaps: &[Recap], style: Style) -> String {
    let mut out = String::from("\nRECAP\n");
    let w = recaps.iter().map(|r| r.host.len()).max().unwrap_or(0);
    for r in recaps {
        let failed = format!("failed={}", r.failed);
        let failed = if r.failed > 0 {
            style.red(&failed)
        } else {
            failed
        };
        let changed = format!("changed={}", r.changed);
        let changed = if r.changed > 0 {
            style.yellow(&changed)
        } else {
            changed
        };
        let unreachable = if r.unreachable {
            style.red(" unreachable=1")
        } else {
            String::new()
        };
        let unreachable = if r.skipped > 0 {
            format!(
                "{unreachable}{}",
                style.yellow(&format!(" interrupted, not run={}", r.skipped))
            )
        } else {
            unreachable
        };
        let _ = writeln!(
            out,
            "{:w$} : ok={} {changed} {failed}{unreachable}  ({:.1}s, {} SSH round trips, {} HTTP requests)",
            r.host, r.ok, r.seconds, r.transport.round_trips, r.http_requests
        );
        if let Some(f) = &r.failure {
            let status = f
                .status
                .map_or("no exit status".to_string(), |s| format!("exit {s}"));
            let _ = writeln!(
                out,
                "  {} {}: {} ({status})",
                style.red("failed"),
                f.change,
                f.command
            );
            for l in f.stderr.lines() {
                let _ = writeln!(out, "    | {l}");
            }
        }
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  {} {e}", style.red("error"));
        }
    }
    out
}

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

    /// A finished line from `host`; its status entry goes away.
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
        .map(|r| format!("{}: {} {}s", r.host, r.what, r.since.elapsed().as_secs()))
        .collect::<Vec<_>>()
        .join(" | ");
    status.chars().take(width).collect()
}

/// `stackprov facts` for people: what the planner knows about one host.
pub fn facts_text(host: &str, f: &crate::facts::Facts, style: Style) -> String {
    use crate::facts::{FileKind, Init, PackageManager};
    let mut s = String::new();
    let _ = writeln!(s, "{}", style.bold(host));
    let pm = match f.os.package_manager {
        PackageManager::Apt => "apt",
        PackageManager::Yum => "yum",
        PackageManager::Dnf => "dnf",
    };
    let init = match f.os.init {
        Init::Systemd => "systemd",
        Init::Sysv => "SysV init",
    };
    let container = if f.os.container {
        ", in a container"
    } else {
        ""
    };
    let _ = writeln!(s, "  os: {}; {pm}, {init}{container}", f.os.pretty_name);

    let _ = writeln!(
        s,
        "  packages: {} of {} installed",
        f.packages.len(),
        f.query.packages.len()
    );
    for p in &f.query.packages {
        match f.packages.get(p) {
            Some(v) => {
                let _ = writeln!(s, "    {p} {v}");
            }
            None => {
                let _ = writeln!(s, "    {p} {}", style.yellow("(not installed)"));
            }
        }
    }

    let paths: std::collections::BTreeSet<&String> =
        f.query.stats.iter().chain(&f.query.contents).collect();
    let _ = writeln!(s, "  files: {} of {} present", f.files.len(), paths.len());
    for p in paths {
        match f.files.get(p) {
            Some(ff) => {
                let kind = match ff.kind {
                    FileKind::File => "file",
                    FileKind::Directory => "directory",
                    FileKind::Other => "other",
                };
                let _ = writeln!(
                    s,
                    "    {p} {kind} {}:{} {:04o}",
                    ff.perms.owner, ff.perms.group, ff.perms.mode
                );
            }
            None => {
                let _ = writeln!(s, "    {p} {}", style.yellow("(absent)"));
            }
        }
    }

    if !f.services.is_empty() {
        let _ = writeln!(s, "  services:");
        for (name, sf) in &f.services {
            let state = if !sf.exists {
                style.yellow("not installed")
            } else {
                format!(
                    "{}, {}",
                    if sf.enabled { "enabled" } else { "disabled" },
                    if sf.running { "running" } else { "stopped" }
                )
            };
            let _ = writeln!(s, "    {name} {state}");
        }
    }

    if !f.checks.is_empty() {
        let _ = writeln!(s, "  checks (a failing one makes its command run):");
        for (cmd, status) in &f.checks {
            let mark = if *status == 0 {
                style.green("ok   ")
            } else {
                style.yellow("fails")
            };
            let exit = if *status == 0 {
                String::new()
            } else {
                format!(" (exit {status})")
            };
            let _ = writeln!(s, "    {mark} {cmd}{exit}");
        }
    }

    let logins = |l: &std::collections::BTreeMap<String, bool>| -> String {
        if l.is_empty() {
            return String::new();
        }
        let each: Vec<String> = l
            .iter()
            .map(|(u, ok)| format!("{u} {}", if *ok { "ok" } else { "refused" }))
            .collect();
        format!("; password logins: {}", each.join(", "))
    };
    match &f.sql {
        Some(sql) => {
            let _ = writeln!(
                s,
                "  mariadb: {} databases, {} users, {} grants{}",
                sql.databases.len(),
                sql.users.len(),
                sql.grants.len(),
                logins(&sql.logins)
            );
        }
        None if f.query.sql => {
            let _ = writeln!(s, "  mariadb: {}", style.yellow("not running"));
        }
        None => {}
    }
    if let Some(c) = &f.catalog {
        match &c.unavailable {
            Some(why) => {
                let _ = writeln!(
                    s,
                    "  keystone catalog: {} ({why})",
                    style.yellow("unavailable")
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "  keystone catalog: {} projects, {} users, {} roles, {} assignments, {} services, {} endpoints{}",
                    c.projects.len(),
                    c.users.len(),
                    c.roles.len(),
                    c.assignments.len(),
                    c.services.len(),
                    c.endpoints.len(),
                    logins(&c.logins)
                );
                for e in &c.endpoints {
                    let _ = writeln!(
                        s,
                        "    {} {} {} {}",
                        e.service_type, e.interface, e.region, e.url
                    );
                }
            }
        }
    }
    if !f.pending_restarts.is_empty() {
        let pending: Vec<&str> = f.pending_restarts.iter().map(String::as_str).collect();
        let _ = writeln!(
            s,
            "  {}: {}",
            style.yellow("restarts left pending by an interrupted run"),
            pending.join(", ")
        );
    }
    s
}

/// `verify`'s checks for one host: a line each, timed, then the traffic they cost.
pub fn verify_text(
    host: &str,
    checks: &[crate::verify::Check],
    http_requests: u64,
    transport: crate::transport::TransportStats,
    style: Style,
) -> String {
    let mut out = format!("{}\n", style.bold(&format!("{host}: verify")));
    for c in checks {
        let mark = if c.ok {
            style.green("ok  ")
        } else {
            style.red("FAIL")
        };
        out.push_str(&format!(
            "  {mark} {:22} {:>6.2}s  {}\n",
            c.name, c.seconds, c.detail
        ));
    }
    out.push_str(&format!(
        "  {http_requests} HTTP request(s), {} SSH round trip(s)\n",
        transport.round_trips
    ));
    out
}
