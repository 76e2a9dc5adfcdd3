//! RFC 2831 §7.1's `#( token "=" ( token | quoted-string ) )` lists.

use crate::fields::{self, check_name};
use crate::limits::{MAX_DIRECTIVES, MAX_DIRECTIVE_LEN};
use crate::SaslError;

/// Directive names (lowercased) and their unquoted values, each name once.
pub(crate) struct Directives(Vec<(String, Vec<u8>)>);

pub(crate) fn parse_directives(input: &[u8]) -> Result<Directives, SaslError> {
    let mut p = Cursor { s: input, i: 0 };
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    loop {
        p.skip(|b| is_lws(b) || b == b',');
        if p.done() {
            return Ok(Directives(out));
        }
        let (key, value) = p.directive()?;
        if out.iter().any(|(k, _)| *k == key) {
            return Err(SaslError::Malformed("repeated directive"));
        }
        if out.len() == MAX_DIRECTIVES {
            return Err(SaslError::Malformed("too many directives"));
        }
        out.push((key, value));
        p.skip(is_lws);
        if !p.done() && !p.eat(b',') {
            return Err(SaslError::Malformed("directives must be separated by ','"));
        }
    }
}

/// `s` as a quoted-string, `"` and `\` escaped (RFC 2616 §2.2).
pub(crate) fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 2616 §2.2 token characters.
fn is_token(b: u8) -> bool {
    b > 32 && b < 127 && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.s.get(self.i).is_some_and(|&b| f(b)) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.s.get(self.i) == Some(&b);
        self.i += usize::from(hit);
        hit
    }

    fn token(&mut self) -> Option<&[u8]> {
        let start = self.i;
        self.skip(is_token);
        (self.i > start).then(|| &self.s[start..self.i])
    }

    fn directive(&mut self) -> Result<(String, Vec<u8>), SaslError> {
        let key = self.token().ok_or(SaslError::Malformed("directive name"))?;
        let key = String::from_utf8_lossy(key).to_ascii_lowercase();
        self.skip(is_lws);
        if !self.eat(b'=') {
            return Err(SaslError::Malformed("directive without '='"));
        }
        self.skip(is_lws);
        let value = if self.eat(b'"') {
            self.quoted()?
        } else {
            self.token()
                .ok_or(SaslError::Malformed("directive value"))?
                .to_vec()
        };
        Ok((key, value))
    }

    /// After the opening quote: up to the closing one, `\x` → `x`.
    fn quoted(&mut self) -> Result<Vec<u8>, SaslError> {
        let mut v = Vec::new();
        loop {
            match self.s.get(self.i) {
                None => return Err(SaslError::Malformed("unterminated quoted-string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(v);
                }
                Some(b'\\') if self.i + 1 < self.s.len() => {
                    v.push(self.s[self.i + 1]);
                    self.i += 2;
                }
                Some(&b) => {
                    v.push(b);
                    self.i += 1;
                }
            }
        }
    }
}

impl Directives {
    pub(crate) fn get(&self, key: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    pub(crate) fn required(&self, key: &'static str) -> Result<&[u8], SaslError> {
        self.get(key).ok_or(SaslError::Malformed(key))
    }

    /// A required value other than a name (nonce, nc, digest-uri…).
    pub(crate) fn ascii(&self, key: &'static str) -> Result<String, SaslError> {
        Ok(fields::text(self.required(key)?, key, MAX_DIRECTIVE_LEN)?.to_string())
    }

    /// UTF-8 with charset=utf-8, ISO 8859-1 without (RFC 2831 §2.1.2).
    pub(crate) fn optional_text(
        &self,
        key: &'static str,
        utf8: bool,
    ) -> Result<Option<String>, SaslError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        if v.len() > MAX_DIRECTIVE_LEN {
            return Err(SaslError::TooLong {
                field: key,
                max: MAX_DIRECTIVE_LEN,
            });
        }
        Ok(Some(decode(v, key, utf8)?))
    }

    pub(crate) fn name(&self, key: &'static str, utf8: bool) -> Result<String, SaslError> {
        let name = decode(self.required(key)?, key, utf8)?;
        check_name(&name, key)?;
        Ok(name)
    }

    pub(crate) fn optional_name(
        &self,
        key: &'static str,
        utf8: bool,
    ) -> Result<Option<String>, SaslError> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.name(key, utf8).map(Some),
        }
    }
}

fn decode(v: &[u8], key: &'static str, utf8: bool) -> Result<String, SaslError> {
    if utf8 {
        Ok(fields::text(v, key, usize::MAX)?.to_string())
    } else {
        Ok(v.iter().map(|&b| char::from(b)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_quoted_strings_and_whitespace() {
        let d = parse_directives(b" ,a=1 , B = \"x\\\"y\" ,, c=\"\"").unwrap();
        assert_eq!(d.get("a"), Some(&b"1"[..]));
        assert_eq!(d.get("b"), Some(&b"x\"y"[..]));
        assert_eq!(d.get("c"), Some(&b""[..]));
        assert_eq!(quote("x\"y\\"), "\"x\\\"y\\\\\"");
    }

    #[test]
    fn syntax_errors() {
        let cases: [(&[u8], &str); 6] = [
            (b"a=1,a=2", "repeated directive"),
            (b"a", "directive without '='"),
            (b"a=\"open", "unterminated quoted-string"),
            (b"a=", "directive value"),
            (b"=1", "directive name"),
            (b"a=1 b=2", "directives must be separated by ','"),
        ];
        for (input, what) in cases {
            assert_eq!(
                parse_directives(input).err(),
                Some(SaslError::Malformed(what))
            );
        }
        let many: Vec<u8> = (0..=MAX_DIRECTIVES)
            .map(|i| format!("k{i}=v,"))
            .collect::<String>()
            .into();
        let err = parse_directives(&many).err();
        assert_eq!(err, Some(SaslError::Malformed("too many directives")));
    }
}
