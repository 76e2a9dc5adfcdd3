//! The `postern` binary's admin commands, run as a user would run them:
//! init, config, export, queue, the data directory, serve's argument checks.
//! (The directory commands are in cli_directory.rs.)

mod support;

use std::process::Command;
use support::{exec, fails, installed, ok, postern_in};

#[test]
fn init_creates_an_installation_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("a/b");
    let out = ok(
        &data,
        &[
            "init",
            "--hostname",
            "mx.example.org",
            "--domain",
            "example.org",
        ],
    );
    assert!(
        out.contains("postern.toml") && out.contains("cert.pem") && out.contains("example.org"),
        "{out}"
    );
    for f in [
        "postern.toml",
        "tls/cert.pem",
        "tls/key.pem",
        "db/postern.db",
    ] {
        assert!(data.join(f).is_file(), "{f} created");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let config = std::fs::read_to_string(data.join("postern.toml")).unwrap();
    assert!(config.contains("hostname = \"mx.example.org\""));
    assert_eq!(ok(&data, &["domain", "list"]), "example.org\n");
    let err = fails(
        &data,
        &[
            "init",
            "--hostname",
            "mx.example.org",
            "--domain",
            "example.org",
        ],
        "",
    );
    assert!(err.contains("postern.toml already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(data.join("postern.toml")).unwrap(),
        config
    );
}

#[test]
fn config_get_and_set() {
    let (_tmp, data) = installed();
    assert_eq!(
        ok(&data, &["config", "get", "smtp.max_recipients"]),
        "100\n"
    );
    assert_eq!(
        ok(&data, &["config", "get", "server.hostname"]),
        "mx.example.org\n"
    );
    ok(&data, &["config", "set", "smtp.max_recipients", "250"]);
    assert_eq!(
        ok(&data, &["config", "get", "smtp.max_recipients"]),
        "250\n"
    );
    let text = std::fs::read_to_string(data.join("postern.toml")).unwrap();
    assert!(
        text.contains("max_recipients = 250") && text.contains("# Recipients per message"),
        "comments kept"
    );
    let err = fails(&data, &["config", "set", "smtp.max_recipents", "5"], "");
    assert!(err.contains("smtp.max_recipents"), "{err}");
    let err = fails(&data, &["config", "set", "smtp.max_recipients", "many"], "");
    assert!(err.contains("smtp.max_recipients"), "{err}");
    assert!(fails(&data, &["config", "get", "smtp.nope"], "").contains("smtp.nope"));
    assert_eq!(
        std::fs::read_to_string(data.join("postern.toml")).unwrap(),
        text,
        "refused sets change nothing"
    );
}

#[test]
fn export_and_queue_of_a_new_installation() {
    let (_tmp, data) = installed();
    assert!(
        postern_in(
            &data,
            &["user", "add", "alice@example.org", "--password-stdin"],
            "Wonderland-7-Tea\n"
        )
        .ok
    );
    assert_eq!(ok(&data, &["export", "alice@example.org"]), "");
    assert_eq!(
        ok(&data, &["export", "alice@example.org", "--folder", "Sent"]),
        ""
    );
    assert!(fails(&data, &["export", "nobody@example.org"], "").contains("nobody@example.org"));
    assert!(fails(
        &data,
        &["export", "alice@example.org", "--folder", "Nope"],
        ""
    )
    .contains("Nope"));
    assert_eq!(ok(&data, &["queue", "list"]), "queue is empty\n");
    assert!(fails(&data, &["queue", "show", "0123abcd"], "").contains("0123abcd does not exist"));
    assert!(fails(&data, &["queue", "show", "../etc"], "").contains("not a queue id"));
}

#[test]
fn data_dir_from_env_or_refused() {
    let (_tmp, data) = installed();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_postern"));
    cmd.args(["domain", "list"]);
    let r = exec(cmd, "");
    assert!(
        !r.ok && r.stderr.starts_with("postern: ") && r.stderr.contains("--data"),
        "{}",
        r.stderr
    );

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_postern"));
    let r = cmd
        .args(["domain", "list"])
        .env("POSTERN_DATA", &data)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(String::from_utf8(r.stdout).unwrap(), "example.org\n");

    let missing = data.join("typo");
    assert!(fails(&missing, &["domain", "list"], "").contains("does not exist"));
    assert!(!missing.exists(), "a mistyped data dir is not created");
}

#[test]
fn serve_refuses_bad_listen_overrides() {
    let (_tmp, data) = installed();
    assert!(fails(&data, &["serve", "--listen", "smtp"], "").contains("NAME=ADDR:PORT"));
    assert!(fails(
        &data,
        &[
            "serve",
            "--listen",
            "smtp=off",
            "--listen",
            "gopher=127.0.0.1:70"
        ],
        ""
    )
    .contains("unknown service `gopher`"));
}
