//! known_hosts matching as OpenSSH does it: tables of entries, hosts, ports and keys.

use super::*;

// `ssh-keygen -lf` of `ssh-ed25519 PUB` prints this fingerprint.
const PUB_FP: &str = "SHA256:ujt/zzVRxJ/dBc1ToRAizoLj5nITLjs7wNysf3OaMzg";
const PUB: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIK4sB0ZYg5KsfgaXeP4VUV/cLsFnrpQ6UJE5DwqJVvCm";

#[test]
fn fingerprint_is_openssh_format() {
    let blob = STANDARD.decode(PUB).unwrap();
    assert_eq!(fingerprint_sha256(&blob), PUB_FP);
}

/// The same fingerprint from OpenSSH itself.
#[test]
#[ignore = "needs OpenSSH's ssh-keygen: scripts/test runs it"]
fn fingerprint_matches_ssh_keygen() {
    let fp = fingerprint_sha256(&STANDARD.decode(PUB).unwrap());
    let out = std::process::Command::new("ssh-keygen")
        .args(["-lf", "/dev/stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("ssh-ed25519 {PUB}\n").as_bytes())?;
            c.wait_with_output()
        })
        .expect("ssh-keygen (apt-get install openssh-client)");
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains(&fp), "ssh-keygen says {s}, we say {fp}");
}

// Other keys, from ssh-keygen: B ed25519, E ecdsa-sha2-nistp256, R 1024-bit RSA.
const B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIEFFSAtQePO2tmUvQB5IeiLPLAzxyQ/GfneH6QF/FUel";
const E: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBN6wtLf2oTfCgMSeVolZBG88tb+eFrDZlCoNipJuuQKogBZzHzwTa2ylQUWyAwFX6lBeGTiB2MLMOz/xAmwhE4s=";
const R: &str = "AAAAB3NzaC1yc2EAAAADAQABAAAAgQC894gAayDSTLFegCy8DP2v9wcuds+DIVX9S5PvOETtnRyBUJCGxB2h3XcBkyFRZ+pfbyTd22nRDWfPVpRqC+YzT7+EFTX70kvbps7goLzK1iqlt6wCoeZzacQo+rnh3wNdXDY0mSVIp4M81zNnMomWsDLLpIUQzdljjhTSGgjXOw==";
// `ssh-keygen -H` of PUB under `[127.0.0.1]:2222`, `host.example` and
// `[Host.Example]:2222` (which it lowercases).
const H_LOCAL_2222: &str = "|1|fjtGew1Voyp2ntIGD2plmFjCPvQ=|aSXLyQ5Jvu1a5+e5a18t8o2pglI=";
const H_HOST: &str = "|1|co5wUEx8fazsRO3qSKPmoF7IWXo=|zpuP4r2l3dC3stGf0pd1Uledhzk=";
const H_HOST_2222: &str = "|1|KfR2pJ0SA2AQv8UdxNsnWnZybuM=|Oi6+Ll+CW2ZH3xg1d1IdCJcknno=";

#[derive(Debug, PartialEq)]
enum Want {
    Match,
    /// The line of the first recorded key listed.
    Mismatch(usize),
    NotFound,
    Revoked(usize),
}
use Want::*;

fn key(name: &str) -> Vec<u8> {
    STANDARD
        .decode(match name {
            "A" => PUB,
            "B" => B,
            "E" => E,
            "R" => R,
            _ => unreachable!(),
        })
        .unwrap()
}

/// `A`, `B`, `E`, `R`, `HL`, `HH`, `HP` in `text` stand for the keys and hashes.
fn file(text: &str) -> (PathBuf, Vec<u8>) {
    let text = text
        .replace("HL", H_LOCAL_2222)
        .replace("HH", H_HOST)
        .replace("HP", H_HOST_2222)
        .replace(" A", &format!(" {PUB}"))
        .replace(" B", &format!(" {B}"))
        .replace(" E", &format!(" {E}"))
        .replace(" R", &format!(" {R}"));
    (PathBuf::from("kh"), text.into_bytes())
}

