//! Hostile secrets files (issue 10), through the real binary and offline
//! commands only (`validate`, `plan --facts`): each refused with its exact
//! message and exit code, and left as it was; or, where YAML allows it and
//! stackprov can add to it, kept byte for byte when new secrets are generated.
//! Every run is held to the time and memory bound of `common/measure.rs`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[path = "common/measure.rs"]
mod measure;

const SITE: &str = "site: golden\nrelease: zed\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.0.0.11\n    roles: [base, mariadb, messaging, keystone, glance, openrc]\n";
/// What the site's roles need, in the order `plan` generates them.
const NAMES: [&str; 5] = [
    "admin",
    "glance_db",
    "glance_user",
    "keystone_db",
    "rabbit_openstack",
];

struct Run {
    code: i32,
    out: String,
    err: String,
}

/// A site in a fresh directory; the secrets file is `site.secrets.yaml` beside it.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.yaml"), SITE).unwrap();
    dir
}

fn secrets(dir: &Path) -> PathBuf {
    dir.join("site.secrets.yaml")
}

fn write_secrets(dir: &Path, bytes: &[u8]) {
    std::fs::write(secrets(dir), bytes).unwrap();
    std::fs::set_permissions(secrets(dir), std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `stackprov ARGS` in `dir`, held to the time and memory bound of
/// `common/measure.rs` (under 1 s of CPU time, under 50 MB peak RSS).
fn stackprov(dir: &Path, args: &[&str]) -> Run {
    let run = measure::run_in(dir, args);
    measure::check_limits(&args.join(" "), &run);
    Run {
        code: run.code,
        out: run.stdout,
        err: run.stderr,
    }
}

fn validate(dir: &Path) -> Run {
    stackprov(dir, &["validate", "site.yaml"])
}

fn plan(dir: &Path) -> Run {
    let facts = format!("{}/tests/golden/debian12.json", env!("CARGO_MANIFEST_DIR"));
    stackprov(dir, &["plan", "site.yaml", "--facts", &facts])
}

/// Both offline commands refuse the file with `message` (exit 1), and it is
/// left exactly as it was (no value regenerated over it).
fn refused(dir: &Path, message: &str) {
    let before = std::fs::symlink_metadata(secrets(dir))
        .ok()
        .filter(|m| m.is_file())
        .map(|_| fingerprint(&secrets(dir)));
    let v = validate(dir);
    assert_eq!(
        (v.code, v.out.as_str(), v.err.as_str()),
        (1, "", format!("{message}\n1 error(s)\n").as_str())
    );
    let p = plan(dir);
    assert_eq!(
        (p.code, p.out.as_str(), p.err.as_str()),
        (1, "", format!("error: {message}\n").as_str())
    );
    if let Some(before) = before {
        assert_eq!(fingerprint(&secrets(dir)), before);
    }
}

/// The file's length and a hash of its bytes, read a piece at a time (the
/// huge file is 50 MB).
fn fingerprint(path: &Path) -> (u64, u64) {
    use std::hash::Hasher;
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let (mut hash, mut len) = (std::hash::DefaultHasher::new(), 0);
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return (len, hash.finish());
        }
        hash.write(&buf[..n]);
        len += n as u64;
    }
}

fn refused_bytes(bytes: &[u8], message: &str) {
    let dir = site();
    write_secrets(dir.path(), bytes);
    refused(dir.path(), message);
}

