//! The layout holds: imports run one way. Each top-level module of `src/`
//! has a layer ([`LAYERS`], top first); a module imports only modules of a
//! lower layer, and no files import each other in a circle. Test code (files
//! `tests.rs` and `testkit.rs`, `#[cfg(test)] mod tests` blocks) is left out:
//! a test may build its inputs with anything. docs/architecture.md draws the
//! same table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules of `src/`, highest layer first; modules on one line are
/// one layer and may not import each other.
const LAYERS: &[&[&str]] = &[
    &["fake"],
    &["commands"],
    &["cli", "render"],
    &["verify"],
    &["pipeline"],
    &["error"],
    &["apply", "tempest"],
    &["planner"],
    &["openstack", "amqp"],
    &["desired"],
    &["host_commands"],
    &["facts"],
    &["plan"],
    &["site"],
    &["secrets"],
    &["transport"],
    &["model"],
    &["yaml", "quote", "ini", "atomic_file", "input_file"],
];

/// A module's path from the crate root, by its file (`planner/file.rs` →
/// `planner::file`; `planner/mod.rs` → `planner`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's code without tests and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> Option<(&str, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

/// Every path a file names from `crate::` or `super::` (as segments from
/// the crate root), with `use crate::{a, b::c}` groups split.
fn paths(me: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (start, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        if start > 0 {
            let before = code.as_bytes()[start - 1];
            if before.is_ascii_alphanumeric() || before == b'_' || before == b':' {
                continue;
            }
        }
        let mut rest = &code[start..];
        let mut base: Vec<String> = if rest.starts_with("crate::") {
            rest = &rest["crate::".len()..];
            Vec::new()
        } else {
            let mut b = me.to_vec();
            while let Some(r) = rest.strip_prefix("super::") {
                b.pop();
                rest = r;
            }
            b
        };
        if let Some(group) = rest.strip_prefix('{') {
            // the names at the group's first depth
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_item(&base, &item, &mut out);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 && c != '{' {
                    item.push(c);
                }
            }
            push_item(&base, &item, &mut out);
            continue;
        }
        while let Some((id, r)) = ident_at(rest) {
            base.push(id.to_string());
            match r.strip_prefix("::") {
                Some(r) if !r.starts_with('{') => rest = r,
                _ => break,
            }
        }
        out.push(base);
    }
    out
}

fn push_item(base: &[String], item: &str, out: &mut Vec<Vec<String>>) {
    let mut p = base.to_vec();
    for seg in item.trim().split("::") {
        match ident_at(seg.trim()) {
            Some((id, _)) if id != "self" => p.push(id.to_string()),
            _ => break,
        }
    }
    out.push(p);
}

/// The file-level import graph of `src/` (test code left out).
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .filter(|f| {
            let name = f.file_name().unwrap().to_string_lossy();
            name != "tests.rs" && name != "testkit.rs" && name != "main.rs"
        })
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for (me, file) in &modules {
        let text = code(&std::fs::read_to_string(file).unwrap());
        let mut to = BTreeSet::new();
        for p in paths(me, &text) {
            // the longest prefix that is a module file
            let target = (1..=p.len())
                .rev()
                .map(|i| p[..i].to_vec())
                .find(|m| modules.contains_key(m));
            if let Some(t) = target
                && !me.starts_with(&t)
            {
                to.insert(t);
            }
        }
        edges.insert(me.clone(), to);
    }
    edges
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("src/{module} has no layer: add it to LAYERS (tests/layers.rs) and docs/architecture.md"))
}

