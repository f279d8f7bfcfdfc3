//! `overrides`: extra INI keys per rendered file (path -> section -> key -> value).

use super::Ctx;
use crate::site::Overrides;
use crate::site::diagnostic::short;
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
                if sname.is_empty() || sname.contains([']', '[', '\n']) {
                    self.error(
                        sk.mark,
                        &spath,
                        format!("`{}` is not an INI section name", short(&sname)),
                        None,
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
                    if key.is_empty()
                        || !key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                    {
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
