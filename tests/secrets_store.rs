//! The secrets store under stress (issue 10): properties of the reader and
//! writer, runs killed while they add names, and concurrent first plans.

use proptest::prelude::*;
use stackprov::secrets::SecretStore;
use stackprov::secrets::file::{self, forbidden};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

fn private(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn as_map(s: &SecretStore) -> BTreeMap<String, String> {
    s.names()
        .map(|n| (n.to_string(), s.get(n).unwrap().expose().to_string()))
        .collect()
}

/// Characters that are hard for a YAML file: quotes, comment and mapping
/// indicators, escapes, blanks, Unicode; now and then a line break, a
/// control character or a separator (which no secrets file can hold).
fn hard_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => any::<char>(),
        150 => proptest::sample::select(vec![
            '"', '\'', '#', ':', ' ', '\\', '-', '?', '{', '}', '[', ']', ',', '&', '*', '!',
            '|', '>', '%', '@', '`', '~', '=', '$', '/', '\u{a0}', 'é', '€', '😀', 'a', 'b',
            'Z', '0', '1', '_', '.',
        ]),
        1 => proptest::sample::select(vec![
            '\t', '\r', '\n', '\0', '\x1b', '\x7f', '\u{85}', '\u{2028}', '\u{feff}',
        ]),
    ]
}

fn hard_string(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        19 => proptest::collection::vec(hard_char(), 1..max).prop_map(String::from_iter),
        1 => Just(String::new()),
    ]
}

/// Whether the store may refuse this map: only for what no secrets file can
/// hold (empty, or a control character or separator in a name or value).
fn unholdable(map: &BTreeMap<String, String>) -> bool {
    map.iter()
        .any(|(k, v)| k.is_empty() || v.is_empty() || k.chars().chain(v.chars()).any(forbidden))
}

