//! Hostile site files through the real binary's `validate`: each is refused
//! (or, for a byte order mark, accepted) with its exact message and exit
//! code, cheaply. Every run is measured by `wait4`: under 1 s of CPU time
//! (user + system; the machine may be shared, so wall time is only a 10 s
//! guard against a hang, e.g. on a FIFO) and under 50 MB peak RSS.
//! Addresses are documentation ranges (192.0.2.0/24, 2001:db8::/32).
//!
//! The measuring is `common/measure.rs` (each run started by a fresh, small
//! copy of this test binary, so that its peak RSS is its own).

#[path = "common/measure.rs"]
mod measure;
use measure::{Run, check_limits};
use std::path::Path;

/// `stackprov validate ARG` in `dir`, measured and held to the bound (every
/// run of this file goes through here).
fn validate_in(dir: &Path, arg: &str) -> Run {
    let run = measure::run_in(dir, &["validate", arg]);
    check_limits(arg, &run);
    run
}

/// Write `content` as NAME.yaml in a fresh directory, validate it, and pin
/// the exit code, stdout and stderr.
fn expect(name: &str, content: &[u8], code: i32, stdout: &str, stderr: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = format!("{name}.yaml");
    std::fs::write(dir.path().join(&file), content).unwrap();
    let run = validate_in(dir.path(), &file);
    assert_eq!(run.stderr, stderr, "{name}: stderr");
    assert_eq!(run.stdout, stdout, "{name}: stdout");
    assert_eq!(run.code, code, "{name}: exit code");
}

/// Refused with exit 1, nothing on stdout.
fn refused(name: &str, content: &[u8], stderr: &str) {
    expect(name, content, 1, "", stderr)
}

const HEAD: &str = "site: s\nrelease: zed\ncontroller: c\nhosts:\n";

/// A site whose one host is the flow mapping `{HOST}`.
fn one_host(host: &str) -> Vec<u8> {
    format!("{HEAD}  - {{{host}}}\n").into_bytes()
}

// --- bytes that are not YAML text --------------------------------------------

#[test]
fn a_nul_byte_is_refused_not_taken_for_the_end_of_the_file() {
    // before: the second host vanished and the file was "valid (1 host(s))"
    refused(
        "nul",
        format!(
            "{HEAD}  - {{name: a, address: 192.0.2.1}}\n\0  - {{name: b, address: 192.0.2.2}}\n"
        )
        .as_bytes(),
        "nul.yaml:6:1: the file holds a NUL byte, which YAML text may not contain\n  hint: site files are YAML text; is this a binary file?\n1 error(s)\n",
    );
}

#[test]
fn a_nul_byte_inside_a_value_is_refused_at_its_column() {
    refused(
        "nulvalue",
        b"site: s\0evil\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 192.0.2.1}\n",
        "nulvalue.yaml:1:8: the file holds a NUL byte, which YAML text may not contain\n  hint: site files are YAML text; is this a binary file?\n1 error(s)\n",
    );
}

#[test]
fn a_raw_escape_character_is_refused_and_shown_escaped() {
    refused(
        "rawesc",
        &one_host("name: a\x1b[2J, address: 192.0.2.1"),
        "rawesc.yaml:5:13: the file holds the control character \\u{1b}, which YAML text may not contain\n  hint: remove it; editors may not show it\n1 error(s)\n",
    );
}