#[test]
fn every_import_runs_down_a_layer() {
    let mut wrong = Vec::new();
    for (from, tos) in graph() {
        if from.is_empty() {
            continue; // lib.rs declares the modules
        }
        for to in tos {
            if to.is_empty() || from[0] == to[0] {
                continue;
            }
            let (a, b) = (layer_of(&from[0]), layer_of(&to[0]));
            if a >= b {
                wrong.push(format!("{} -> {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up a layer or sideways (see LAYERS):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let g = graph();
    // Tarjan's strongly connected components
    struct T<'g> {
        g: &'g BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'g Vec<String>, (usize, usize)>,
        stack: Vec<&'g Vec<String>>,
        on: BTreeSet<&'g Vec<String>>,
        next: usize,
        circles: Vec<Vec<String>>,
    }
    fn visit<'g>(t: &mut T<'g>, v: &'g Vec<String>) {
        t.index.insert(v, (t.next, t.next));
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.index[w].1;
                let e = t.index.get_mut(v).unwrap();
                e.1 = e.1.min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w].0;
                let e = t.index.get_mut(v).unwrap();
                e.1 = e.1.min(iw);
            }
        }
        if t.index[v].0 == t.index[v].1 {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                t.circles.push(comp);
            }
        }
    }
    let mut t = T {
        g: &g,
        index: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    assert!(t.circles.is_empty(), "import circles: {:?}", t.circles);
}

#[test]
fn the_checker_sees_imports_of_every_form() {
    let me = vec!["planner".to_string(), "file".to_string()];
    let found = paths(
        &me,
        "use crate::{facts::Facts, model::{Perms, AmqpLogin}, quote};\nuse super::{Cx, noop};\nlet x = crate::host_commands::mkdir(p);\nuse super::super::site::Site;",
    );
    let found: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    for want in [
        "facts::Facts",
        "model",
        "quote",
        "planner::Cx",
        "planner::noop",
        "host_commands::mkdir",
        "site::Site",
    ] {
        assert!(found.iter().any(|f| f == want), "{want} not in {found:?}");
    }
}

/// The most lines a function of `src/` may span, from `fn` to its closing
/// brace (tests included).
const MAX_FN_LINES: usize = 120;
/// The most lines of code (test modules left out) a file of `src/` may hold.
const MAX_FILE_LINES: usize = 600;
/// Functions allowed to be longer, each with the reason.
const LONG_FNS: &[(&str, &str)] = &[];

fn all_sources() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f.strip_prefix(&src).unwrap().to_path_buf(), text)
        })
        .collect()
}

/// Each function's name and length in lines: from a line that starts an
/// item `fn` to the first later line that closes at the same indent.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let indent = l.len() - t.len();
        let t = t
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .trim_start_matches("pub ")
            .trim_start_matches("const ")
            .trim_start_matches("unsafe ");
        let Some(rest) = t.strip_prefix("fn ") else {
            continue;
        };
        let name = rest
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default()
            .to_string();
        // a declaration without a body (in a trait), or a body on one line
        let Some(open) = lines[i..]
            .iter()
            .position(|x| x.contains('{') || x.trim_end().ends_with(';'))
        else {
            continue;
        };
        let head = lines[i + open].trim_end();
        if !head.contains('{') || head.ends_with('}') {
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i..]
            .iter()
            .position(|x| x.starts_with(&close) && x.trim() == "}")
        {
            out.push((name, i + 1, end + 1));
        }
    }
    out
}

#[test]
fn no_function_is_over_120_lines_and_no_file_over_600() {
    let mut long = Vec::new();
    for (file, text) in all_sources() {
        for (name, line, len) in functions(&text) {
            let at = format!("{}::{name}", file.display());
            if len > MAX_FN_LINES && !LONG_FNS.iter().any(|(f, _)| *f == at) {
                long.push(format!(
                    "src/{}:{line}: fn {name} is {len} lines",
                    file.display()
                ));
            }
        }
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let n = code.lines().count();
        if n > MAX_FILE_LINES {
            long.push(format!("src/{}: {n} lines of code", file.display()));
        }
    }
    assert!(
        long.is_empty(),
        "split these (or name the function in LONG_FNS with the reason):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_checker_counts_a_function_to_its_closing_brace() {
    let text = "impl X {\n    pub fn a(&self) {\n        if x {\n        }\n    }\n}\nfn b() {}\nfn c() {\n}\n";
    let f = functions(text);
    assert_eq!(f[0], ("a".to_string(), 2, 4));
    assert_eq!(f[1], ("c".to_string(), 8, 2));
}
