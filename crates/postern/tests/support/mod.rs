//! Running the built `postern` binary against a data directory in a tempdir.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn exec(mut cmd: Command, stdin: &str) -> Run {
    cmd.env_remove("POSTERN_DATA")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn postern");
    // A command may refuse (and exit) before it reads its input: that is a
    // broken pipe here, not a test failure.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        ok: status.success(),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// `postern --data DIR ARGS...` with `stdin`.
pub fn postern_in(data: &Path, args: &[&str], stdin: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_postern"));
    cmd.arg("--data").arg(data).args(args);
    exec(cmd, stdin)
}

pub fn postern(data: &Path, args: &[&str]) -> Run {
    postern_in(data, args, "")
}

/// Runs and insists on success.
pub fn ok(data: &Path, args: &[&str]) -> String {
    let r = postern(data, args);
    assert!(r.ok, "postern {args:?} failed: {}", r.stderr);
    r.stdout
}

/// Runs and insists on failure reported as `postern: ...`; returns stderr.
pub fn fails(data: &Path, args: &[&str], stdin: &str) -> String {
    let r = postern_in(data, args, stdin);
    assert!(!r.ok, "postern {args:?} should fail; stdout: {}", r.stdout);
    assert!(r.stderr.starts_with("postern: "), "stderr: {}", r.stderr);
    r.stderr
}

/// A fresh installation for example.org; returns its tempdir and data dir.
pub fn installed() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("nested/data");
    ok(
        &data,
        &[
            "init",
            "--hostname",
            "mx.example.org",
            "--domain",
            "example.org",
        ],
    );
    (tmp, data)
}
