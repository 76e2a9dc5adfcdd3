//! A rule's two written forms: the stored one (plain text columns) and the
//! command line `postern spam rule list` prints, which `spam rule add`
//! takes back as it is (shell-quoted).

use super::{Action, Condition, RuleError, RuleSpec, Target};

/// A rule as stored: target (`body` or `header:NAME`), condition, argument,
/// action, score.
pub type Stored<'a> = (String, &'static str, &'a str, &'static str, f64);

impl RuleSpec {
    /// The stored form.
    pub fn stored(&self) -> Stored<'_> {
        let target = match &self.target {
            Target::Body => "body".to_string(),
            Target::Header(h) => format!("header:{h}"),
        };
        let (condition, argument) = match &self.condition {
            Condition::Contains(s) => ("contains", s.as_str()),
            Condition::Equals(s) => ("equals", s.as_str()),
            Condition::Matches(s) => ("matches", s.as_str()),
            Condition::Empty => ("empty", ""),
            Condition::Missing => ("missing", ""),
        };
        let (action, score) = match self.action {
            Action::Score(n) => ("score", n),
            Action::Reject => ("reject", 0.0),
            Action::Accept => ("accept", 0.0),
        };
        (target, condition, argument, action, score)
    }

    /// Reads the stored form back (not compiled yet).
    pub fn from_stored(
        name: &str,
        target: &str,
        condition: &str,
        argument: &str,
        action: &str,
        score: f64,
    ) -> Result<RuleSpec, RuleError> {
        let bad = |what: &str| RuleError::Stored(format!("rule {name}: {what}"));
        let target = match target.split_once(':') {
            None if target == "body" => Target::Body,
            Some(("header", h)) => Target::Header(h.to_string()),
            _ => return Err(bad(target)),
        };
        let a = argument.to_string();
        let condition = match condition {
            "contains" => Condition::Contains(a),
            "equals" => Condition::Equals(a),
            "matches" => Condition::Matches(a),
            "empty" => Condition::Empty,
            "missing" => Condition::Missing,
            other => return Err(bad(other)),
        };
        let action = match action {
            "score" => Action::Score(score),
            "reject" => Action::Reject,
            "accept" => Action::Accept,
            other => return Err(bad(other)),
        };
        Ok(RuleSpec {
            name: name.to_string(),
            target,
            condition,
            action,
        })
    }

    /// The arguments of `postern spam rule add` that make this rule again.
    pub fn args(&self) -> String {
        let mut out = vec![quote(&self.name)];
        match &self.target {
            Target::Body => out.push("--body".into()),
            Target::Header(h) => out.extend(["--header".into(), quote(h)]),
        }
        out.push(format!("--{}", condition_flag(&self.condition)));
        if let Condition::Contains(s) | Condition::Equals(s) | Condition::Matches(s) =
            &self.condition
        {
            out.push(quote(s));
        }
        match self.action {
            Action::Score(n) => out.extend(["--score".into(), n.to_string()]),
            Action::Reject => out.push("--reject".into()),
            Action::Accept => out.push("--accept".into()),
        }
        out.join(" ")
    }
}

fn condition_flag(c: &Condition) -> &'static str {
    match c {
        Condition::Contains(_) => "contains",
        Condition::Equals(_) => "equals",
        Condition::Matches(_) => "matches",
        Condition::Empty => "empty",
        Condition::Missing => "missing",
    }
}

/// `s` as one POSIX shell word: bare when it is plain, else single-quoted.
pub fn quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !s.is_empty() && s.chars().all(plain) && !s.starts_with('-') {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips() {
        let spec = RuleSpec {
            name: "r1".into(),
            target: Target::Header("Subject".into()),
            condition: Condition::Matches("(?i)a b".into()),
            action: Action::Score(-2.5),
        };
        let (t, c, a, act, s) = spec.stored();
        assert_eq!(RuleSpec::from_stored("r1", &t, c, a, act, s).unwrap(), spec);
        assert!(RuleSpec::from_stored("r", "head:x", "empty", "", "accept", 0.0).is_err());
    }

    #[test]
    fn command_line_form_is_shell_quoted() {
        let spec = RuleSpec {
            name: "no-pills".into(),
            target: Target::Header("Subject".into()),
            condition: Condition::Contains("it's cheap".into()),
            action: Action::Score(10.0),
        };
        assert_eq!(
            spec.args(),
            r"no-pills --header Subject --contains 'it'\''s cheap' --score 10"
        );
        let body = RuleSpec {
            name: "b".into(),
            target: Target::Body,
            condition: Condition::Missing,
            action: Action::Reject,
        };
        assert_eq!(body.args(), "b --body --missing --reject");
        assert_eq!(quote("-x"), "'-x'");
        assert_eq!(quote(""), "''");
    }
}