/// One line of a hand-written secrets file, in any of the styles people use
/// (and some they should not).
fn any_line() -> impl Strategy<Value = String> {
    prop_oneof![
        // the writer's own form
        (hard_string(8), hard_string(12)).prop_map(|(k, v)| file::render(&k, &v)),
        // raw, unquoted: YAML decides what it means
        (hard_string(8), hard_string(12)).prop_map(|(k, v)| format!("{k}: {v}\n")),
        // single-quoted, with a trailing comment
        (hard_string(8), hard_string(12), hard_string(6)).prop_map(|(k, v, c)| format!(
            "'{}': '{}' # {c}\n",
            k.replace('\'', "''"),
            v.replace('\'', "''")
        )),
        hard_string(20).prop_map(|c| format!("#{c}\n")),
        Just("\n".to_string()),
        hard_string(20).prop_map(|c| format!("{c}\n")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any map of names to values is either refused, with a message, or
    /// saved and loaded back exactly; refused only if no file can hold it.
    #[test]
    fn a_map_round_trips_or_is_refused(
        map in proptest::collection::btree_map(hard_string(10), hard_string(16), 0..6)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let mut store = SecretStore::from_values(map.clone());
        store.path = path.clone();
        match store.save(&SecretStore::lock(&path).unwrap()) {
            Ok(()) => {
                let back = SecretStore::load(&path).map_err(|d| d.to_string());
                prop_assert_eq!(back.map(|b| as_map(&b)), Ok(map.clone()));
                prop_assert!(!unholdable(&map));
            }
            Err(e) => {
                prop_assert!(unholdable(&map), "refused {:?}: {}", map, e);
                prop_assert!(e.to_string().starts_with("cannot add to the secrets file "));
                prop_assert!(!path.exists());
            }
        }
        // the reader alone, on the writer's lines: refused with a place, or exact
        let text: String = map.iter().map(|(k, v)| file::render(k, v)).collect();
        private(&path, text.as_bytes());
        match SecretStore::load(&path) {
            Ok(back) => prop_assert_eq!(as_map(&back), map),
            Err(d) => {
                prop_assert!(unholdable(&map), "refused {:?}: {}", map, d);
                prop_assert!(d.line >= 1 && !d.message.is_empty());
            }
        }
    }

    /// Whatever a hand-written file holds: if stackprov reads it, adding a
    /// generated name keeps every byte before it and every value; if not,
    /// the file is left alone.
    #[test]
    fn adding_a_name_keeps_every_previous_byte(
        lines in proptest::collection::vec(any_line(), 0..8),
        final_newline in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let mut text: String = lines.concat();
        if !final_newline {
            text.pop();
        }
        private(&path, text.as_bytes());
        let loaded = SecretStore::load(&path);
        let added = SecretStore::load_generating(&path, ["generated_1", "generated_2"]);
        match loaded {
            Ok(before) => {
                let (after, made) = added.map_err(|e| e.to_string()).unwrap();
                let bytes = std::fs::read(&path).unwrap();
                prop_assert!(bytes.starts_with(text.as_bytes()));
                let back = as_map(&SecretStore::load(&path).unwrap());
                prop_assert_eq!(&back, &as_map(&after));
                let mut want = as_map(&before);
                for n in &made {
                    want.insert(n.clone(), after.get(n).unwrap().expose().to_string());
                }
                prop_assert_eq!(back, want);
            }
            Err(d) => {
                prop_assert!(!d.message.is_empty());
                prop_assert!(added.is_err());
                prop_assert_eq!(std::fs::read(&path).unwrap(), text.as_bytes());
            }
        }
    }
}

const CHILD_FILE: &str = "STACKPROV_TEST_KILL_LOOP_FILE";

/// Not a test on its own: the child of [`killed_while_adding_names`], which
/// adds names until it is killed (or has added 40).
#[test]
fn kill_loop_child() {
    let Ok(path) = std::env::var(CHILD_FILE) else {
        return;
    };
    for i in 0..40 {
        let name = format!("n{}_{i}", std::process::id());
        SecretStore::load_generating(Path::new(&path), [name.as_str()]).unwrap();
    }
}

/// Two runs at a time add names to one file and are SIGKILLed at random
/// moments, 50 times: the file is never missing, empty, truncated, or
/// without a value it held before, and only ever grows at its end.
#[test]
fn killed_while_adding_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    private(&path, b"# mine\nadmin: \"admin-password\"\n");
    let mut last = std::fs::read(&path).unwrap();
    let mut held = as_map(&SecretStore::load(&path).unwrap());
    let me = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut killed, mut grew) = (0, 0);
    for round in 0..50 {
        let mut children: Vec<_> = (0..2)
            .map(|_| {
                std::process::Command::new(&me)
                    .args(["--exact", "kill_loop_child", "--test-threads", "1"])
                    .env(CHILD_FILE, &path)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in &mut children {
            std::thread::sleep(Duration::from_millis(2 + rand(25)));
            let _ = c.kill();
        }
        for mut c in children {
            let status = c.wait().unwrap();
            if status.signal() == Some(9) {
                killed += 1;
            } else {
                assert!(status.success(), "round {round}: child failed: {status}");
            }
        }
        let now = std::fs::read(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            now.starts_with(&last),
            "round {round}: the file lost bytes it had"
        );
        let store = SecretStore::load(&path).unwrap_or_else(|d| panic!("round {round}: {d}"));
        let map = as_map(&store);
        for (k, v) in &held {
            assert_eq!(map.get(k), Some(v), "round {round}: `{k}` lost or changed");
        }
        if now.len() > last.len() {
            grew += 1;
        }
        last = now;
        held = map;
        assert!(started.elapsed() < Duration::from_secs(90), "too slow");
    }
    // the test saw both: runs killed part way, and names added in between
    assert!(killed >= 25, "only {killed} children were killed");
    assert!(grew >= 10, "the file grew in only {grew} rounds");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".s.yaml.tmp")
        .collect();
    names.sort();
    assert_eq!(names, ["s.yaml", "s.yaml.lock"]);
}

const SITE: &str = "site: golden\nrelease: zed\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.0.0.11\n    roles: [base, mariadb, messaging, keystone, glance, openrc]\n";

fn spawn_plan(dir: &Path, site: &str) -> std::process::Child {
    let facts = format!("{}/tests/golden/debian12.json", env!("CARGO_MANIFEST_DIR"));
    std::process::Command::new(assert_cmd::cargo::cargo_bin("stackprov"))
        .current_dir(dir)
        .args(["plan", site, "--facts", &facts])
        .env("NO_COLOR", "1")
        .env("STACKPROV_LOG", "stackprov=info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Before: two first plans both generated a full set (6 of 30 runs), and
/// each used its own. Now one generates, the other waits on the lock,
/// reads the file again and uses that set.
#[test]
fn two_first_plans_end_with_one_set_both_used() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("site.yaml"), SITE).unwrap();
        let runs: Vec<_> = [
            spawn_plan(dir.path(), "site.yaml"),
            spawn_plan(dir.path(), "site.yaml"),
        ]
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
        for r in &runs {
            assert_eq!(r.status.code(), Some(0), "round {round}: {r:?}");
        }
        let generated: Vec<bool> = runs
            .iter()
            .map(|r| String::from_utf8_lossy(&r.stderr).contains("generated 5 secret(s)"))
            .collect();
        assert_eq!(
            generated.iter().filter(|g| **g).count(),
            1,
            "round {round}: {runs:?}"
        );
        for r in &runs {
            assert!(!String::from_utf8_lossy(&r.stderr).contains("generated 0"));
        }
        assert_eq!(runs[0].stdout, runs[1].stdout, "round {round}");
        let text = std::fs::read_to_string(dir.path().join("site.secrets.yaml")).unwrap();
        let names: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split_once(':').unwrap().0)
            .collect();
        assert_eq!(
            names,
            [
                "admin",
                "glance_db",
                "glance_user",
                "keystone_db",
                "rabbit_openstack"
            ],
            "round {round}: {text}"
        );
    }
}

/// Before: two sites sharing one secrets file lost each other's new names
/// (11 of 40 runs): each wrote back what it had read plus its own.
#[test]
fn two_sites_sharing_a_secrets_file_keep_each_others_names() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        for (site, roles) in [
            ("a.yaml", "base, messaging"),
            ("b.yaml", "base, mariadb, keystone"),
        ] {
            std::fs::write(
                dir.path().join(site),
                SITE.replace("base, mariadb, messaging, keystone, glance, openrc", roles)
                    + "secrets_file: shared.yaml\n",
            )
            .unwrap();
        }
        let runs: Vec<_> = [
            spawn_plan(dir.path(), "a.yaml"),
            spawn_plan(dir.path(), "b.yaml"),
        ]
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
        for r in &runs {
            assert_eq!(r.status.code(), Some(0), "round {round}: {r:?}");
        }
        let store = SecretStore::load(&dir.path().join("shared.yaml")).unwrap();
        let names: Vec<&str> = store.names().collect();
        assert_eq!(
            names,
            ["admin", "keystone_db", "rabbit_openstack"],
            "round {round}"
        );
    }
}
