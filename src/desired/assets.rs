//! playbooks/ and templates/, compiled into the binary so it runs anywhere.

use super::{DesiredError, PlaybookError, PlaybookReason};
use include_dir::{Dir, include_dir};

static PLAYBOOKS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/playbooks");
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// A file under playbooks/ or templates/, by its path from the repository root.
pub fn text(path: &str) -> Result<&'static str, DesiredError> {
    let (dir, rest) = if let Some(r) = path.strip_prefix("playbooks/") {
        (&PLAYBOOKS, r)
    } else if let Some(r) = path.strip_prefix("templates/") {
        (&TEMPLATES, r)
    } else {
        return Err(PlaybookError::new(path, PlaybookReason::NotAnAsset).into());
    };
    dir.get_file(rest)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| PlaybookError::new(path, PlaybookReason::NoSuchAsset).into())
}

/// Every playbook, as (name relative to playbooks/, text), by name.
pub fn playbooks() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    collect(&PLAYBOOKS, &mut out);
    out.sort();
    out
}

/// Every template, as (name relative to templates/, text).
pub fn templates() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    collect(&TEMPLATES, &mut out);
    out
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static str)>) {
    for f in dir.files() {
        if let Some(t) = f.contents_utf8() {
            out.push((f.path().to_string_lossy().into_owned(), t));
        }
    }
    for d in dir.dirs() {
        collect(d, out);
    }
}
