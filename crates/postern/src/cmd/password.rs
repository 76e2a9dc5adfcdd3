//! Reading a password from stdin: the first line, without its line ending.
//! The bytes go straight into a buffer that is zeroed if refused, then into a
//! `Secret`; the password is never printed or passed on the command line.

use crate::error::{CliError, Result};
use postern_store::Secret;
use std::io::{BufRead, Read};
use zeroize::Zeroize;

/// Longer passwords are refused (Argon2 takes them, but nobody types this much).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Reads the first line of `input` as a password. Empty, over-long and non-UTF-8 passwords are refused.
pub fn read(input: &mut dyn BufRead) -> Result<Secret<String>> {
    // Room for the longest password and "\r\n", so the buffer never reallocates (leaving a copy behind).
    let limit = MAX_PASSWORD_BYTES + 2;
    let mut buf = Vec::with_capacity(limit);
    if let Err(e) = input.take(limit as u64).read_until(b'\n', &mut buf) {
        buf.zeroize();
        return Err(CliError::io(std::path::Path::new("<stdin>"), e));
    }
    if buf.is_empty() {
        return Err(CliError::Invalid(
            "no password on stdin: give it as the first line".into(),
        ));
    }
    strip_line_ending(&mut buf);
    if let Err(msg) = check(&buf) {
        buf.zeroize();
        return Err(CliError::Invalid(msg));
    }
    String::from_utf8(buf).map(Secret::new).map_err(|e| {
        e.into_bytes().zeroize();
        CliError::Invalid("the password is not valid UTF-8".into())
    })
}

fn strip_line_ending(buf: &mut Vec<u8>) {
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
}

fn check(buf: &[u8]) -> Result<(), String> {
    if buf.is_empty() {
        return Err("empty password refused".into());
    }
    if buf.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "password longer than {MAX_PASSWORD_BYTES} bytes refused"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(input: &[u8]) -> Result<String, String> {
        read(&mut &input[..])
            .map(|s| s.expose().clone())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn first_line_without_ending() {
        assert_eq!(read_str(b"hunter2\n").unwrap(), "hunter2");
        assert_eq!(read_str(b"hunter2\r\n").unwrap(), "hunter2");
        assert_eq!(read_str(b"hunter2").unwrap(), "hunter2");
        assert_eq!(
            read_str(b" two words \nsecond line\n").unwrap(),
            " two words "
        );
        assert_eq!(read_str(b"a\rb\n").unwrap(), "a\rb");
    }

    #[test]
    fn empty_refused() {
        assert!(read_str(b"").unwrap_err().contains("no password"));
        assert!(read_str(b"\n").unwrap_err().contains("empty"));
        assert!(read_str(b"\r\nsecond\n").unwrap_err().contains("empty"));
    }

    #[test]
    fn length_limit() {
        let max = "x".repeat(MAX_PASSWORD_BYTES);
        assert_eq!(read_str(format!("{max}\r\n").as_bytes()).unwrap(), max);
        assert!(read_str(format!("{max}x\n").as_bytes())
            .unwrap_err()
            .contains("longer than"));
        assert!(read_str(format!("{max}{max}").as_bytes())
            .unwrap_err()
            .contains("longer than"));
    }

    #[test]
    fn not_utf8_refused() {
        assert!(read_str(b"\xff\xfe\n").unwrap_err().contains("UTF-8"));
    }
}
