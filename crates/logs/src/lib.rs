//! The mail log and the security log (A6, X10): one line per event in
//! `DIR/logs/mail.log` and `DIR/logs/security.log`, as `key=value` text or
//! JSON lines. Secrets never reach these functions: callers pass only
//! addresses, IPs and reasons.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Both logs; cheap to clone.
#[derive(Clone)]
pub struct Logs {
    mail: Arc<Mutex<File>>,
    security: Arc<Mutex<File>>,
    json: bool,
}

impl Logs {
    /// Opens (appending) `DIR/logs/mail.log` and `DIR/logs/security.log`.
    pub fn open(data_dir: &Path, json: bool) -> std::io::Result<Logs> {
        let dir = data_dir.join("logs");
        std::fs::create_dir_all(&dir)?;
        let open = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
        };
        Ok(Logs {
            mail: Arc::new(Mutex::new(open("mail.log")?)),
            security: Arc::new(Mutex::new(open("security.log")?)),
            json,
        })
    }

    pub fn mail(&self, fields: &[(&str, &str)]) {
        self.write(&self.mail, fields);
    }

    pub fn security(&self, fields: &[(&str, &str)]) {
        self.write(&self.security, fields);
    }

    fn write(&self, file: &Mutex<File>, fields: &[(&str, &str)]) {
        let line = format_line(&timestamp(), fields, self.json);
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        // A full disk must not take the mail service down with it.
        let _ = f.write_all(line.as_bytes());
    }
}

fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One log line, newline-terminated. Values are quoted when they need it, and
/// control characters are escaped so a client cannot forge log lines.
pub fn format_line(time: &str, fields: &[(&str, &str)], json: bool) -> String {
    if json {
        let mut map = serde_json::Map::new();
        map.insert("time".into(), time.into());
        for (k, v) in fields {
            map.insert((*k).into(), (*v).into());
        }
        return format!("{}\n", serde_json::Value::Object(map));
    }
    let mut line = time.to_string();
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        if !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        {
            line.push_str(v);
        } else {
            line.push_str(&serde_json::Value::from(*v).to_string());
        }
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let t = format_line(
            "T",
            &[
                ("ip", "127.0.0.1"),
                ("reason", "bad password"),
                ("user", ""),
            ],
            false,
        );
        assert_eq!(t, "T ip=127.0.0.1 reason=\"bad password\" user=\"\"\n");
        let j = format_line("T", &[("ip", "::1")], true);
        assert_eq!(j, "{\"ip\":\"::1\",\"time\":\"T\"}\n");
    }

    #[test]
    fn no_line_injection() {
        let t = format_line("T", &[("from", "a\r\nT forged=1")], false);
        assert_eq!(t.matches('\n').count(), 1);
    }

    #[test]
    fn files_are_written() {
        let d = tempfile::tempdir().unwrap();
        let logs = Logs::open(d.path(), false).unwrap();
        logs.mail(&[("result", "accepted")]);
        logs.security(&[("event", "auth-failed")]);
        assert!(std::fs::read_to_string(d.path().join("logs/mail.log"))
            .unwrap()
            .contains("result=accepted"));
        assert!(std::fs::read_to_string(d.path().join("logs/security.log"))
            .unwrap()
            .contains("event=auth-failed"));
    }
}