/// `plan` generates the missing names after the file's own bytes, which stay
/// as they were; a second plan changes nothing.
fn kept(bytes: &[u8], generated: &[&str]) -> String {
    let dir = site();
    write_secrets(dir.path(), bytes);
    let p = plan(dir.path());
    assert_eq!((p.code, p.err.as_str()), (0, ""), "{}", p.out);
    let after = std::fs::read(secrets(dir.path())).unwrap();
    assert!(after.starts_with(bytes));
    let tail = String::from_utf8(after[bytes.len()..].to_vec()).unwrap();
    let tail = tail.strip_prefix('\n').unwrap_or(&tail);
    let names: Vec<&str> = tail
        .lines()
        .map(|l| l.split_once(": \"").unwrap().0)
        .collect();
    assert_eq!(names, generated, "{tail}");
    let again = plan(dir.path());
    assert_eq!(again.code, 0);
    assert_eq!(std::fs::read(secrets(dir.path())).unwrap(), after);
    String::from_utf8(after).unwrap()
}

// ---- refused, with where and how to fix it ----

/// Before: YAML stopped at the NUL, so `glance_db` and later were dropped,
/// regenerated and written over the values hosts use.
#[test]
fn nul_byte() {
    refused_bytes(
        b"admin: \"aaaaaaaaaa\"\nkeystone_db: \"x\0y\"\nglance_db: \"gggggggggg\"\n",
        "./site.secrets.yaml:2:16: the secrets file holds a NUL byte\n  hint: a secrets file is text, and no secret can hold NUL: remove it (is this the right file?)",
    );
}

/// Before: the first name read as `\u{feff}admin`, so a new admin password was generated.
#[test]
fn byte_order_mark() {
    refused_bytes(
        b"\xEF\xBB\xBFadmin: \"aaaaaaaaaa\"\n",
        "./site.secrets.yaml:1:1: the secrets file starts with a byte order mark (BOM)\n  hint: save it as UTF-8 without a BOM, e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' ./site.secrets.yaml`",
    );
}

#[test]
fn windows_line_ends() {
    refused_bytes(
        b"admin: \"aaaaaaaaaa\"\r\nkeystone_db: \"kkkkkkkkkk\"\r\n",
        "./site.secrets.yaml:1:20: the secrets file has a carriage return (Windows line ends?)\n  hint: save it with Unix line ends, e.g. `sed -i 's/\\r$//' ./site.secrets.yaml`",
    );
}

/// Before: accepted, then written back raw, and the next command could not read it.
#[test]
fn carriage_return_escaped_in_a_value() {
    refused_bytes(
        b"admin: \"aaaa\\rbbbb\"\n",
        "./site.secrets.yaml:1:8: the value holds an invisible character (U+000D)\n  hint: secret values are one line of printable text: change it, or delete the line to have stackprov generate a new one",
    );
}

#[test]
fn nul_escaped_in_a_value() {
    refused_bytes(
        b"admin: \"aaaa\\0bbbb\"\n",
        "./site.secrets.yaml:1:8: the value holds an invisible character (U+0000)\n  hint: secret values are one line of printable text: change it, or delete the line to have stackprov generate a new one",
    );
}

#[test]
fn tab_in_a_value() {
    refused_bytes(
        b"admin: \"aaaa\tbbbb\"\n",
        "./site.secrets.yaml:1:8: the value holds an invisible character (U+0009)\n  hint: secret values are one line of printable text: change it, or delete the line to have stackprov generate a new one",
    );
}

#[test]
fn raw_escape_sequence() {
    refused_bytes(
        b"admin: \"aaaa\x1b[31mbbbb\"\n",
        "./site.secrets.yaml:1:13: the secrets file holds an invisible character (U+001B)\n  hint: remove it: secret names and values are printable text",
    );
}

#[test]
fn not_utf8() {
    refused_bytes(
        b"admin: \"aaaaaaaaaa\"\nkeystone_db: \"\xff\xfe\"\n",
        "./site.secrets.yaml:2:15: the secrets file is not UTF-8 text\n  hint: secrets files are YAML text; is this a binary file?",
    );
}

#[test]
fn duplicate_key() {
    refused_bytes(
        b"admin: \"aaaaaaaaaa\"\nadmin: \"bbbbbbbbbb\"\n",
        "./site.secrets.yaml:2:1: this secret name is already on line 1\n  hint: keep one of the two lines: stackprov cannot tell which value the hosts use",
    );
}

