//! Tagged completion results (RFC 3501 §7.1): OK, NO or BAD, an optional
//! response code and a text. Every command answers with one of these.

use postern_store::StoreError;
use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    status: &'static str,
    code: Option<Cow<'static, str>>,
    text: Cow<'static, str>,
}

impl Reply {
    pub fn ok(text: &'static str) -> Reply {
        Reply {
            status: "OK",
            code: None,
            text: Cow::Borrowed(text),
        }
    }

    pub fn no(text: &'static str) -> Reply {
        Reply {
            status: "NO",
            code: None,
            text: Cow::Borrowed(text),
        }
    }

    pub fn bad(text: &'static str) -> Reply {
        Reply {
            status: "BAD",
            code: None,
            text: Cow::Borrowed(text),
        }
    }

    /// The same reply with a response code, e.g. `[NONEXISTENT]`.
    pub fn code(mut self, code: impl Into<Cow<'static, str>>) -> Reply {
        self.code = Some(code.into());
        self
    }

    pub fn wrong_state() -> Reply {
        Reply::bad("Command not valid in this state")
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_bad(&self) -> bool {
        self.status == "BAD"
    }

    pub fn to_wire(&self, tag: &str) -> String {
        match &self.code {
            Some(c) => format!("{tag} {} [{c}] {}\r\n", self.status, self.text),
            None => format!("{tag} {} {}\r\n", self.status, self.text),
        }
    }

    /// A store failure as the client sees it (RFC 5530 response codes).
    pub fn from_store(e: &StoreError) -> Reply {
        match e {
            StoreError::NotFound(_) => Reply::no("No such mailbox").code("NONEXISTENT"),
            StoreError::Exists(_) => Reply::no("Mailbox already exists").code("ALREADYEXISTS"),
            StoreError::Invalid(_) => Reply::no("Not allowed").code("CANNOT"),
            StoreError::OverQuota => Reply::no("Mailbox quota exceeded").code("OVERQUOTA"),
            StoreError::NoPerm(_) => Reply::no("The archive is read-only").code("NOPERM"),
            _ => Reply::no("Temporary failure, try again later").code("UNAVAILABLE"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire() {
        assert_eq!(Reply::ok("Done").to_wire("a1"), "a1 OK Done\r\n");
        assert_eq!(
            Reply::no("x").code("CANNOT").to_wire("b"),
            "b NO [CANNOT] x\r\n"
        );
    }
}
