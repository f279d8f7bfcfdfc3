//! Diffs of files as the plan shows them: unified, secrets masked, hunk
//! headers naming the INI section.

use crate::secrets::placeholder;
use crate::secrets::{MASK, Masker};

/// Mask, in a file's text, the lines where the template puts a secret: the
/// value there may be one the secrets file no longer knows (rotated, or from
/// another secrets file), which the masker cannot recognise by value.
pub fn mask_secret_lines(text: &str, template: &str) -> String {
    mask_secret_looking(&mask_template_lines(text, template))
}

/// Key names whose values are secrets wherever they stand (set or commented
/// out, managed by stackprov or not: `memcache_secret_key`, an old `#password`).
const SECRET_KEY_WORDS: &[&str] = &["pass", "secret", "token", "credential"];

/// Mask what looks like a secret whoever wrote it: the value of a `key = value`
/// or `key: value` line whose key names a secret (comments included), and the
/// password in a URL's `user:password@`.
pub fn mask_secret_looking(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let body = if placeholder::has_secrets(body) {
            body.to_string()
        } else {
            mask_url_password(&mask_secret_key(body))
        };
        out.push_str(&body);
        out.push_str(nl);
    }
    out
}

fn mask_secret_key(line: &str) -> String {
    let Some(at) = line.find(['=', ':']) else {
        return line.to_string();
    };
    let key = line[..at]
        .trim_start()
        .trim_start_matches(['#', ';'])
        .trim();
    let key = key
        .strip_prefix("export ")
        .unwrap_or(key)
        .to_ascii_lowercase();
    let value = &line[at + 1..];
    let named = !key.is_empty()
        && !key.contains(char::is_whitespace)
        && SECRET_KEY_WORDS.iter().any(|w| key.contains(w));
    if !named || value.trim().is_empty() || value.trim() == MASK {
        return line.to_string();
    }
    let lead = value.len() - value.trim_start().len();
    format!("{}{}{MASK}", &line[..=at], &value[..lead])
}

fn mask_url_password(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // userinfo ends at the last `@` before the path
        let authority_end = tail
            .find(['/', '?', '#', ' ', '"', '\''])
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at && &authority[colon + 1..at] != MASK => {
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                rest = &tail[at..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// The lines of `text` where `template` puts a secret, masked.
fn mask_template_lines(text: &str, template: &str) -> String {
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
            // a secret in a comment or under a key stackprov does not manage is
            // masked too (issue 10: both showed in plan diffs and saved facts)
            (
                "# password = old\nplain = x\n",
                "# password = ********\nplain = x\n",
            ),
            (
                "memcache_secret_key = s3cr3t\nadmin_token: t0k\nexport OS_PASSWORD=old\n",
                "memcache_secret_key = ********\nadmin_token: ********\nexport OS_PASSWORD=********\n",
            ),
            (
                "#connection = mysql+pymysql://keystone:old@h/keystone\n",
                "#connection = mysql+pymysql://keystone:********@h/keystone\n",
            ),
            // other keys, and URLs without a password, are left alone
            (
                "auth_type = password\nurl = http://h:5000/v3\nplain = x\n",
                "auth_type = password\nurl = http://h:5000/v3\nplain = x\n",
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
