//! Hosts seen before: plan and apply send the OS probe and the facts script
//! in one exec, and fall back to two when the host is not what it was. (Its
//! own test binary: it points STACKPROV_CACHE_DIR at a temporary directory.)

use stackprov::fake::{FakeHost, SharedFake};

mod common;

fn trips(fake: &SharedFake) -> u64 {
    fake.lock().stats.round_trips
}

#[test]
fn a_host_seen_before_costs_one_round_trip_less_and_a_changed_one_is_probed_again() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: set before any thread of this test binary reads the environment
    // (the only test in the binary)
    unsafe { std::env::set_var("STACKPROV_CACHE_DIR", dir.path().join("cache")) };
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        "site: t\nrelease: zed\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.251.0.2\n    roles: [base, mariadb, keystone, glance, openrc]\n",
    )
    .unwrap();
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    fake.lock().host_key = Some("SHA256:fake-key".into());
    let plan = |want: i32| {
        let before = trips(&fake);
        let r = common::run_cli(Some(&fake), &["plan", s, "--detailed-exitcode"]);
        assert_eq!(r.code, want, "{}{}", r.out, r.err);
        (r.out, trips(&fake) - before)
    };

    // never seen: the probe, then the facts script; the probe is remembered
    let (first, first_trips) = plan(2);
    let entry = dir.path().join("cache/os/root@10.251.0.2_22");
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(
        text.starts_with("stackprov os probe 1\nSHA256:fake-key\n"),
        "{text}"
    );
    assert!(text.contains("ID=debian"), "{text}");

    // seen: one exec for both, the same plan
    let (second, second_trips) = plan(2);
    assert_eq!(second, first);
    assert_eq!(second_trips, first_trips - 1);
    assert_eq!(
        common::run_cli(Some(&fake), &["apply", s, "-y"]).code,
        0,
        "applies from the guessed facts"
    );
    let (_, converged_trips) = plan(0);

    // another host key at that address: nothing is taken from the cache,
    // the host is probed as new (one round trip more) and the entry replaced
    fake.lock().host_key = Some("SHA256:another-key".into());
    let (_, other_key_trips) = plan(0);
    assert_eq!(other_key_trips, converged_trips + 1);
    assert!(
        std::fs::read_to_string(&entry)
            .unwrap()
            .contains("SHA256:another-key")
    );
    assert_eq!(plan(0).1, converged_trips);

    // a cache entry that is not one is ignored, not trusted
    std::fs::write(&entry, "garbage\n").unwrap();
    assert_eq!(plan(0).1, converged_trips + 1);
    assert_eq!(plan(0).1, converged_trips);

    // the host was upgraded: the probe differs, so the facts script did not
    // run; the facts are read again for the OS the probe shows (that run
    // also wasted the catalog read made beside the guess), the entry replaced
    let release = fake.lock().os_release.clone();
    fake.lock().os_release = release.replace("VERSION_ID=\"12\"", "VERSION_ID=\"12.9\"");
    assert_ne!(
        fake.lock().os_release,
        release,
        "the fake's os-release changed"
    );
    let (changed, changed_trips) = plan(0);
    assert!(changed_trips > converged_trips, "{changed}");
    assert!(
        std::fs::read_to_string(&entry)
            .unwrap()
            .contains("VERSION_ID=\"12.9\"")
    );
    assert_eq!(plan(0).1, converged_trips);
}
