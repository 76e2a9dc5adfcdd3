//! `postern serve [--listen NAME=ADDR:PORT | --listen NAME=off]...`: checks
//! the overrides, then hands over to `crate::serve::run`, which builds its own
//! runtime (so nothing here may run inside one).

use crate::cli::ServeArgs;
use crate::error::{CliError, Result};
use postern_config::SERVICES;
use std::path::Path;

pub fn run(data: &Path, args: &ServeArgs) -> Result<()> {
    let pairs = args
        .listen
        .iter()
        .map(|s| parse_listen(s))
        .collect::<Result<Vec<_>>>()?;
    crate::serve::run(data, &pairs).map_err(CliError::Serve)
}

/// Splits `NAME=VALUE` at the first '=' and checks NAME is a service Postern has.
fn parse_listen(text: &str) -> Result<(String, String)> {
    let invalid = |why: String| CliError::Invalid(format!("--listen {text}: {why}"));
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| invalid("expected NAME=ADDR:PORT or NAME=off".into()))?;
    if !SERVICES.iter().any(|(service, _)| *service == name) {
        let known: Vec<&str> = SERVICES.iter().map(|(n, _)| *n).collect();
        return Err(invalid(format!(
            "unknown service `{name}` (known: {})",
            known.join(", ")
        )));
    }
    if value.trim().is_empty() {
        return Err(invalid("no address given (use ADDR:PORT or off)".into()));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<(String, String), String> {
        parse_listen(s).map_err(|e| e.to_string())
    }

    #[test]
    fn pairs() {
        assert_eq!(
            parse("smtp=127.0.0.1:2525").unwrap(),
            ("smtp".into(), "127.0.0.1:2525".into())
        );
        assert_eq!(parse("imaps=off").unwrap(), ("imaps".into(), "off".into()));
        assert_eq!(parse("smtp=[::1]:25").unwrap().1, "[::1]:25");
        assert_eq!(
            parse("pop3=a=b").unwrap().1,
            "a=b",
            "split at the first '='"
        );
        for (name, _) in SERVICES {
            assert!(parse(&format!("{name}=off")).is_ok(), "{name}");
        }
    }

    #[test]
    fn refusals() {
        assert!(parse("smtp")
            .unwrap_err()
            .contains("expected NAME=ADDR:PORT"));
        let e = parse("smtpx=127.0.0.1:25").unwrap_err();
        assert!(
            e.contains("unknown service `smtpx`") && e.contains("submission"),
            "{e}"
        );
        assert!(parse("SMTP=off").is_err());
        assert!(parse("=off").is_err());
        assert!(parse("smtp=").unwrap_err().contains("no address"));
    }
}
