//! For any value a place accepts (`Encoding::check`, which `validate` and
//! `plan` apply to every secret where it lands), the encoded form reads back
//! as the value with that place's reader.
//!
//! Always run (pure Rust, plus `sh`): small decoders written from each
//! reader's source, cited at each one, and the real `sh` for shell words.
//! Ignored by plain `cargo test`, run by scripts/test: the real oslo.config
//! (INI values, database URLs) with SQLAlchemy's `make_url` (1.4) and the URL
//! parser of SQLAlchemy 0.7.10 (its regex, run by Python), and MariaDB's
//! `my_print_defaults` for option files. Those draw their values from the
//! same strategy, deterministically, and check them in one batch (no
//! shrinking: a failure prints the values).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use stackprov::secrets::Encoding;

/// Values heavy in what each reader treats specially.
fn value() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '$', '%', '@', '/', '+', ':', ';', '#', '\'', '"', '\\', ' ', '\t', '\r', '\n', '\0',
        '\x0b', '\x0c', '\x1a', '\x1c', '\x1f', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}', '=',
        '[', ']', '(', ')', '{', '}', '?', '&', '*', '!', '`', '|', '<', '>', '^', ',', '.',
    ]);
    let fragment = prop::sample::select(vec![
        "%(", "%(x)s", "$$", "\\$", "${x}", "$x", " ;", "\t;", "\"\"", "\\n", "\\\\", "%41", "%%",
        "'a'", "\"a\"", "\\s", "#x", "+",
    ]);
    let piece = prop_oneof![
        4 => special.prop_map(String::from),
        2 => fragment.prop_map(String::from),
        3 => prop::char::range('a', 'z').prop_map(String::from),
        2 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// What `str.isspace()` is true for (Python 3): what `strip()` removes.
fn py3_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\x0b'
            | '\x0c'
            | '\r'
            | '\x1c'..='\x1f'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// oslo.config reading `key = VALUE` from a file: the file is read in text
/// mode (`\r` and `\n` end lines), `BaseParser.parse` rstrips the line and
/// `_split_key_value` splits at the first `:` or `=`, strips the value and one
/// pair of matching quotes (`value[0] == value[-1]`, so a lone quote is one);
/// then `ConfigOpts._substitute` turns `\$` into `$$` and runs
/// `string.Template.safe_substitute` (`$$` is `$`; `$name` and `${name}` would
/// be replaced by another option: `None` here; any other `$` stays).
/// (oslo_config/iniparser.py and cfg.py, 9.0.0.)
fn oslo(line: &str) -> Option<String> {
    if line.contains(['\r', '\n']) {
        return None;
    }
    let line = line.trim_end_matches(py3_space);
    if line.is_empty() || line.starts_with([' ', '\t', '[', '#', ';']) {
        return None;
    }
    let at = match (line.find(':'), line.find('=')) {
        (None, None) => return None,
        (Some(c), Some(e)) => c.min(e),
        (Some(i), None) | (None, Some(i)) => i,
    };
    let value = line[at + 1..].trim_matches(py3_space);
    let value = match value.chars().next() {
        Some(q @ ('"' | '\'')) if value.ends_with(q) => {
            if value.len() == 1 {
                ""
            } else {
                &value[1..value.len() - 1]
            }
        }
        _ => value,
    };
    let value = value.replace("\\$", "$$");
    let mut out = String::new();
    let mut it = value.chars().peekable();
    while let Some(c) = it.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match it.peek() {
            Some('$') => {
                it.next();
                out.push('$');
            }
            Some(n) if *n == '{' || *n == '_' || n.is_ascii_alphabetic() => return None,
            _ => out.push('$'),
        }
    }
    Some(out)
}

