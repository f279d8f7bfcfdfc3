//! The secrets store under stress (issue 10): properties of the reader and
//! writer, runs killed while they add names, and concurrent first plans.

use proptest::prelude::*;
use stackprov::atomic_file::window::{self, Point};
use stackprov::secrets::SecretStore;
use stackprov::secrets::file::{self, forbidden};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
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
/// `half:N` or `rename:N`: stop in the Nth write, half written or before its rename.
const CHILD_PAUSE: &str = "STACKPROV_TEST_KILL_LOOP_PAUSE";
/// The file the child creates once it has stopped there.
const CHILD_MARK: &str = "STACKPROV_TEST_KILL_LOOP_MARK";

/// Not a test on its own: the child of [`killed_while_adding_names`], which
/// adds names until it is killed (or has added 40); with [`CHILD_PAUSE`], it
/// stops inside the write it names until it is killed there.
#[test]
fn kill_loop_child() {
    let Ok(path) = std::env::var(CHILD_FILE) else {
        return;
    };
    if std::env::var_os(CHILD_PAUSE).is_some() {
        window::set_hook(stop_in_window);
    }
    for i in 0..40 {
        let name = format!("n{}_{i}", std::process::id());
        SecretStore::load_generating(Path::new(&path), [name.as_str()]).unwrap();
    }
}

/// The child's hook: at the point [`CHILD_PAUSE`] names, say so and wait to be killed.
fn stop_in_window(point: Point, _tmp: &Path) {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let want = std::env::var(CHILD_PAUSE).unwrap();
    let (at, nth) = want.split_once(':').unwrap();
    let at = if at == "half" {
        Point::HalfWritten
    } else {
        Point::BeforeRename
    };
    if point == at && SEEN.fetch_add(1, Ordering::SeqCst) + 1 == nth.parse::<usize>().unwrap() {
        std::fs::File::create(std::env::var(CHILD_MARK).unwrap()).unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

fn spawn_child(path: &Path, pause: Option<(&str, &Path)>) -> std::process::Child {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "kill_loop_child", "--test-threads", "1"])
        .env(CHILD_FILE, path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some((at, mark)) = pause {
        cmd.env(CHILD_PAUSE, at).env(CHILD_MARK, mark);
    }
    cmd.spawn().unwrap()
}

/// The secrets file as the kill loop follows it: its bytes and its values
/// only ever grow.
struct Followed {
    path: PathBuf,
    tmp: PathBuf,
    last: Vec<u8>,
    held: BTreeMap<String, String>,
}

impl Followed {
    /// The file is there, whole, holds every value it held, and only grew
    /// at its end; returns whether it grew.
    #[track_caller]
    fn check(&mut self, round: usize) -> bool {
        let now = std::fs::read(&self.path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            now.starts_with(&self.last),
            "round {round}: the file lost bytes it had"
        );
        let store = SecretStore::load(&self.path).unwrap_or_else(|d| panic!("round {round}: {d}"));
        let map = as_map(&store);
        for (k, v) in &self.held {
            assert_eq!(map.get(k), Some(v), "round {round}: `{k}` lost or changed");
        }
        let grew = now.len() > self.last.len();
        self.last = now;
        self.held = map;
        grew
    }

    /// A child stopped in its `nth` write at `at` (`half` or `rename`), then
    /// killed there: the temporary file it was writing is left, the file is
    /// as it was before that write, and the next run ignores the leftover,
    /// replaces it and adds its name.
    fn kill_in_window(&mut self, round: usize, at: &str, nth: u64, marks: &Path) {
        let mark = marks.join(format!("stopped{round}"));
        let mut child = spawn_child(&self.path, Some((&format!("{at}:{nth}"), &mark)));
        let until = Instant::now() + Duration::from_secs(20);
        while !mark.exists() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "round {round}: the child ended without stopping in the window"
            );
            assert!(
                Instant::now() < until,
                "round {round}: the child never stopped"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let file = std::fs::read(&self.path).unwrap();
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(9), "round {round}");
        self.check(round);
        assert_eq!(self.last, file, "round {round}: written after the kill");
        let pending = format!("n{}_{}", child.id(), nth - 1);
        assert!(!self.held.contains_key(&pending), "round {round}");
        // the kill landed between creating the temporary file and the rename
        let left = std::fs::read(&self.tmp)
            .unwrap_or_else(|e| panic!("round {round}: no temporary file left: {e}"));
        let why = format!("round {round}: the temporary file at {at}: {left:?}");
        if at == "rename" {
            assert!(left.starts_with(&file) && left.len() > file.len(), "{why}");
            let added = String::from_utf8_lossy(&left[file.len()..]).into_owned();
            assert!(added.contains(&pending), "{why}");
        } else {
            let prefix = left.starts_with(&file) || file.starts_with(&left);
            assert!(!left.is_empty() && prefix, "{why}");
        }
        // the next run
        let name = format!("after_kill_{round}");
        let (store, made) = SecretStore::load_generating(&self.path, [name.as_str()])
            .unwrap_or_else(|e| panic!("round {round}: the next run: {e}"));
        assert_eq!(made, [name]);
        assert!(
            !self.tmp.exists(),
            "round {round}: the leftover is still there"
        );
        assert!(self.check(round));
        assert_eq!(self.held, as_map(&store));
        assert!(!self.held.contains_key(&pending), "round {round}");
    }
}

/// Runs adding names to one file are SIGKILLed, 50 rounds: in 40, two at a
/// time at random moments; in 10, one stopped inside a write (half written,
/// or written and synced before its rename) and killed there, then a run
/// after it. The file is never missing, empty, truncated, or without a value
/// it held before, and only ever grows at its end; a temporary file a kill
/// leaves is replaced by the next write.
#[test]
fn killed_while_adding_names() {
    let dir = tempfile::tempdir().unwrap();
    let marks = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    private(&path, b"# mine\nadmin: \"admin-password\"\n");
    let mut f = Followed {
        tmp: dir.path().join(".s.yaml.tmp"),
        last: std::fs::read(&path).unwrap(),
        held: as_map(&SecretStore::load(&path).unwrap()),
        path: path.clone(),
    };
    let started = Instant::now();
    let mut seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut killed, mut grew, mut in_window) = (0, 0, 0);
    // temporary files random kills left (by inode: a leftover is counted once)
    let mut left_by_random = std::collections::BTreeSet::new();
    for round in 0..50 {
        if round % 5 == 4 {
            let at = if round % 10 == 4 { "half" } else { "rename" };
            f.kill_in_window(round, at, 1 + rand(3), marks.path());
            in_window += 1;
            continue;
        }
        let mut children: Vec<_> = (0..2).map(|_| spawn_child(&path, None)).collect();
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
        if f.check(round) {
            grew += 1;
        }
        if let Ok(m) = std::fs::metadata(&f.tmp) {
            left_by_random.insert(m.ino());
        }
        assert!(started.elapsed() < Duration::from_secs(90), "too slow");
    }
    eprintln!(
        "{killed} random kills, {} of them left a temporary file; {in_window} kills in the window on purpose",
        left_by_random.len()
    );
    // the test saw all three: runs killed part way, kills inside a write,
    // and names added in between
    assert!(killed >= 25, "only {killed} children were killed");
    assert_eq!(in_window, 10);
    assert!(grew >= 10, "the file grew in only {grew} rounds");
    // one more run: whatever a kill left is gone after it
    SecretStore::load_generating(&path, ["last"]).unwrap();
    f.check(50);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
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
