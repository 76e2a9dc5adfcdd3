//! `postern domain|user|alias|group`: the directory round trip and its error messages.

mod support;

use support::{fails, installed, ok, postern_in};

#[test]
fn directory_round_trip() {
    let (_tmp, data) = installed();
    ok(&data, &["domain", "add", "example.net"]);
    assert_eq!(ok(&data, &["domain", "list"]), "example.net\nexample.org\n");

    let r = postern_in(
        &data,
        &[
            "user",
            "add",
            "alice@example.org",
            "--password-stdin",
            "--name",
            "Alice Liddell",
            "--quota",
            "500M",
        ],
        "S3cret pass word\r\n",
    );
    assert!(r.ok, "{}", r.stderr);
    assert!(!r.stdout.contains("S3cret") && !r.stderr.contains("S3cret"));
    assert!(
        postern_in(
            &data,
            &["user", "add", "bob@example.org", "--password-stdin"],
            "Builder-4-Can-Do\n"
        )
        .ok
    );
    assert_eq!(
        ok(&data, &["user", "list"]),
        "alice@example.org\tAlice Liddell\t500M\t0\tSCRAM-SHA-256\nbob@example.org\t\tunlimited\t0\tSCRAM-SHA-256\n"
    );
    assert!(
        postern_in(
            &data,
            &["user", "passwd", "bob@example.org", "--password-stdin"],
            "Newer-5-Pass\n"
        )
        .ok
    );

    ok(
        &data,
        &[
            "alias",
            "add",
            "info@example.org",
            "alice@example.org",
            "bob@example.org",
        ],
    );
    ok(
        &data,
        &["alias", "add", "@example.net", "alice@example.org"],
    );
    assert_eq!(ok(&data, &["alias", "list"]), "@example.net -> alice@example.org\ninfo@example.org -> alice@example.org, bob@example.org\n");
    ok(
        &data,
        &["alias", "del", "info@example.org", "bob@example.org"],
    );
    assert_eq!(
        ok(&data, &["alias", "list"]),
        "@example.net -> alice@example.org\ninfo@example.org -> alice@example.org\n"
    );
    ok(&data, &["alias", "del", "info@example.org"]);
    ok(&data, &["alias", "del", "@example.net"]);
    assert_eq!(ok(&data, &["alias", "list"]), "");

    ok(
        &data,
        &[
            "group",
            "add",
            "team@example.org",
            "--member",
            "alice@example.org",
            "--member",
            "bob@example.org",
        ],
    );
    ok(&data, &["group", "add", "empty@example.org"]);
    assert_eq!(
        ok(&data, &["group", "list"]),
        "empty@example.org:\nteam@example.org: alice@example.org, bob@example.org\n"
    );
    ok(&data, &["group", "del", "team@example.org"]);
    ok(&data, &["group", "del", "empty@example.org"]);
    assert_eq!(ok(&data, &["group", "list"]), "");

    ok(&data, &["user", "del", "bob@example.org"]);
    assert_eq!(
        ok(&data, &["user", "list"]),
        "alice@example.org\tAlice Liddell\t500M\t0\tSCRAM-SHA-256\n"
    );
    ok(&data, &["domain", "del", "example.net"]);
    assert_eq!(ok(&data, &["domain", "list"]), "example.org\n");
}

#[test]
fn directory_mistakes_are_explained() {
    let (_tmp, data) = installed();
    let err = fails(
        &data,
        &["user", "add", "carol@nowhere.test", "--password-stdin"],
        "Christmas-3-Song\n",
    );
    assert!(
        err.contains("nowhere.test") && err.contains("postern domain add nowhere.test"),
        "{err}"
    );
    let err = fails(
        &data,
        &["user", "add", "carol@example.org", "--password-stdin"],
        "\n",
    );
    assert!(err.contains("empty password"), "{err}");
    let err = fails(
        &data,
        &[
            "user",
            "add",
            "carol@example.org",
            "--password-stdin",
            "--quota",
            "lots",
        ],
        "pw\n",
    );
    assert!(err.contains("--quota"), "{err}");
    assert!(
        fails(&data, &["user", "add", "carol@example.org"], "pw\n").contains("--password-stdin")
    );
    assert!(fails(&data, &["user", "del", "nobody@example.org"], "")
        .contains("nobody@example.org does not exist"));
    assert!(fails(&data, &["domain", "add", "example.org"], "").contains("already exists"));
    assert!(fails(&data, &["alias", "del", "none@example.org"], "").contains("does not exist"));
    assert_eq!(ok(&data, &["user", "list"]), "");
}