/// `%XX` decoded (Python's `urllib.parse.unquote`, UTF-8).
fn unquote(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 3 <= b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The password SQLAlchemy 1.4 reads from `NAME://USER:PASSWORD@HOST/DB`:
/// `(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@` (engine/url.py,
/// `_parse_rfc1738_args`), then `unquote`.
fn sqlalchemy14_password(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let user_end = rest.find([':', '/']).unwrap_or(rest.len());
    let after = rest[user_end..].strip_prefix(':')?;
    let pw = &after[..after.find('@')?];
    unquote(pw)
}

/// The password SQLAlchemy 0.7.10 reads: `(?P<username>[^:/]*)(?::(?P<password>[^/]*))?@`
/// (greedy: up to the last `@` before the first `/`), then `urllib.unquote_plus`.
fn sqlalchemy07_password(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let user_end = rest.find([':', '/']).unwrap_or(rest.len());
    let after = rest[user_end..].strip_prefix(':')?;
    let span = &after[..after.find('/').unwrap_or(after.len())];
    let pw = &span[..span.rfind('@')?];
    unquote(&pw.replace('+', " "))
}

/// Python 2.7's `ConfigParser` (paste.deploy's `NicerConfigParser`) reading
/// `key = VALUE`: `_read` matches `(?P<option>[^:=\s][^:=]*)\s*(?P<vi>[:=])\s*(?P<value>.*)$`,
/// cuts the value at its first `;` when the byte before it is white space,
/// strips it (ASCII white space: byte strings) and reads `""` as empty;
/// `get` then `_interpolate`s: a value with `%(` in it is `%`-formatted
/// (`None` here), any other value is returned as it is.
fn py2_configparser(line: &str) -> Option<String> {
    const SPACE: &[char] = &[' ', '\t', '\n', '\r', '\x0b', '\x0c'];
    if line.contains(['\n', '\r']) || line.starts_with(SPACE) || line.starts_with(['#', ';']) {
        return None;
    }
    let at = line.find([':', '='])?;
    let mut value = line[at + 1..].trim_start_matches(SPACE).to_string();
    if let Some(pos) = value.find(';') {
        let before = if pos == 0 {
            value.as_bytes().last().copied()
        } else {
            Some(value.as_bytes()[pos - 1])
        };
        if before.is_some_and(|b| b" \t\n\r\x0b\x0c".contains(&b)) {
            value.truncate(pos);
        }
    }
    let mut value = value.trim_matches(SPACE).to_string();
    if value == "\"\"" {
        value.clear();
    }
    if value.contains("%(") {
        return None;
    }
    Some(value)
}

/// A MariaDB string literal ("String Literals" in the MariaDB manual):
/// between `'`s, `''` is `'`; `\0 \' \" \b \n \r \t \Z \\` are escapes,
/// `\%` and `\_` stay as they are, a backslash before anything else is dropped.
fn mariadb_string(lit: &str) -> Option<String> {
    let inner = lit.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\'' => {
                if it.next()? != '\'' {
                    return None;
                }
                out.push('\'');
            }
            '\\' => match it.next()? {
                '0' => out.push('\0'),
                'b' => out.push('\x08'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'Z' => out.push('\x1a'),
                c @ ('%' | '_') => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    Some(out)
}

/// A MySQL option file line `name=VALUE` as mysys/my_default.c reads it
/// (`search_default_file_with_ext`, bytes): lines are read with `fgets` into
/// a 4096-byte buffer; `remove_end_comment` cuts at a `#` outside quotes
/// (quotes toggle unless escaped inside a quote); the value starts after the
/// first `=`, white space is trimmed at both ends, one pair of matching
/// quotes around it is removed, then `\n \t \r \b \s \" \' \\` are escapes
/// and any other backslash stays (a backslash that is the value's last byte too).
fn mysql_option(line: &str) -> Option<String> {
    let isspace = |b: u8| b" \t\n\r\x0b\x0c".contains(&b);
    if line.len() + 1 > 4094 || line.contains('\n') || line.contains('\0') {
        return None;
    }
    let mut b: Vec<u8> = line.as_bytes().to_vec();
    // remove_end_comment
    let (mut quote, mut escape) = (0u8, false);
    for i in 0..b.len() {
        let c = b[i];
        if (c == b'\'' || c == b'"') && !escape {
            if quote == 0 {
                quote = c;
            } else if quote == c {
                quote = 0;
            }
        }
        if quote == 0 && c == b'#' {
            b.truncate(i);
            break;
        }
        escape = quote != 0 && c == b'\\' && !escape;
    }
    let eq = b.iter().position(|c| *c == b'=')?;
    let mut v = &b[eq + 1..];
    while let Some((f, rest)) = v.split_first()
        && isspace(*f)
    {
        v = rest;
    }
    while let Some((l, rest)) = v.split_last()
        && isspace(*l)
    {
        v = rest;
    }
    if v.len() > 1 && (v[0] == b'"' || v[0] == b'\'') && v[0] == v[v.len() - 1] {
        v = &v[1..v.len() - 1];
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' && i != v.len() - 1 {
            i += 1;
            match v[i] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' => out.push(b'\x08'),
                b's' => out.push(b' '),
                b'"' => out.push(b'"'),
                b'\'' => out.push(b'\''),
                b'\\' => out.push(b'\\'),
                c => out.extend([b'\\', c]),
            }
        } else {
            out.push(v[i]);
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The real `sh`: `export V=WORD` as the openrc does, then the variable's bytes.
fn sh(word: &str) -> Option<String> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("export V={word}\nprintf '%s' \"$V\""))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).ok())?
}