/// `admin` and `"admin"` are one name: which value would hosts get?
#[test]
fn duplicate_key_in_another_quoting_style() {
    refused_bytes(
        b"admin: \"aaaaaaaaaa\"\n'admin': \"bbbbbbbbbb\"\n",
        "./site.secrets.yaml:2:1: this secret name is already on line 1\n  hint: keep one of the two lines: stackprov cannot tell which value the hosts use",
    );
}

#[test]
fn number_value() {
    refused_bytes(
        b"admin: 12345678\n",
        "./site.secrets.yaml:1:8: the secret's value is a number to YAML, not a string\n  hint: put the value in double quotes (`name: \"value\"`) so that YAML reads it as text",
    );
}

#[test]
fn boolean_name() {
    refused_bytes(
        b"true: \"aaaaaaaaaa\"\n",
        "./site.secrets.yaml:1:1: the secret name is a boolean to YAML, not a string\n  hint: put the name in double quotes: `\"name\": \"value\"`",
    );
}

#[test]
fn empty_name() {
    refused_bytes(
        b"\"\": \"aaaaaaaaaa\"\n",
        "./site.secrets.yaml:1:1: empty secret name\n  hint: give the secret a name, or delete the line",
    );
}

#[test]
fn empty_value() {
    refused_bytes(
        b"admin:\n",
        "./site.secrets.yaml:1:1: the secret's value is not a one-line, non-empty string\n  hint: delete the line to have stackprov generate a new value",
    );
}

#[test]
fn list_instead_of_mapping() {
    refused_bytes(
        b"- admin\n",
        "./site.secrets.yaml:1:1: expected a mapping of secret names to values",
    );
}

#[test]
fn flow_mapping() {
    refused_bytes(
        b"{admin: \"aaaaaaaaaa\"}\n",
        "./site.secrets.yaml:1:1: expected one `name: value` per line\n  hint: write one secret per line, as `name: \"value\"` starting in column 1 (stackprov appends new secrets that way and keeps every other line as it is)",
    );
}

/// A plain value YAML folds over two lines: appending after it is fine for
/// YAML, but the file is not one secret per line.
#[test]
fn value_continued_on_the_next_line() {
    refused_bytes(
        b"admin: aaaa\n  bbbb\n",
        "./site.secrets.yaml:2:1: expected `name: value` starting in column 1\n  hint: write one secret per line, as `name: \"value\"` starting in column 1 (stackprov appends new secrets that way and keeps every other line as it is)",
    );
}

#[test]
fn quoted_value_over_two_lines() {
    refused_bytes(
        b"admin: \"aaaa\n  # bbbb\"\n",
        "./site.secrets.yaml:1:8: expected a one-line value\n  hint: write the value on one line, in double quotes",
    );
}

#[test]
fn block_scalar() {
    refused_bytes(
        b"admin: >-\n  aaaaaaaaaa\n",
        "./site.secrets.yaml:1:8: block scalars (`|`, `>`) are not supported in the secrets file\n  hint: write the value on one line, in double quotes",
    );
}

#[test]
fn anchor_and_alias() {
    refused_bytes(
        b"admin: &a \"aaaaaaaaaa\"\nkeystone_db: *a\n",
        "./site.secrets.yaml:1:11: invalid YAML: anchors (&name) are not supported in stackprov files; write the value out",
    );
}

#[test]
fn document_end_marker() {
    refused_bytes(
        b"admin: \"aaaaaaaaaa\"\n...\n",
        "./site.secrets.yaml:2:4: expected one `name: value` per line\n  hint: write one secret per line, as `name: \"value\"` starting in column 1 (stackprov appends new secrets that way and keeps every other line as it is)",
    );
}

