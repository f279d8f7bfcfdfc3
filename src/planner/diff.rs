//! Diffs of files as the plan shows them: unified, secrets masked, hunk
//! headers naming the INI section.

use crate::secrets::placeholder;
use crate::secrets::{MASK, Masker};

/// Mask, in a file's text, the lines where the template puts a secret: the
/// value there may be one the secrets file no longer knows (rotated, or from
/// another secrets file), which the masker cannot recognise by value.
pub fn mask_secret_lines(text: &str, template: &str) -> String {
    let patterns: Vec<(String, String)> = template
        .lines()
        .filter_map(|l| {
            let start = l.find("((secret:")?;
            let end = l.rfind("))")? + 2;
            Some((l[..start].to_string(), l[end..].to_string()))
        })
        .filter(|(prefix, _)| !prefix.trim().is_empty())
        .collect();
    if patterns.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        // placeholders (saved facts) are reversible and already safe
        let masked = (!placeholder::has_secrets(body))
            .then_some(())
            .and_then(|()| {
                patterns.iter().find_map(|(prefix, suffix)| {
                    // `key = value` lines match by key, however the file spaces them
                    if let Some(key) = prefix.trim_end().strip_suffix('=').map(str::trim)
                        && !key.is_empty()
                        && !body.trim_start().starts_with(['#', ';'])
                        && let Some((k, v)) = body.split_once('=')
                        && k.trim() == key
                    {
                        let lead = v.len() - v.trim_start().len();
                        return Some(format!("{k}={}{MASK}", &v[..lead]));
                    }
                    (body.starts_with(prefix.as_str())
                        && body.ends_with(suffix.as_str())
                        && body.len() >= prefix.len() + suffix.len())
                    .then(|| format!("{prefix}{MASK}{suffix}"))
                })
            });
        out.push_str(masked.as_deref().unwrap_or(body));
        out.push_str(nl);
    }
    out
}

/// A unified diff with secrets masked; hunk headers name the INI section.
pub fn diff(path: &str, old: &str, new: &str, masker: &Masker, template: &str) -> String {
    let old_m = mask_secret_lines(&masker.mask(old), template);
    let new_m = mask_secret_lines(&masker.mask(new), template);
    let td = similar::TextDiff::from_lines(old_m.as_str(), new_m.as_str());
    let mut out = format!("--- {path} (current)\n+++ {path} (planned)\n");
    let mut ud = td.unified_diff();
    ud.context_radius(3);
    if ud.iter_hunks().next().is_none() {
        out.push_str("(only secret values differ; they are not shown)\n");
        return out;
    }
    for hunk in ud.iter_hunks() {
        let body = hunk.to_string();
        let section = hunk.ops().first().and_then(|op| {
            crate::ini::section_at(&new_m, op.new_range().start + 3.min(op.new_range().len()))
        });
        let mut lines = body.lines();
        if let Some(header) = lines.next() {
            match section {
                Some(s) => out.push_str(&format!("{header} [{s}]\n")),
                None => out.push_str(&format!("{header}\n")),
            }
        }
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    #[test]
    fn lines_where_the_template_puts_a_secret_are_masked_whatever_they_hold() {
        let template = "[database]\nconnection = mysql://k:((secret:db|dburl))@h/k\npassword=((secret:db))\nplain = x\n";
        let rows = [
            // a value the masker does not know (rotated): masked by the template
            (
                "connection = mysql://k:old@h/k\n",
                "connection = mysql://k:********@h/k\n",
            ),
            // key = value lines match by key, however spaced
            ("password =  old\n", "password =  ********\n"),
            // comments and other keys are left alone
            (
                "# password = old\nplain = x\n",
                "# password = old\nplain = x\n",
            ),
            // placeholders (saved facts) are already safe
            ("password = ((secret:db))\n", "password = ((secret:db))\n"),
        ];
        for (text, want) in rows {
            assert_eq!(mask_secret_lines(text, template), want, "{text:?}");
        }
        assert_eq!(mask_secret_lines("a\nb", "no secrets\n"), "a\nb");
    }

    #[test]
    fn a_diff_of_secret_values_only_says_so() {
        let mut m = Masker::default();
        m.add("db", &Secret::new("new-pass"));
        let d = diff(
            "/root/openrc",
            "export OS_PASSWORD=old-pass\n",
            "export OS_PASSWORD=new-pass\n",
            &m,
            "export OS_PASSWORD=((secret:db|shell))\n",
        );
        assert_eq!(
            d,
            "--- /root/openrc (current)\n+++ /root/openrc (planned)\n(only secret values differ; they are not shown)\n"
        );
    }
}
