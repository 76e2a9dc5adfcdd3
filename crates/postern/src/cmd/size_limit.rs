//! `--max-message-size SIZE|none` of `domain set` and `user set`, and how
//! `domain list` / `user list` show a limit (issue 6 item 6).

use crate::error::{CliError, Result};
use postern_config::{parse_size, Size};

/// `none` clears the limit (None); otherwise a size such as 10M, never 0.
pub fn parse(text: &str) -> Result<Option<u64>> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match parse_size(text) {
        Ok(0) => Err(CliError::Invalid(
            "--max-message-size: 0 would refuse every message; give a size, or none to clear it"
                .into(),
        )),
        Ok(n) => Ok(Some(n)),
        Err(e) => Err(CliError::Invalid(format!(
            "--max-message-size: {e}, or none"
        ))),
    }
}

/// What `set` reports: `10M` or `none`.
pub fn describe(limit: Option<u64>) -> String {
    limit.map_or_else(|| "none".into(), |n| Size(n).to_string())
}

/// The tail a list line gets: empty, or a tab and `max-message-size=SIZE`.
pub fn column(limit: Option<u64>) -> String {
    limit.map_or_else(String::new, |n| format!("\tmax-message-size={}", Size(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_none_and_mistakes() {
        assert_eq!(parse("10M").unwrap(), Some(10 << 20));
        assert_eq!(parse("512K").unwrap(), Some(512 << 10));
        assert_eq!(parse("NONE").unwrap(), None);
        assert!(parse("0")
            .unwrap_err()
            .to_string()
            .contains("none to clear"));
        let e = parse("big").unwrap_err().to_string();
        assert!(
            e.starts_with("--max-message-size: ") && e.ends_with("or none"),
            "{e}"
        );
        assert_eq!(describe(Some(512 << 10)), "512K");
        assert_eq!(describe(None), "none");
        assert_eq!(column(Some(10 << 20)), "\tmax-message-size=10M");
        assert_eq!(column(None), "");
    }
}
