//! INI files as OpenStack writes them: set keys in place, keeping every other
//! line (comments included) as it was, so a package's own file stays readable.

/// One `[section] key = value` setting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IniSetting {
    pub section: String,
    pub key: String,
    pub value: String,
}

fn section_of(line: &str) -> Option<&str> {
    let t = line.trim();
    (t.starts_with('[') && t.ends_with(']')).then(|| t[1..t.len() - 1].trim())
}

fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('#') || t.starts_with(';') || t.starts_with('[') {
        return None;
    }
    let (k, _) = t.split_once('=')?;
    Some(k.trim())
}

/// The value of `[section] key`, if set. Keys before any header are in `DEFAULT`.
pub fn get(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = "DEFAULT";
    for line in text.lines() {
        if let Some(s) = section_of(line) {
            current = s;
        } else if current == section && key_of(line) == Some(key) {
            return line.split_once('=').map(|(_, v)| v.trim().to_string());
        }
    }
    None
}

/// Set one key: replace its line where it is, else add it at the end of its
/// section, else add the section at the end of the file.
pub fn set(text: &str, section: &str, key: &str, value: &str) -> String {
    let new_line = format!("{key} = {value}");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut section_end: Option<usize> = None; // index after the last non-blank line of the section
    let mut in_section = section == "DEFAULT";
    if in_section {
        section_end = Some(0);
    }
    for i in 0..lines.len() {
        if let Some(s) = section_of(&lines[i]) {
            in_section = s == section;
            if in_section {
                section_end = Some(i + 1);
            }
            continue;
        }
        if in_section {
            if key_of(&lines[i]) == Some(key) {
                lines[i] = new_line;
                return join(lines);
            }
            if !lines[i].trim().is_empty() {
                section_end = Some(i + 1);
            }
        }
    }
    match section_end {
        Some(at) => lines.insert(at, new_line),
        None => {
            if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push(format!("[{section}]"));
            lines.push(new_line);
        }
    }
    join(lines)
}

fn join(lines: Vec<String>) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

pub fn apply(text: &str, settings: &[IniSetting]) -> String {
    settings.iter().fold(text.to_string(), |t, s| {
        set(&t, &s.section, &s.key, &s.value)
    })
}

/// `text` with the value of each `[section] key` of `keys` replaced by `mask`,
/// save on the lines `keep` holds for (values already made safe); every other
/// byte as it was.
pub fn mask_values(
    text: &str,
    keys: &[(&str, &str)],
    mask: &str,
    keep: impl Fn(&str) -> bool,
) -> String {
    let mut current = "DEFAULT";
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let end = &line[body.len()..];
        if let Some(s) = section_of(body) {
            current = s;
        } else if let Some(k) = key_of(body)
            && !keep(body)
            && keys.iter().any(|(s, key)| *s == current && *key == k)
            && let Some((head, value)) = body.split_once('=')
        {
            let lead = value.len() - value.trim_start().len();
            out.push_str(&format!("{head}={}{mask}{end}", &value[..lead]));
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The section a line number (0-based) falls in, for diff hunk headers.
pub fn section_at(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line + 1)
        .filter_map(section_of)
        .last()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mask_values_masks_the_named_keys_of_their_section_only() {
        let text = "a = 1\r\n[one]\npass = old\n# pass = c\nkeep = k\n[two]\npass = x\n[one]\npass=kept-by-keep\n";
        let masked = mask_values(text, &[("one", "pass")], "***", |l| l.contains("kept"));
        assert_eq!(
            masked,
            "a = 1\r\n[one]\npass = ***\n# pass = c\nkeep = k\n[two]\npass = x\n[one]\npass=kept-by-keep\n"
        );
        assert_eq!(
            mask_values("p = v\r\n", &[("DEFAULT", "p")], "*", |_| false),
            "p = *\r\n"
        );
    }

    use super::*;

    const PASTE: &str = "# paste\n[pipeline:main]\npipeline = authtoken api\n\n[filter:authtoken]\npaste.filter_factory = x\n\n[app:api]\nuse = egg:glance\n";

    #[test]
    fn replaces_in_place_and_appends_to_section() {
        let t = set(PASTE, "filter:authtoken", "admin_user", "glance");
        assert!(
            t.contains("paste.filter_factory = x\nadmin_user = glance\n\n[app:api]"),
            "{t}"
        );
        let t2 = set(&t, "filter:authtoken", "admin_user", "other");
        assert_eq!(
            get(&t2, "filter:authtoken", "admin_user").as_deref(),
            Some("other")
        );
        assert_eq!(t2.matches("admin_user").count(), 1);
        assert!(t2.starts_with("# paste\n[pipeline:main]"));
    }

    #[test]
    fn adds_missing_sections_and_default_keys() {
        let t = set("[a]\nx = 1\n", "b", "y", "2");
        assert_eq!(t, "[a]\nx = 1\n\n[b]\ny = 2\n");
        let t = set("[a]\nx = 1\n", "DEFAULT", "debug", "true");
        assert_eq!(t, "debug = true\n[a]\nx = 1\n");
        assert_eq!(get(&t, "DEFAULT", "debug").as_deref(), Some("true"));
    }

    #[test]
    fn setting_again_is_a_fixed_point() {
        let s = vec![IniSetting {
            section: "paste_deploy".into(),
            key: "flavor".into(),
            value: "keystone".into(),
        }];
        let once = apply("", &s);
        assert_eq!(apply(&once, &s), once);
        assert_eq!(section_at(&once, 1).as_deref(), Some("paste_deploy"));
    }
}
