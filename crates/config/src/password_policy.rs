//! The password policy (SPEC D7): length, character classes, and no user or
//! domain name inside. Checked by `postern user add` and `user passwd`.

use crate::Auth;

/// Names shorter than this are not looked for (a one-letter local part
/// would otherwise forbid every password holding that letter).
pub const MIN_FORBIDDEN_NAME: usize = 3;

/// Which rule a password breaks; the message names the rule and its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("password too short: at least {min} characters required (auth.password_min_length)")]
    TooShort { min: u32 },
    #[error("password too simple: it mixes {found} of the classes lower case, upper case, digit and other; at least {required} required (auth.password_classes)")]
    TooFewClasses { required: u32, found: u32 },
    #[error("password contains the {what} `{name}` (auth.password_forbid_names)")]
    ContainsName { what: &'static str, name: String },
}

impl Auth {
    /// Checks a new password for `address` (local@domain).
    pub fn check_password(&self, address: &str, password: &str) -> Result<(), PolicyViolation> {
        if password.chars().count() < self.password_min_length as usize {
            return Err(PolicyViolation::TooShort {
                min: self.password_min_length,
            });
        }
        let found = classes(password);
        if found < self.password_classes {
            return Err(PolicyViolation::TooFewClasses {
                required: self.password_classes,
                found,
            });
        }
        if self.password_forbid_names {
            check_names(address, password)?;
        }
        Ok(())
    }
}

/// How many of lower case, upper case, digit and other `password` has.
fn classes(password: &str) -> u32 {
    let has = |f: fn(&char) -> bool| u32::from(password.chars().any(|c| f(&c)));
    has(|c| c.is_lowercase())
        + has(|c| c.is_uppercase())
        + has(|c| c.is_numeric())
        + has(|c| !c.is_lowercase() && !c.is_uppercase() && !c.is_numeric())
}

/// The local part, the domain, and every domain label but the top-level
/// one, case-insensitively.
fn check_names(address: &str, password: &str) -> Result<(), PolicyViolation> {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let password = password.to_lowercase();
    let mut names = vec![("user name", local), ("domain name", domain)];
    let labels: Vec<&str> = domain.split('.').collect();
    if let Some((_, rest)) = labels.split_last() {
        names.extend(rest.iter().map(|l| ("domain name", *l)));
    }
    for (what, name) in names {
        if name.chars().count() >= MIN_FORBIDDEN_NAME && password.contains(&name.to_lowercase()) {
            return Err(PolicyViolation::ContainsName {
                what,
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "alice@example.org";

    #[test]
    fn default_policy() {
        let p = Auth::default();
        assert_eq!(p.check_password(ALICE, "Wonderland-7-Tea"), Ok(()));
        assert_eq!(
            p.check_password(ALICE, "Wonder-7a"),
            Err(PolicyViolation::TooShort { min: 10 })
        );
        assert_eq!(
            p.check_password(ALICE, "wonderland-tea"),
            Err(PolicyViolation::TooFewClasses {
                required: 3,
                found: 2
            })
        );
        assert_eq!(
            p.check_password(ALICE, "Wonder-ALICE-7"),
            Err(PolicyViolation::ContainsName {
                what: "user name",
                name: "alice".into()
            })
        );
        let e = p.check_password(ALICE, "My-Example-7").unwrap_err();
        assert_eq!(
            e.to_string(),
            "password contains the domain name `example` (auth.password_forbid_names)"
        );
        assert!(
            p.check_password(ALICE, "Sure-0rg-Tea").is_ok(),
            "the TLD alone is allowed"
        );
    }

    #[test]
    fn length_counts_characters_and_crosses_the_limit() {
        let p = Auth {
            password_min_length: 10,
            password_classes: 0,
            ..Auth::default()
        };
        assert!(p.check_password(ALICE, "ééééééééé").is_err());
        assert!(p.check_password(ALICE, "éééééééééé").is_ok());
    }

    #[test]
    fn classes_are_counted() {
        assert_eq!(classes("abc"), 1);
        assert_eq!(classes("aB"), 2);
        assert_eq!(classes("aB1"), 3);
        assert_eq!(classes("aB1 "), 4);
        assert_eq!(classes("ÄÖü9"), 3);
        let p = Auth {
            password_classes: 4,
            ..Auth::default()
        };
        assert!(p.check_password(ALICE, "Wonderland7Tea").is_err());
        assert!(p.check_password(ALICE, "Wonderland-7-Tea").is_ok());
    }

    #[test]
    fn names_may_be_allowed_and_short_ones_are_ignored() {
        let p = Auth {
            password_forbid_names: false,
            ..Auth::default()
        };
        assert!(p.check_password(ALICE, "Alice-Secret-1").is_ok());
        let p = Auth::default();
        assert!(p.check_password("al@example.org", "Pal-Secret-12").is_ok());
        assert!(p.check_password(ALICE, "x-EXAMPLE.ORG-1").is_err());
    }
}