/// Larger than any secrets file: refused without reading it.
#[test]
fn huge_file() {
    let dir = site();
    write_secrets(dir.path(), b"");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(secrets(dir.path()))
        .unwrap();
    f.set_len(50 << 20).unwrap();
    refused(
        dir.path(),
        "./site.secrets.yaml: the secrets file is 52428800 bytes; a secrets file is a few lines (at most 65536 bytes)\n  hint: is secrets_file in the site file the right path?",
    );
}

/// As many secrets as fit under the size limit: read at once (YAML's
/// duplicate-key check is quadratic, so the limit is kept small).
#[test]
fn the_largest_file_accepted_reads_quickly() {
    let dir = site();
    let mut text = String::new();
    let mut n = 0;
    loop {
        let line = format!("k{n}: \"vvvvvvvvvv\"\n");
        if text.len() + line.len() > 65536 {
            break;
        }
        text.push_str(&line);
        n += 1;
    }
    write_secrets(dir.path(), text.as_bytes());
    // within the bound of every run here
    let v = validate(dir.path());
    assert_eq!((v.code, v.err.as_str()), (0, ""), "{n} secrets");
    write_secrets(dir.path(), format!("{text}k: \"x\"\n").as_bytes());
    refused(
        dir.path(),
        "./site.secrets.yaml: the secrets file is 65537 bytes; a secrets file is a few lines (at most 65536 bytes)\n  hint: is secrets_file in the site file the right path?",
    );
}

/// Before: reading a FIFO waited for a writer for ever.
#[test]
fn fifo() {
    let dir = site();
    let ok = std::process::Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(secrets(dir.path()))
        .status()
        .unwrap();
    assert!(ok.success());
    refused(
        dir.path(),
        "./site.secrets.yaml: the secrets file is a named pipe (FIFO), not a regular file\n  hint: point secrets_file in the site file at a regular file (stackprov creates it when missing)",
    );
}

#[test]
fn directory() {
    let dir = site();
    std::fs::create_dir(secrets(dir.path())).unwrap();
    refused(
        dir.path(),
        "./site.secrets.yaml: the secrets file is a directory, not a regular file\n  hint: point secrets_file in the site file at a regular file (stackprov creates it when missing)",
    );
}

#[test]
fn symlink_to_a_device() {
    let dir = site();
    std::os::unix::fs::symlink("/dev/zero", secrets(dir.path())).unwrap();
    refused(
        dir.path(),
        "./site.secrets.yaml: the secrets file is a character device, not a regular file\n  hint: point secrets_file in the site file at a regular file (stackprov creates it when missing)",
    );
}

