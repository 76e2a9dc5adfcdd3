//! `postern config get|set KEY [VALUE]`: dotted keys read and written in place,
//! comments and layout kept (toml_edit). A set is refused unless the whole file
//! still validates, and the message names the key.

use crate::{path_in, Config, ConfigError};
use std::path::Path;
use toml_edit::{DocumentMut, Item, Table, Value};

/// Reads KEY: from the file if set there, else the default the server uses.
pub fn get(data_dir: &Path, key: &str) -> Result<String, ConfigError> {
    let config = Config::load(data_dir)?;
    let effective = toml::Value::try_from(&config).map_err(|e| ConfigError::InvalidValue {
        key: key.into(),
        message: e.to_string(),
    })?;
    let mut node = &effective;
    for part in key.split('.') {
        node = node
            .get(part)
            .ok_or_else(|| ConfigError::UnknownKey(key.into()))?;
    }
    Ok(match node {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Sets KEY to VALUE (a TOML value; bare words are taken as strings) and saves.
pub fn set(data_dir: &Path, key: &str, value: &str) -> Result<(), ConfigError> {
    let path = path_in(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let new_text = set_in_text(&text, key, value)?;
    write_atomically(&path, &new_text)
}

/// The pure part of [`set`]: returns the edited document text.
pub fn set_in_text(text: &str, key: &str, value: &str) -> Result<String, ConfigError> {
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::InvalidValue {
                key: key.into(),
                message: e.to_string(),
            })?;
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(ConfigError::UnknownKey(key.into()));
    }
    let parsed = parse_value(value);
    let (last, tables) = parts.split_last().expect("split yields one part");
    let mut table: &mut Table = doc.as_table_mut();
    for part in tables {
        let entry = table.entry(part).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(false);
            Item::Table(t)
        });
        table = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::UnknownKey(key.into()))?;
    }
    match table.get_mut(last).and_then(Item::as_value_mut) {
        Some(existing) => {
            let decor = existing.decor().clone();
            *existing = parsed;
            *existing.decor_mut() = decor;
        }
        None => {
            table.insert(last, Item::Value(parsed));
        }
    }
    let out = doc.to_string();
    check(&out, key)?;
    Ok(out)
}

/// A value as TOML if it parses as one, else as a string ("0.0.0.0:25" needs no quotes).
fn parse_value(value: &str) -> Value {
    let probe = format!("v = {value}");
    match probe.parse::<DocumentMut>() {
        Ok(doc) => match doc.get("v").and_then(Item::as_value) {
            Some(v) => {
                let mut v = v.clone();
                v.decor_mut().clear();
                v
            }
            None => Value::from(value),
        },
        Err(_) => Value::from(value),
    }
}

/// Validates the edited text; errors name the key the user set.
fn check(text: &str, key: &str) -> Result<(), ConfigError> {
    match Config::parse(text) {
        Ok(_) => Ok(()),
        Err(message) if message.contains("unknown field") => {
            Err(ConfigError::UnknownKey(key.into()))
        }
        Err(message) => Err(ConfigError::InvalidValue {
            key: key.into(),
            message: message.trim().to_string(),
        }),
    }
}

fn write_atomically(path: &Path, text: &str) -> Result<(), ConfigError> {
    let tmp = path.with_extension("toml.tmp");
    let err = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render_template;

    #[test]
    fn set_keeps_comments() {
        let text = render_template("mx.example.org");
        let out = set_in_text(&text, "smtp.max_recipients", "250").unwrap();
        assert!(out.contains("max_recipients = 250"));
        assert!(out.contains("# Recipients per message; more get 452 4.5.3."));
        assert_eq!(out.lines().count(), text.lines().count());
    }

    #[test]
    fn bare_strings_accepted() {
        let out = set_in_text("", "listeners.smtp", "127.0.0.1:2525").unwrap();
        assert_eq!(
            Config::parse(&out)
                .unwrap()
                .listeners
                .get("smtp")
                .addrs()
                .unwrap()[0]
                .port(),
            2525
        );
        let out = set_in_text("", "smtp.max_message_size", "10M").unwrap();
        assert_eq!(
            Config::parse(&out).unwrap().smtp.max_message_size.0,
            10 << 20
        );
    }

    #[test]
    fn bad_keys_and_values_name_the_key() {
        match set_in_text("", "smtp.max_recipents", "5") {
            Err(ConfigError::UnknownKey(k)) => assert_eq!(k, "smtp.max_recipents"),
            other => panic!("{other:?}"),
        }
        match set_in_text("", "smtp.max_recipients", "many") {
            Err(ConfigError::InvalidValue { key, .. }) => assert_eq!(key, "smtp.max_recipients"),
            other => panic!("{other:?}"),
        }
        assert!(set_in_text("", "smtp..x", "1").is_err());
        assert!(set_in_text("", "server.hostname.x", "1").is_err());
    }

    #[test]
    fn get_reads_defaults_and_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(get(dir.path(), "smtp.max_recipients").unwrap(), "100");
        set(dir.path(), "smtp.max_recipients", "7").unwrap();
        assert_eq!(get(dir.path(), "smtp.max_recipients").unwrap(), "7");
        assert_eq!(get(dir.path(), "smtp.max_message_size").unwrap(), "50M");
        assert!(matches!(
            get(dir.path(), "smtp.nope"),
            Err(ConfigError::UnknownKey(_))
        ));
    }
}
