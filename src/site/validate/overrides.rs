//! `overrides`: extra INI keys per rendered file (path -> section -> key -> value).

use super::Ctx;
use crate::model::diagnostic::short;
use crate::secrets::placeholder;
use crate::site::{Overrides, Places};
use crate::yaml::{Node, Value};
use std::collections::BTreeMap;

impl Ctx<'_> {
    pub(super) fn overrides(&mut self, n: &Node) -> Option<Overrides> {
        let files = self.fields(n, "overrides", "file paths mapped to INI sections", &[])?;
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (k, v) in files.entries {
            let file = k.as_str().unwrap_or_default().to_string();
            let fpath = format!("overrides.{}", short(&file));
            if !file.starts_with('/') {
                self.error(
                    k.mark,
                    &fpath,
                    format!("`{}` is not an absolute path", short(&file)),
                    Some("name the rendered file, e.g. /etc/keystone/keystone.conf".into()),
                );
                ok = false;
                continue;
            }
            let Some(sections) = self.fields(v, &fpath, "INI sections", &[]) else {
                ok = false;
                continue;
            };
            let mut secs = BTreeMap::new();
            for (sk, sv) in sections.entries {
                let sname = sk.as_str().unwrap_or_default().to_string();
                let spath = format!("{fpath}.{}", short(&sname));
                if !plain_name(&sname, ":") {
                    self.error(
                        sk.mark,
                        &spath,
                        format!("`{}` is not an INI section name", short(&sname)),
                        Some(SECTION_HINT.into()),
                    );
                    ok = false;
                    continue;
                }
                if sname != "DEFAULT" && sname.eq_ignore_ascii_case("default") {
                    self.error(
                        sk.mark,
                        &spath,
                        format!("`[{sname}]` is not `[DEFAULT]`: oslo.config and Python's configparser take DEFAULT only in capitals (other sections in any case), so no option would be read from it"),
                        Some("write the section as `DEFAULT`".into()),
                    );
                    ok = false;
                    continue;
                }
                let Some(keys) = self.fields(sv, &spath, "INI keys and values", &[]) else {
                    ok = false;
                    continue;
                };
                let mut kv = BTreeMap::new();
                for (kk, kvn) in keys.entries {
                    let key = kk.as_str().unwrap_or_default().to_string();
                    let kpath = format!("{spath}.{}", short(&key));
                    if !plain_name(&key, "") {
                        self.error(
                            kk.mark,
                            &kpath,
                            format!("`{}` is not an INI key", short(&key)),
                            Some("keys are letters, digits, `_`, `-` and `.`".into()),
                        );
                        ok = false;
                        continue;
                    }
                    match &kvn.value {
                        Value::Scalar { text, .. } if !text.contains('\n') => {
                            if let Some(problem) = value_problem(text) {
                                let (message, hint) = problem;
                                self.error(kvn.mark, &kpath, message, Some(hint));
                                ok = false;
                                continue;
                            }
                            kv.insert(key, text.clone());
                        }
                        _ => {
                            self.error(
                                kvn.mark,
                                &kpath,
                                format!("expected a one-line value, found {}", kvn.kind()),
                                None,
                            );
                            ok = false;
                        }
                    }
                }
                secs.insert(sname, kv);
            }
            out.insert(file, secs);
        }
        ok.then_some(out)
    }
}

/// Why a section name must be plain: a service reads only the sections its
/// options are registered in, so one with a space, an invisible character or
/// a look-alike letter is written and then never read, without a word.
const SECTION_HINT: &str = "section names are ASCII letters, digits, `_`, `-`, `.` and `:`, as the services spell them (`DEFAULT`, `oslo_messaging_rabbit`, `filter:authtoken`): no service reads a section with a space, an invisible character or a non-ASCII letter, so retype the name";

/// An INI section or key name stackprov writes: ASCII letters, digits, `_`,
/// `-`, `.` and the characters of `more` (`:` in sections, for paste files'
/// `filter:NAME`), at least one.
fn plain_name(name: &str, more: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c) || more.contains(c))
}

/// Where each file and each option of a valid `overrides` is written, for
/// the roles' checks of the finished site (see [`crate::site::Places`]).
pub(super) fn places(n: &Node) -> Places {
    let mut places = Places::default();
    let Value::Map(entries) = &n.value else {
        return places;
    };
    for (k, v) in entries {
        let file = k.as_str().unwrap_or_default();
        places.override_files.insert(file.to_string(), k.mark);
        let Value::Map(sections) = &v.value else {
            continue;
        };
        for (sk, sv) in sections {
            let (Some(section), Value::Map(options)) = (sk.as_str(), &sv.value) else {
                continue;
            };
            for (kk, _) in options {
                let key = kk.as_str().unwrap_or_default();
                places.override_keys.insert(
                    (file.to_string(), section.to_string(), key.to_string()),
                    kk.mark,
                );
            }
        }
    }
    places
}

/// Why an override value cannot be written as it is, with a hint. Values are
/// written into the file verbatim, so a control character (`\r` is a line
/// break to oslo.config and Python's configparser: the rest of the value would
/// be read as a key of its own) and a secret placeholder (which stackprov would
/// fill in with the secret, or generate a new one for) are refused.
fn value_problem(text: &str) -> Option<(String, String)> {
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\t') {
        return Some((
            format!(
                "the value has `{}`, a control character; an override value is one line of text",
                crate::secrets::encoding::shown(c)
            ),
            "INI readers such as oslo.config end a line at `\\r`, so the rest would be read as a key of its own".into(),
        ));
    }
    if placeholder::has_secrets(text) {
        return Some((
            "the value has a `((secret:...))` placeholder; overrides are written as they are and never hold secrets".into(),
            "secrets reach files only through stackprov's own templates; remove the placeholder".into(),
        ));
    }
    None
}