#[test]
fn a_raw_c1_control_is_refused() {
    // U+009B is CSI on terminals that honour 8-bit controls
    refused(
        "rawc1",
        &one_host("name: a\u{9b}2J, address: 192.0.2.1"),
        "rawc1.yaml:5:13: the file holds the control character \\u{9b}, which YAML text may not contain\n  hint: remove it; editors may not show it\n1 error(s)\n",
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    // before: "missing required key `site`" and "unknown key `\u{feff}site`"
    let mut content = "\u{feff}".as_bytes().to_vec();
    content.extend(one_host("name: a, address: 192.0.2.1"));
    expect(
        "bom",
        &content,
        0,
        "bom.yaml: valid (1 host(s), release zed)\n",
        "",
    );
}

#[test]
fn a_second_byte_order_mark_is_part_of_the_key_and_shown_escaped() {
    let mut content = "\u{feff}\u{feff}".as_bytes().to_vec();
    content.extend(one_host("name: a, address: 192.0.2.1"));
    refused(
        "bom2",
        &content,
        "bom2.yaml:1:1: site: missing required key `site`\n  hint: add `site: my-cloud`\nbom2.yaml:1:1: \\u{feff}site: unknown key `\\u{feff}site`\n  hint: did you mean `site`?\n2 error(s)\n",
    );
}

// --- what is not a regular file, and size --------------------------------------

#[test]
fn dev_zero_is_refused_without_reading_it() {
    // before: read until memory ran out (past 1.5 GB)
    let dir = tempfile::tempdir().unwrap();
    let run = validate_in(dir.path(), "/dev/zero");
    assert_eq!(
        run.stderr,
        "/dev/zero: cannot read: it is a character device, not a regular file\n  hint: a site file is a regular file; to use generated YAML, write it to a file first\n1 error(s)\n"
    );
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    // before: hung until something wrote to the FIFO
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yaml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let run = validate_in(dir.path(), "fifo.yaml");
    assert_eq!(
        run.stderr,
        "fifo.yaml: cannot read: it is a FIFO (named pipe), not a regular file\n  hint: a site file is a regular file; to use generated YAML, write it to a file first\n1 error(s)\n"
    );
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d.yaml")).unwrap();
    let run = validate_in(dir.path(), "d.yaml");
    assert_eq!(
        run.stderr,
        "d.yaml: cannot read: it is a directory, not a regular file\n  hint: a site file is a regular file; to use generated YAML, write it to a file first\n1 error(s)\n"
    );
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
}

#[test]
fn a_5_mb_file_is_refused_from_its_size_without_reading_it() {
    refused(
        "big",
        &vec![b'#'; 5 * 1024 * 1024],
        "big.yaml:1:1: the file is 5242880 bytes; site files are limited to 4194304\n  hint: is this the right file?\n1 error(s)\n",
    );
}

/// A host's `identity_file` that is a device, a FIFO or a socket: before,
/// accepted without a word (ssh would read `/dev/zero` or wait on a FIFO).
#[test]
fn an_identity_file_that_is_not_a_regular_file_is_refused_naming_the_field() {
    let hint = "  hint: name a private key file (e.g. ~/.ssh/id_ed25519), or remove `identity_file` to use ssh-agent and ~/.ssh\n1 error(s)\n";
    refused(
        "idnull",
        &one_host("name: a, address: 192.0.2.1, identity_file: /dev/null"),
        &format!(
            "idnull.yaml:5:50: hosts[0].identity_file: identity file /dev/null is a character device, not a regular file\n{hint}"
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("key");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::fs::write(
        dir.path().join("idfifo.yaml"),
        one_host("name: a, address: 192.0.2.1, identity_file: key"),
    )
    .unwrap();
    let run = validate_in(dir.path(), "idfifo.yaml");
    assert_eq!(
        run.stderr,
        format!(
            "idfifo.yaml:5:50: hosts[0].identity_file: identity file ./key is a FIFO (named pipe), not a regular file\n{hint}"
        )
    );
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
}

// --- sizes that were slow -------------------------------------------------------

#[test]
fn a_duplicate_after_100k_keys_is_found_in_linear_time() {
    // before: the duplicate check compared each key with all before it (74 s)
    let mut content = String::new();
    for i in 0..99_990 {
        content.push_str(&format!("k{i}: v\n"));
    }
    content.push_str("k0: again\n");
    refused(
        "keys",
        content.as_bytes(),
        "keys.yaml:99991:1: invalid YAML: duplicate key `k0` (first at line 1)\n1 error(s)\n",
    );
}

#[test]
fn a_duplicate_after_30k_hosts_is_found_in_linear_time() {
    // before: 5.4 s; now also a duplicate when only the case differs
    let mut content = HEAD.to_string();
    for i in 0..30_000 {
        content.push_str(&format!(
            "  - {{name: h{i}, address: 192.0.2.{}}}\n",
            i % 250 + 1
        ));
    }
    content.push_str("  - {name: H29999, address: 192.0.2.1}\n");
    refused(
        "hosts",
        content.as_bytes(),
        "hosts.yaml:30005:5: hosts[30000].name: duplicate host name `H29999` (first at line 30004 as `h29999`)\n  hint: host names must be unique, ignoring case (as in DNS)\n1 error(s)\n",
    );
}

/// 10k problems at once (issue 24, class 8: each diagnostic was some 220
/// unbuffered writes to stderr, 17 s for 100k): printed in one write, within
/// the bounds; the HA checks over 10k controllers stay linear.
#[test]
fn ten_thousand_problems_are_told_within_the_bounds() {
    let mut content = HEAD.replace(
        "hosts:\n",
        "ha: {vip: 192.0.2.254/24, interface: eth0}\nhosts:\n",
    );
    // controllers sharing 250 addresses: a problem for each but the first 250
    for i in 0..10_001 {
        content.push_str(&format!(
            "  - {{name: h{i}, address: 192.0.2.{}, roles: [base, ha, mariadb, keystone, glance]}}\n",
            i % 250 + 1
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("many.yaml"), &content).unwrap();
    let run = validate_in(dir.path(), "many.yaml");
    assert_eq!(run.code, 1, "{}", run.stderr);
    // more than 25 controllers, and then each address told
    assert!(
        run.stderr.starts_with(
            "many.yaml:4:1: ha: an HA site has at most 25 controllers (hosts with role `keystone`); it has 10001
"
        ),
        "{}",
        &run.stderr[..run.stderr.len().min(300)]
    );
    assert!(
        run.stderr.contains(
            "\nmany.yaml:256:5: hosts[250].address: controllers `h0` and `h250` have the same address 192.0.2.1
"
        ),
        "{}",
        &run.stderr[..run.stderr.len().min(600)]
    );
    assert!(
        run.stderr.ends_with("\n9752 error(s)\n"),
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(300)..]
    );
}

#[test]
fn deep_block_nesting_is_refused() {
    let content: String = (0..70).map(|i| format!("{}a:\n", "  ".repeat(i))).collect();
    refused(
        "deepblock",
        content.as_bytes(),
        "deepblock.yaml:65:130: invalid YAML: nested deeper than 64 levels\n1 error(s)\n",
    );
}

#[test]
fn four_million_open_brackets_are_refused_early() {
    refused(
        "deepflow",
        format!("a: {}\n", "[".repeat(4_000_000)).as_bytes(),
        "deepflow.yaml:1:259: invalid YAML: recursion limit exceeded\n1 error(s)\n",
    );
}

#[test]
fn a_3_mb_role_name_is_refused_quickly_and_quoted_short() {
    // before: the did-you-mean distance took 14 s and the message held 3 MB
    let content = one_host(&format!(
        "name: a, address: 192.0.2.1, roles: [{}]",
        "k".repeat(3_000_000)
    ));
    refused(
        "longrole",
        &content,
        &format!(
            "longrole.yaml:5:43: hosts[0].roles[0]: unknown role `{}…`\n  hint: known roles: base, ha, mariadb, messaging, memcached, keystone, glance, openrc\n1 error(s)\n",
            "k".repeat(64)
        ),
    );
}

// --- host names, addresses, users --------------------------------------------

const LABELS_HINT: &str = "dot-separated labels of letters, digits and `-`, none empty (no leading, trailing or doubled `.`)";
const DASH_HINT: &str =
    "a host name may not start with `-` (ssh and other tools would read it as an option)";
const IPV4_HINT: &str = "a name ending in digits must be an IPv4 address: four numbers from 0 to 255 without leading zeros";

#[test]
fn host_name_dot_dot_is_refused() {
    refused(
        "dotdot",
        &one_host("name: .., address: 192.0.2.1"),
        &format!(
            "dotdot.yaml:5:12: hosts[0].name: `..` is not a valid host name\n  hint: {LABELS_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn host_name_dot_is_refused() {
    refused(
        "dot",
        &one_host("name: ., address: 192.0.2.1"),
        &format!(
            "dot.yaml:5:12: hosts[0].name: `.` is not a valid host name\n  hint: {LABELS_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn host_name_dash_is_refused() {
    refused(
        "dash",
        &one_host("name: \"-\", address: 192.0.2.1"),
        &format!(
            "dash.yaml:5:12: hosts[0].name: `-` is not a valid host name\n  hint: {DASH_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn host_name_that_is_an_ssh_option_is_refused() {
    refused(
        "optname",
        &one_host("name: -oProxyCommand, address: 192.0.2.1"),
        &format!(
            "optname.yaml:5:12: hosts[0].name: `-oProxyCommand` is not a valid host name\n  hint: {DASH_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn address_that_is_an_ssh_option_is_refused() {
    refused(
        "optaddr",
        &one_host("name: a, address: -oProxyCommand"),
        &format!(
            "optaddr.yaml:5:24: hosts[0].address: `-oProxyCommand` is not a valid address\n  hint: {DASH_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn address_dot_dot_is_refused() {
    refused(
        "addrdots",
        &one_host("name: a, address: .."),
        &format!(
            "addrdots.yaml:5:24: hosts[0].address: `..` is not a valid address\n  hint: {LABELS_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn controller_dot_dot_is_refused() {
    refused(
        "ctldots",
        b"site: s\nrelease: zed\ncontroller: ..\nhosts:\n  - {name: a, address: 192.0.2.1}\n",
        &format!(
            "ctldots.yaml:3:13: controller: `..` is not a valid host name\n  hint: {LABELS_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn controller_that_is_an_ssh_option_is_refused() {
    refused(
        "ctlopt",
        b"site: s\nrelease: zed\ncontroller: -oProxyCommand\nhosts:\n  - {name: a, address: 192.0.2.1}\n",
        &format!("ctlopt.yaml:3:13: controller: `-oProxyCommand` is not a valid host name\n  hint: {DASH_HINT}\n1 error(s)\n"),
    );
}

#[test]
fn an_ipv4_address_out_of_range_is_refused() {
    refused(
        "ipv4",
        &one_host("name: a, address: 192.0.2.300"),
        &format!(
            "ipv4.yaml:5:24: hosts[0].address: `192.0.2.300` is not a valid address\n  hint: {IPV4_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn an_ipv4_address_with_a_leading_zero_is_refused() {
    // some resolvers read 010 as octal 8
    refused(
        "ipv4zero",
        &one_host("name: a, address: 192.0.2.010"),
        &format!(
            "ipv4zero.yaml:5:24: hosts[0].address: `192.0.2.010` is not a valid address\n  hint: {IPV4_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn a_broken_ipv6_address_is_refused() {
    refused(
        "ipv6",
        &one_host("name: a, address: 2001:db8::g"),
        "ipv6.yaml:5:24: hosts[0].address: `2001:db8::g` is not a valid address\n  hint: an IPv6 address has groups of up to 4 hex digits, e.g. `2001:db8::10` (no zone, no brackets)\n1 error(s)\n",
    );
}

#[test]
fn a_bracketed_ipv6_address_is_refused_with_the_fix() {
    refused(
        "ipv6br",
        &one_host("name: a, address: \"[2001:db8::1]\""),
        "ipv6br.yaml:5:24: hosts[0].address: `[2001:db8::1]` is not a valid address\n  hint: write the IPv6 address without brackets: `2001:db8::1`\n1 error(s)\n",
    );
}

#[test]
fn an_ipv6_address_is_accepted() {
    expect(
        "ipv6ok",
        &one_host("name: a, address: 2001:db8::10"),
        0,
        "ipv6ok.yaml: valid (1 host(s), release zed)\n",
        "",
    );
}

#[test]
fn a_label_longer_than_63_is_refused() {
    refused(
        "label",
        &one_host(&format!(
            "name: {}.example.org, address: 192.0.2.1",
            "a".repeat(64)
        )),
        &format!(
            "label.yaml:5:12: hosts[0].name: `{}…` is not a valid host name\n  hint: each dot-separated label is at most 63 characters\n1 error(s)\n",
            "a".repeat(64)
        ),
    );
}

#[test]
fn a_name_longer_than_253_is_refused_and_quoted_short() {
    refused(
        "longname",
        &one_host(&format!("name: {}, address: 192.0.2.1", "a".repeat(300))),
        &format!(
            "longname.yaml:5:12: hosts[0].name: `{}…` is not a valid host name\n  hint: at most 253 characters\n1 error(s)\n",
            "a".repeat(64)
        ),
    );
}

#[test]
fn a_trailing_dot_is_refused() {
    refused(
        "trailing",
        &one_host("name: ctl.example.org., address: 192.0.2.1"),
        &format!(
            "trailing.yaml:5:12: hosts[0].name: `ctl.example.org.` is not a valid host name\n  hint: {LABELS_HINT}\n1 error(s)\n"
        ),
    );
}

#[test]
fn a_user_that_is_an_ssh_option_is_refused() {
    refused(
        "optuser",
        &one_host("name: a, address: 192.0.2.1, user: -oProxyCommand, become: true"),
        "optuser.yaml:5:41: hosts[0].user: `-oProxyCommand` is not a valid user name\n  hint: a user name may not start with `-`\n1 error(s)\n",
    );
}

#[test]
fn host_names_differing_only_in_case_are_duplicates() {
    refused(
        "case",
        format!("{HEAD}  - {{name: Controller, address: 192.0.2.1}}\n  - {{name: controller, address: 192.0.2.2}}\n").as_bytes(),
        "case.yaml:6:5: hosts[1].name: duplicate host name `controller` (first at line 5 as `Controller`)\n  hint: host names must be unique, ignoring case (as in DNS)\n1 error(s)\n",
    );
}

#[test]
fn a_quoted_key_duplicates_the_plain_one() {
    refused(
        "quotedkey",
        b"site: s\n\"site\": t\n",
        "quotedkey.yaml:2:1: invalid YAML: duplicate key `site` (first at line 1)\n1 error(s)\n",
    );
}

// --- ports ----------------------------------------------------------------------

#[test]
fn port_with_a_leading_zero_is_refused() {
    refused(
        "port022",
        &one_host("name: a, address: 192.0.2.1, port: 022"),
        "port022.yaml:5:41: hosts[0].port: `022` is not a TCP port\n  hint: write the number without leading zeros: `port: 22` (YAML 1.1 readers take `022` for octal)\n1 error(s)\n",
    );
}

#[test]
fn port_with_a_sign_is_refused() {
    refused(
        "portplus",
        &one_host("name: a, address: 192.0.2.1, port: +22"),
        "portplus.yaml:5:41: hosts[0].port: `+22` is not a TCP port\n  hint: write the number without a sign: `port: 22`\n1 error(s)\n",
    );
}

#[test]
fn a_quoted_port_says_it_is_quoted() {
    refused(
        "portquoted",
        &one_host("name: a, address: 192.0.2.1, port: \"22\""),
        "portquoted.yaml:5:41: hosts[0].port: `22` is quoted, so it is a string, not a TCP port\n  hint: remove the quotes: `port: 22`\n1 error(s)\n",
    );
}

#[test]
fn a_single_quoted_port_says_it_is_quoted() {
    refused(
        "portsingle",
        &one_host("name: a, address: 192.0.2.1, port: '2222'"),
        "portsingle.yaml:5:41: hosts[0].port: `2222` is quoted, so it is a string, not a TCP port\n  hint: remove the quotes: `port: 2222`\n1 error(s)\n",
    );
}

#[test]
fn port_zero_is_refused() {
    refused(
        "port0",
        &one_host("name: a, address: 192.0.2.1, port: 0"),
        "port0.yaml:5:41: hosts[0].port: `0` is not a TCP port\n  hint: a number from 1 to 65535, e.g. `port: 22`\n1 error(s)\n",
    );
}

// --- what reaches the terminal --------------------------------------------------

#[test]
fn an_escape_sequence_in_a_value_is_shown_escaped() {
    // before: the OSC sequence (set the window title) reached the terminal
    refused(
        "escname",
        &one_host("name: \"\\e]0;owned\\a\", address: 192.0.2.1"),
        "escname.yaml:5:12: hosts[0].name: `\\u{1b}]0;owned\\u{7}` is not a valid host name\n  hint: use letters, digits, `-` and `.`\n1 error(s)\n",
    );
}

#[test]
fn an_escape_sequence_in_a_key_is_shown_escaped() {
    let mut content = one_host("name: a, address: 192.0.2.1");
    content.extend(b"\"\\e[2Jbogus\": 1\n");
    refused(
        "esckey",
        &content,
        "esckey.yaml:6:1: \\u{1b}[2Jbogus: unknown key `\\u{1b}[2Jbogus`\n  hint: known keys: site, release, region, controller, package_proxy, forks, secrets_file, known_hosts, host_key_policy, hosts, overrides, token_provider, identity_api, glance_registry, ha\n1 error(s)\n",
    );
}

#[test]
fn a_bidi_override_in_a_value_is_shown_escaped() {
    refused(
        "bidi",
        b"site: \"s\\u202Eevil\"\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 192.0.2.1}\n",
        "bidi.yaml:1:7: site: `s\\u{202e}evil` is not a valid site name\n  hint: use letters, digits, `-` and `_`\n1 error(s)\n",
    );
}

// --- the release ------------------------------------------------------------------

#[test]
fn an_unknown_release_is_the_only_error_for_the_release_choices() {
    // before: also "unknown key `token_provider`, did you mean `token_provider`?"
    refused(
        "release",
        b"site: s\nrelease: zedd\ncontroller: c\ntoken_provider: fernet\nidentity_api: v3\nglance_registry: false\nhosts:\n  - {name: a, address: 192.0.2.1}\n",
        "release.yaml:2:10: release: unknown OpenStack release `zedd`\n  hint: did you mean `zed`?\n1 error(s)\n",
    );
}