/// Before: a dangling link was taken for no file, and replaced by one.
#[test]
fn symlink_to_nothing() {
    let dir = site();
    std::os::unix::fs::symlink("gone/shared.yaml", secrets(dir.path())).unwrap();
    refused(
        dir.path(),
        "./site.secrets.yaml: the secrets file is a symlink to gone/shared.yaml, which does not exist\n  hint: create the file it points to (mode 0600), or remove the link to have stackprov create the secrets file",
    );
    assert!(
        std::fs::symlink_metadata(secrets(dir.path()))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn readable_by_others() {
    let dir = site();
    write_secrets(dir.path(), b"admin: \"aaaaaaaaaa\"\n");
    std::fs::set_permissions(secrets(dir.path()), std::fs::Permissions::from_mode(0o644)).unwrap();
    refused(
        dir.path(),
        "./site.secrets.yaml: the secrets file is readable by group or others (mode 0644)\n  hint: run `chmod 600 ./site.secrets.yaml`",
    );
}

// ---- accepted, and kept byte for byte when names are added ----

/// Before: comments were dropped and the names re-sorted.
#[test]
fn comments_order_and_quoting_are_kept() {
    let text = kept(
        b"# rotated 2024-05 (ticket 12)\nrabbit_openstack: 'it''s a rabbit' # shared with the old cluster\n\n  # indented comment\nadmin: \"xx\\\\yy\\\"zz\"\n",
        &["glance_db", "glance_user", "keystone_db"],
    );
    assert!(text.starts_with("# rotated"), "{text}");
}

/// Before: written back as `#admin: ...`, a comment, so the value was lost.
#[test]
fn a_name_starting_with_hash_is_kept() {
    kept(b"\"#admin\": \"hash-admin-value\"\n", &NAMES);
}

/// Before: written back unquoted, `a: b: c`, which YAML refuses.
#[test]
fn a_quoted_name_with_colon_space_is_kept() {
    kept(
        b"\"old: admin\": \"colon-value-1\"\n'x #y': 'z #w z #w'\n",
        &NAMES,
    );
}

#[test]
fn a_file_without_a_final_newline_is_kept() {
    let text = kept(b"admin: \"aaaaaaaaaa\"", &NAMES[1..]);
    assert!(
        text.starts_with("admin: \"aaaaaaaaaa\"\nglance_db: \""),
        "{text}"
    );
}

/// Before: the link was replaced by a regular file, so the shared file
/// (and every other site using it) no longer got the new names.
#[test]
fn a_symlinked_file_keeps_the_link() {
    let dir = site();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("all.yaml"), "admin: \"aaaaaaaaaa\"\n").unwrap();
    std::fs::set_permissions(
        shared.join("all.yaml"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("shared/all.yaml", secrets(dir.path())).unwrap();
    let p = plan(dir.path());
    assert_eq!((p.code, p.err.as_str()), (0, ""));
    let meta = std::fs::symlink_metadata(secrets(dir.path())).unwrap();
    assert!(meta.file_type().is_symlink());
    let text = std::fs::read_to_string(shared.join("all.yaml")).unwrap();
    assert!(
        text.starts_with("admin: \"aaaaaaaaaa\"\nglance_db: \""),
        "{text}"
    );
    assert_eq!(text.lines().count(), 5, "{text}");
    let mode = std::fs::metadata(shared.join("all.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Before: `e` masked every `e` of every diff, and nothing said it was weak.
#[test]
fn a_weak_value_is_named_in_a_warning_and_masked_only_alone() {
    let dir = site();
    write_secrets(
        dir.path(),
        b"admin: \"e\"\nglance_db: \"glance-db-pass\"\nglance_user: \"glance-user-pass\"\nkeystone_db: \"keystone-db-pass\"\nrabbit_openstack: \"rabbit-pass\"\n",
    );
    let warning = "warning: secret `admin` in ./site.secrets.yaml is shorter than 8 characters, so it is masked only where it stands alone (not inside longer words); use a longer value, or delete the line to have stackprov generate one\n";
    let v = validate(dir.path());
    assert_eq!(
        (v.code, v.out.as_str(), v.err.as_str()),
        (0, "site.yaml: valid (1 host(s), release zed)\n", warning)
    );
    let p = plan(dir.path());
    assert_eq!((p.code, p.err.as_str()), (0, warning));
    assert!(p.out.contains("keystone"), "{}", p.out);
    assert!(p.out.contains("openstack"), "{}", p.out);
}

/// Before: RabbitMQ's password was set through rabbitmqctl's stdin, which
/// trims the line, so RabbitMQ held `rabbit pass` while the secrets file (and
/// every service given it) said `rabbit pass `; the AMQP login showed it.
#[test]
fn a_rabbitmq_password_with_outer_spaces_is_refused() {
    let dir = site();
    let bytes = b"admin: \"admin-pass\"\nglance_db: \"glance-db-pass\"\nglance_user: \"glance-user-pass\"\nkeystone_db: \"keystone-db-pass\"\nrabbit_openstack: \"rabbit pass \"\n";
    write_secrets(dir.path(), bytes);
    let message = "./site.secrets.yaml: secret `rabbit_openstack` contains leading or trailing whitespace, which cannot be written into RabbitMQ's password in command:rabbitmq user openstack: rabbitmqctl trims the password it reads on stdin (the only way a secret reaches it), so RabbitMQ would hold another one than the secrets file; choose a value without it\n";
    let v = validate(dir.path());
    assert_eq!((v.code, v.out.as_str(), v.err.as_str()), (1, "", message));
    let p = plan(dir.path());
    assert_eq!(
        (p.code, p.out.as_str(), p.err.as_str()),
        (1, "", format!("error: {message}").as_str())
    );
    assert_eq!(std::fs::read(secrets(dir.path())).unwrap(), bytes);
}

// ---- never a line's content (issue 24) ----

/// The lines of a shadow-like file, hash and all.
const SHADOW: &str = "root:$6$rounds=5000$Sa1tSa1t$Q9xVb7hHq2kPzT0mE4wLr8sYdF1gNcJuA5iOeX3vB6n.:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\n";

/// No part of a shadow line's hash, salt or user is in `text`.
#[track_caller]
fn nothing_of_the_shadow_lines(text: &str) {
    for part in [
        "root", "$6$", "Sa1tSa1t", "Q9xV", "daemon", "19700", "99999",
    ] {
        assert!(!text.contains(part), "`{part}` shown: {text}");
    }
}

/// Before: refused, but the message's field was the file's first line, hash included.
#[test]
fn a_symlink_to_a_shadow_like_file_is_refused_without_its_lines() {
    let dir = site();
    let shadow = dir.path().join("shadow");
    std::fs::write(&shadow, SHADOW).unwrap();
    std::fs::set_permissions(&shadow, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("shadow", secrets(dir.path())).unwrap();
    refused(
        dir.path(),
        "./site.secrets.yaml:1:1: the secret's value is not a one-line, non-empty string\n  hint: delete the line to have stackprov generate a new value",
    );
    let (v, p) = (validate(dir.path()), plan(dir.path()));
    nothing_of_the_shadow_lines(&format!("{}{}{}{}", v.out, v.err, p.out, p.err));
    assert_eq!(std::fs::read_to_string(&shadow).unwrap(), SHADOW);
}

/// Before: each of these quoted a name or a value of the file.
#[test]
fn no_refusal_quotes_a_name_or_a_value() {
    let hash = "$6$Sa1tSa1t$Q9xVb7hHq2kPzT0mE4wLr8sYdF1gNcJuA5iOeX3vB6n.";
    for (bytes, message) in [
        (
            format!("root: \"aaaaaaaaaa\"\n\"root\": \"{hash}\"\n"),
            "./site.secrets.yaml:2:1: this secret name is already on line 1\n  hint: keep one of the two lines: stackprov cannot tell which value the hosts use",
        ),
        (
            format!("{hash}: 1\n{hash}: 2\n"),
            "./site.secrets.yaml:2:1: this secret name is already on line 1\n  hint: keep one of the two lines: stackprov cannot tell which value the hosts use",
        ),
        (
            format!("root:\n  - \"{hash}\"\n"),
            "./site.secrets.yaml:1:1: the secret's value is not a one-line, non-empty string\n  hint: delete the line to have stackprov generate a new value",
        ),
        (
            format!("root: \"{hash}\"\n19700: x\n"),
            "./site.secrets.yaml:2:1: the secret name is a number to YAML, not a string\n  hint: put the name in double quotes: `\"name\": \"value\"`",
        ),
        (
            "root: 19700.99999\n".to_string(),
            "./site.secrets.yaml:1:7: the secret's value is a number to YAML, not a string\n  hint: put the value in double quotes (`name: \"value\"`) so that YAML reads it as text",
        ),
    ] {
        let dir = site();
        write_secrets(dir.path(), bytes.as_bytes());
        refused(dir.path(), message);
        let (v, p) = (validate(dir.path()), plan(dir.path()));
        nothing_of_the_shadow_lines(&format!("{}{}{}{}", v.out, v.err, p.out, p.err));
    }
}