const DB: &str = "mysql+pymysql://keystone:";

/// Each encoding's reader, on the encoded value where stackprov puts it.
fn decode(enc: Encoding, encoded: &str) -> Option<String> {
    match enc {
        Encoding::Plain => Some(encoded.to_string()),
        Encoding::Url => unquote(encoded),
        Encoding::DbUrl => sqlalchemy14_password(&oslo(&format!(
            "connection = {DB}{encoded}@controller/keystone"
        ))?),
        Encoding::DbUrlSqla07 => sqlalchemy07_password(&oslo(&format!(
            "connection = mysql://keystone:{encoded}@controller/keystone"
        ))?),
        Encoding::Ini => oslo(&format!("password = {encoded}")),
        Encoding::Paste => py2_configparser(&format!("admin_password = {encoded}")),
        Encoding::Sql => mariadb_string(encoded),
        Encoding::Shell => sh(encoded),
        Encoding::Cnf => mysql_option(&format!("password=\"{encoded}\"")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn every_accepted_value_reads_back_in_every_encoding(v in value()) {
        for enc in Encoding::ALL {
            if enc.check(&v).is_ok() {
                prop_assert_eq!(decode(enc, &enc.encode(&v)), Some(v.clone()), "{}", enc);
            }
        }
    }
}

#[test]
fn the_decoders_read_what_the_readers_read() {
    assert_eq!(oslo("k = \"'a'\""), Some("'a'".into()));
    assert_eq!(oslo("k = '"), Some("".into()));
    assert_eq!(oslo("k = a$$b\\$c"), Some("a$b$c".into()));
    assert_eq!(oslo("k = $x"), None);
    assert_eq!(oslo("k = \u{1f}a "), Some("a".into()));
    assert_eq!(
        sqlalchemy14_password("mysql+pymysql://u:a/b+c%41@h/db"),
        Some("a/b+cA".into())
    );
    assert_eq!(
        sqlalchemy07_password("mysql://u:a+b@c@h/db"),
        Some("a b@c".into())
    );
    assert_eq!(sqlalchemy07_password("mysql://u:a/b@h/db"), None);
    assert_eq!(py2_configparser("k = a ;b"), Some("a".into()));
    assert_eq!(py2_configparser("k = a;b ;c"), Some("a;b ;c".into()));
    assert_eq!(py2_configparser("k = \"\""), Some("".into()));
    assert_eq!(py2_configparser("k = %(here)s"), None);
    assert_eq!(mariadb_string(r"'it''s\n\%\x'"), Some("it's\n\\%x".into()));
    assert_eq!(
        mysql_option(r#"password="a\"b#c\sd\q""#),
        Some("a\"b#c d\\q".into())
    );
    assert_eq!(mysql_option("password=a #b"), Some("a".into()));
    assert_eq!(sh("'a'\\''b'"), Some("a'b".into()));
}

#[test]
fn the_refusals_are_what_the_readers_would_change() {
    // what each place refuses does not read back (the refusal is needed)
    for (enc, v) in [
        (Encoding::DbUrlSqla07, "a/b"),
        (Encoding::DbUrlSqla07, "a+b"),
        (Encoding::Paste, "a%(x)s"),
        (Encoding::Paste, " a"),
        (Encoding::Paste, "a ;b"),
        (Encoding::Paste, "\"\""),
        (Encoding::Ini, "a\rb"),
    ] {
        assert!(enc.check(v).is_err(), "{enc} {v:?}");
        assert_ne!(
            decode(enc, &enc.encode(v)),
            Some(v.to_string()),
            "{enc} {v:?}"
        );
    }
}

// ---- the real readers, batched (scripts/test) ----

/// Values drawn from [`value`], the same on every run.
fn batch(n: usize) -> Vec<String> {
    let mut runner = TestRunner::deterministic();
    let s = value();
    (0..n)
        .map(|_| s.new_tree(&mut runner).unwrap().current())
        .collect()
}

fn python() -> &'static str {
    // Debian's python3, which has python3-oslo.config and python3-sqlalchemy
    // (a pyenv or venv python3 first on PATH would not)
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

const READERS: &str = r#"
import json, re, sys, urllib.parse
from oslo_config import cfg
from sqlalchemy.engine.url import make_url

# SQLAlchemy 0.7.10, lib/sqlalchemy/engine/url.py, _parse_rfc1738_args
SQLA07 = re.compile(r'''
            (?P<name>[\w\+]+)://
            (?:
                (?P<username>[^:/]*)
                (?::(?P<password>[^/]*))?
            @)?
            (?:
                (?P<host>[^/:]*)
                (?::(?P<port>[^/]*))?
            )?
            (?:/(?P<database>.*))?
            ''', re.X)

def sqla07(url):
    m = SQLA07.match(url)
    pw = m.group('password') if m else None
    return None if pw is None else urllib.parse.unquote_plus(pw)

path, n = sys.argv[1], int(sys.argv[2])
conf = cfg.ConfigOpts()
conf.register_opts([cfg.StrOpt('%s%d' % (k, i)) for k in 'kuw' for i in range(n)], group='s')
conf(args=[], default_config_files=[path], use_env=False)
out = []
for i in range(n):
    k, u, w = (getattr(conf.s, '%s%d' % (c, i)) for c in 'kuw')
    out.append([k, None if u is None else make_url(u).password, None if w is None else sqla07(w)])
print(json.dumps(out))
"#;

#[test]
#[ignore = "needs python3-oslo.config and sqlalchemy: scripts/test runs it"]
fn oslo_config_and_sqlalchemy_read_back_every_accepted_value() {
    let values = batch(600);
    let mut conf = String::from("[s]\n");
    let mut want = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let ini = Encoding::Ini.check(v).is_ok();
        let url = Encoding::DbUrl.check(v).is_ok();
        let old = Encoding::DbUrlSqla07.check(v).is_ok();
        if ini {
            conf.push_str(&format!("k{i} = {}\n", Encoding::Ini.encode(v)));
        }
        if url {
            conf.push_str(&format!(
                "u{i} = {DB}{}@controller/keystone\n",
                Encoding::DbUrl.encode(v)
            ));
        }
        if old {
            conf.push_str(&format!(
                "w{i} = mysql://keystone:{}@controller/keystone\n",
                Encoding::DbUrlSqla07.encode(v)
            ));
        }
        want.push([ini, url, old].map(|ok| ok.then(|| v.clone())));
    }
    assert!(
        want.iter()
            .filter(|w| w.iter().all(Option::is_some))
            .count()
            > 100,
        "too few values accepted everywhere to mean much"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.conf");
    std::fs::write(&path, &conf).unwrap();
    let script = dir.path().join("readers.py");
    std::fs::write(&script, READERS).unwrap();
    let out = std::process::Command::new(python())
        .arg(&script)
        .arg(&path)
        .arg(values.len().to_string())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<[Option<String>; 3]> = serde_json::from_slice(&out.stdout).unwrap();
    let mut bad = Vec::new();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        for (j, name) in [
            "ini (oslo.config)",
            "dburl (SQLAlchemy 1.4)",
            "dburl-sqla07 (0.7.10)",
        ]
        .iter()
        .enumerate()
        {
            if w[j].is_some() && g[j] != w[j] {
                bad.push(format!("{name}: {:?} read back as {:?}", values[i], g[j]));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
#[ignore = "needs MariaDB's my_print_defaults (mariadb-client-core): scripts/test runs it"]
fn my_print_defaults_reads_back_every_accepted_option_file_value() {
    let values: Vec<String> = batch(600)
        .into_iter()
        .filter(|v| Encoding::Cnf.check(v).is_ok())
        .collect();
    assert!(values.len() > 400);
    // one option per value (`password` itself is masked by my_print_defaults)
    let mut file = String::from("[client]\n");
    for (i, v) in values.iter().enumerate() {
        file.push_str(&format!("o{i}=\"{}\"\n", Encoding::Cnf.encode(v)));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.cnf");
    std::fs::write(&path, &file).unwrap();
    let out = std::process::Command::new("my_print_defaults")
        .arg(format!("--defaults-file={}", path.display()))
        .arg("client")
        .output()
        .expect("my_print_defaults");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // `--o0=VALUE\n--o1=VALUE\n...`, values may hold line breaks of their own
    let mut rest = text.as_str();
    let mut bad = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let head = format!("--o{i}=");
        rest = rest
            .strip_prefix(&head)
            .unwrap_or_else(|| panic!("no {head} in {rest:?}"));
        let next = format!("\n--o{}=", i + 1);
        let end = if i + 1 < values.len() {
            rest.find(&next).unwrap()
        } else {
            rest.len() - 1
        };
        if &rest[..end] != v {
            bad.push(format!("{v:?} read back as {:?}", &rest[..end]));
        }
        rest = &rest[end + 1..];
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