fn verdict(text: &str, host: &str, port: u16, offered: &str) -> Want {
    match check_in(&[file(text)], host, port, &key(offered)) {
        Verdict::Known => Match,
        Verdict::Unknown { .. } => NotFound,
        Verdict::Mismatch { known } => Mismatch(known[0].line),
        Verdict::Revoked { line, .. } => Revoked(line),
    }
}

/// Each (known_hosts, host, port, offered key) gets the verdict OpenSSH's
/// client gives; all the wrong ones are listed.
fn assert_verdicts(table: &[(&str, &str, u16, &str, Want)]) {
    let mut wrong = Vec::new();
    for (text, host, port, offered, want) in table {
        let got = verdict(text, host, *port, offered);
        if got != *want {
            wrong.push(format!(
                "{text:?} {host}:{port} {offered}: {got:?}, want {want:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// (known_hosts, host, port, offered key) → verdict, as OpenSSH's client
/// decides: Port 22 and other ports, key types, a matching entry anywhere.
#[test]
fn matching_by_name_port_and_key_follows_openssh() {
    assert_verdicts(&[
        // Port 22: plain names.
        ("h ssh-ed25519 A", "h", 22, "A", Match),
        ("h ssh-ed25519 B", "h", 22, "A", Mismatch(1)),
        ("other ssh-ed25519 B", "h", 22, "A", NotFound),
        ("", "h", 22, "A", NotFound),
        // `[h]:22` is nobody's name: port 22 is looked up as `h`.
        ("[h]:22 ssh-ed25519 A", "h", 22, "A", NotFound),
        ("[h]:22 ssh-ed25519 B", "h", 22, "A", NotFound),
        // Other ports: `[h]:port`.
        ("[h]:2222 ssh-ed25519 A", "h", 2222, "A", Match),
        ("[h]:2222 ssh-ed25519 B", "h", 2222, "A", Mismatch(1)),
        ("[h]:2223 ssh-ed25519 A", "h", 2222, "A", NotFound),
        ("[h]:2222 ssh-ed25519 A", "h", 22, "A", NotFound),
        ("[h]:2222 ssh-ed25519 B", "h", 22, "A", NotFound),
        // Nothing under `[h]:2222`: a plain `h` entry counts only with this key.
        ("h ssh-ed25519 A", "h", 2222, "A", Match),
        ("h ssh-ed25519 B", "h", 2222, "A", NotFound),
        ("h ssh-ed25519 B\nh ssh-ed25519 A", "h", 2222, "A", Match),
        // ...and never over a key recorded under `[h]:2222`.
        (
            "[h]:2222 ssh-ed25519 B\nh ssh-ed25519 A",
            "h",
            2222,
            "A",
            Mismatch(1),
        ),
        (
            "h ssh-ed25519 A\n[h]:2222 ssh-ed25519 B",
            "h",
            2222,
            "A",
            Mismatch(2),
        ),
        // Any recorded key that is not this one, whatever its type, is a change.
        ("h ecdsa-sha2-nistp256 E", "h", 22, "A", Mismatch(1)),
        ("[h]:2222 ssh-rsa R", "h", 2222, "A", Mismatch(1)),
        (
            "[h]:2222 ecdsa-sha2-nistp256 E\n[h]:2222 ssh-rsa R",
            "h",
            2222,
            "A",
            Mismatch(1),
        ),
        // A matching entry anywhere for the name wins.
        ("h ssh-ed25519 B\nh ssh-ed25519 A", "h", 22, "A", Match),
        (
            "h ecdsa-sha2-nistp256 E\nh ssh-ed25519 A",
            "h",
            22,
            "A",
            Match,
        ),
        // RSA keys under their signature names.
        ("h rsa-sha2-256 R", "h", 22, "R", Match),
        ("h rsa-sha2-512 R", "h", 22, "A", Mismatch(1)),
    ]);
}

/// (known_hosts, host, port, offered key) → verdict, as OpenSSH's client
/// decides: `@revoked`, `@cert-authority` and bad markers.
#[test]
fn markers_follow_openssh() {
    assert_verdicts(&[
        // @revoked: this key revoked for the name is refused, whatever else is there.
        (
            "@revoked h ssh-ed25519 A\nh ssh-ed25519 A",
            "h",
            22,
            "A",
            Revoked(1),
        ),
        (
            "[h]:2222 ssh-ed25519 A\n@revoked * ssh-ed25519 A",
            "h",
            2222,
            "A",
            Revoked(2),
        ),
        ("@revoked * ssh-ed25519 A", "h", 2222, "A", Revoked(1)),
        ("@revoked  h ssh-rsa R", "h", 22, "R", Revoked(1)),
        (
            "@revoked h ssh-ed25519 B\nh ssh-ed25519 A",
            "h",
            22,
            "A",
            Match,
        ),
        (
            "@revoked other ssh-ed25519 A\nh ssh-ed25519 A",
            "h",
            22,
            "A",
            Match,
        ),
        ("@revoked h ssh-ed25519 B", "h", 22, "A", NotFound),
        // Revoked under the port-22 name and looked up there: refused too.
        (
            "@revoked h ssh-ed25519 A\nh ssh-ed25519 A",
            "h",
            2222,
            "A",
            Revoked(1),
        ),
        // @cert-authority lines are not used, and bad markers skip the line.
        ("@cert-authority h ssh-ed25519 A", "h", 22, "A", NotFound),
        (
            "@cert-authority * ssh-ed25519 B\nh ssh-ed25519 A",
            "h",
            22,
            "A",
            Match,
        ),
        (
            "@cert-authority *.example ssh-ed25519 B",
            "h.example",
            22,
            "A",
            NotFound,
        ),
        ("@bogus h ssh-ed25519 B", "h", 22, "A", NotFound),
        (
            "@revoked @revoked h ssh-ed25519 A\nh ssh-ed25519 A",
            "h",
            22,
            "A",
            Match,
        ),
        ("@ h ssh-ed25519 B", "h", 22, "A", NotFound),
        // OpenSSH ends a marker at the line's first space: a tab after it spoils it.
        (
            "@revoked\th ssh-ed25519 A\nh ssh-ed25519 A",
            "h",
            22,
            "A",
            Match,
        ),
    ]);
}

/// (known_hosts, host, port, offered key) → verdict, as OpenSSH's client
/// decides: Patterns, IPv6 and hashed names.
#[test]
fn patterns_and_hashed_names_follow_openssh() {
    let long = "x".repeat(1023);
    let long_list = format!("{long},h ssh-ed25519 A");
    assert_verdicts(&[
        // Patterns: comma lists, `*`, `?`, negation, case-insensitive.
        ("a,h,b ssh-ed25519 A", "h", 22, "A", Match),
        (
            "*.example ssh-ed25519 B",
            "host.example",
            22,
            "A",
            Mismatch(1),
        ),
        (
            "*.example,!bad.example ssh-ed25519 B",
            "bad.example",
            22,
            "A",
            NotFound,
        ),
        (
            "!bad.example,*.example ssh-ed25519 B",
            "bad.example",
            22,
            "A",
            NotFound,
        ),
        (
            "!bad.example ssh-ed25519 B",
            "good.example",
            22,
            "A",
            NotFound,
        ),
        ("h?st ssh-ed25519 A", "host", 22, "A", Match),
        ("h?st ssh-ed25519 A", "hst", 22, "A", NotFound),
        ("[h]:* ssh-ed25519 B", "h", 2222, "A", Mismatch(1)),
        ("* ssh-ed25519 B", "h", 2222, "A", Mismatch(1)),
        ("HOST.Example ssh-ed25519 A", "Host.EXAMPLE", 22, "A", Match),
        (
            "[HOST.Example]:2222 ssh-ed25519 B",
            "host.example",
            2222,
            "A",
            Mismatch(1),
        ),
        ("a,,h ssh-ed25519 A", "h", 22, "A", Match),
        (&long_list, "h", 22, "A", NotFound),
        // IPv6.
        ("[::1]:2222 ssh-ed25519 A", "::1", 2222, "A", Match),
        ("::1 ssh-ed25519 B", "::1", 22, "A", Mismatch(1)),
        // Hashed names (from ssh-keygen -H), with the same port rules.
        ("HL ssh-ed25519 A", "127.0.0.1", 2222, "A", Match),
        ("HL ssh-ed25519 A", "127.0.0.1", 2222, "B", Mismatch(1)),
        ("HL ssh-ed25519 A", "127.0.0.1", 22, "B", NotFound),
        ("HH ssh-ed25519 A", "host.example", 22, "B", Mismatch(1)),
        ("HH ssh-ed25519 A", "host.example", 2222, "A", Match),
        ("HH ssh-ed25519 A", "host.example", 2222, "B", NotFound),
        ("HP ssh-ed25519 A", "HOST.example", 2222, "B", Mismatch(1)),
        ("HP ssh-ed25519 A", "host.example", 2223, "B", NotFound),
        ("HH,h ssh-ed25519 B", "h", 22, "A", NotFound),
        ("|1|bad|hash ssh-ed25519 B", "h", 22, "A", NotFound),
        (
            "|2|co5wUEx8fazsRO3qSKPmoF7IWXo=|zpuP4r2l3dC3stGf0pd1Uledhzk= ssh-ed25519 B",
            "host.example",
            22,
            "A",
            NotFound,
        ),
    ]);
}

/// (known_hosts, host, port, offered key) → verdict, as OpenSSH's client
/// decides: Lines OpenSSH skips, comments, blank lines and line ends.
#[test]
fn skipped_lines_follow_openssh() {
    assert_verdicts(&[
        // Lines OpenSSH skips: truncated, bad keys, unknown types, a type that is
        // not the key's; comments and blank lines; CRLF endings are read.
        ("h", "h", 22, "A", NotFound),
        ("h ssh-ed25519", "h", 22, "A", NotFound),
        ("h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "h", 22, "A", NotFound),
        ("h ssh-ed25519 !!!!", "h", 22, "A", NotFound),
        ("h ssh-rsa A", "h", 22, "B", NotFound),
        ("h ecdsa-sha2-nistp384 E", "h", 22, "A", NotFound),
        ("h ssh-foo A", "h", 22, "B", NotFound),
        ("h #ssh-ed25519 B", "h", 22, "A", NotFound),
        (
            "# h ssh-ed25519 B\n\n  \t\n\th ssh-ed25519 B the comment",
            "h",
            22,
            "A",
            Mismatch(4),
        ),
        (
            "h ssh-ed25519 B\r\nh ssh-ed25519 A\r\n",
            "h",
            22,
            "A",
            Match,
        ),
        ("h ssh-ed25519 B\r\n", "h", 22, "A", Mismatch(1)),
        ("h\tssh-ed25519\t B", "h", 22, "A", Mismatch(1)),
    ]);
}

/// Every file is read, in order: the mismatch lists each recorded key with its
/// file and line; off port 22 an unknown key says what port 22's name holds.
#[test]
fn entries_across_files() {
    let files = [
        (
            PathBuf::from("user"),
            format!("x ssh-ed25519 {B}\n[h]:2222 ssh-ed25519 {B}\n").into_bytes(),
        ),
        (
            PathBuf::from("site"),
            format!("[h]:2222 ecdsa-sha2-nistp256 {E}\nh ssh-ed25519 {PUB}\n").into_bytes(),
        ),
    ];
    let Verdict::Mismatch { known } = check_in(&files, "h", 2222, &key("A")) else {
        panic!("mismatch expected");
    };
    let at: Vec<_> = known
        .iter()
        .map(|k| (k.file.display().to_string(), k.line, k.key_type.as_str()))
        .collect();
    assert_eq!(
        at,
        [
            ("user".into(), 2, "ssh-ed25519"),
            ("site".into(), 1, "ecdsa-sha2-nistp256")
        ]
    );
    assert_eq!(known[0].fingerprint, fingerprint_sha256(&key("B")));

    let files = [(
        PathBuf::from("kh"),
        format!("h ssh-ed25519 {B}\n").into_bytes(),
    )];
    let Verdict::Unknown { port22 } = check_in(&files, "h", 2222, &key("A")) else {
        panic!("unknown expected");
    };
    assert_eq!((port22.len(), port22[0].line), (1, 1));
    assert_eq!(
        check_in(&files, "h", 22, &key("B")),
        Verdict::Known,
        "a missing file is no file"
    );
}

#[test]
fn known_types_of_the_name_only() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("kh");
    std::fs::write(
        &f,
        format!(
            "h ssh-ed25519 {PUB}\n[h]:2222 rsa-sha2-256 {R}\n@revoked [h]:2222 ssh-ed25519 {B}\n\
             @cert-authority [h]:2222 ssh-ed25519 {B}\n[h]:2222 ecdsa-sha2-nistp256 {E}\n\
             [h]:2222 ssh-rsa {R}\n"
        ),
    )
    .unwrap();
    let files = [dir.path().join("missing"), f];
    assert_eq!(
        known_types(&files, "h", 2222),
        ["ssh-rsa", "ecdsa-sha2-nistp256"]
    );
    assert_eq!(known_types(&files, "H", 22), ["ssh-ed25519"]);
    assert!(known_types(&files, "other", 22).is_empty());
}

#[test]
fn record_writes_the_lowercase_name_and_refuses_pattern_characters() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sub/kh");
    let blob = key("A");
    assert_eq!(
        record(std::slice::from_ref(&f), "Host.Example", 2222, &blob).unwrap(),
        f
    );
    record(std::slice::from_ref(&f), "Host.Example", 22, &blob).unwrap();
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        format!("[host.example]:2222 ssh-ed25519 {PUB}\nhost.example ssh-ed25519 {PUB}\n")
    );
    let files = [(f.clone(), std::fs::read(&f).unwrap())];
    assert_eq!(
        check_in(&files, "HOST.example", 2222, &blob),
        Verdict::Known
    );
    for bad in [
        "*", "h?", "a,b#", "[h]", "h|x", "a'b", "a\"b", "a\\b", "u@h",
    ] {
        assert!(
            matches!(
                record(std::slice::from_ref(&f), bad, 22, &blob),
                Err(RecordError::UnsafeName(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn patterns_as_match_pattern() {
    for (s, p, want) in [
        ("abc", "abc", true),
        ("abc", "a*", true),
        ("abc", "*c", true),
        ("abc", "*b*", true),
        ("abc", "a?c", true),
        ("abc", "a??c", false),
        ("abc", "", false),
        ("", "", true),
        ("", "*", true),
        ("aXbXc", "a*b*c", true),
        ("aXbX", "a*b*c", false),
        ("[h]:2222", "[h]:2222", true),
        ("[h]:2222", "[h]:22", false),
    ] {
        assert_eq!(match_pattern(s.as_bytes(), p.as_bytes()), want, "{s} {p}");
    }
}

#[test]
fn key_type_and_names() {
    let blob = STANDARD.decode(PUB).unwrap();
    assert_eq!(key_type(&blob), Some("ssh-ed25519"));
    assert_eq!(short_type("ssh-ed25519"), "ED25519");
    assert_eq!(short_type("ecdsa-sha2-nistp256"), "ECDSA");
    assert_eq!(short_type("ssh-rsa"), "RSA");
    assert_eq!(key_type(b"\0\0"), None);
    assert_eq!(host_pattern("h", 22), "h");
    assert_eq!(host_pattern("h", 2222), "[h]:2222");
    assert_eq!(host_pattern("H.Example", 22), "h.example");
}
