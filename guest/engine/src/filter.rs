//! SCIM filters (RFC 7644 §3.4.2.2): the AST, its parser and its printer (which round-trips).
//! Evaluation against resources lives in `eval`.
use std::fmt;

use crate::attr_path::AttrPath;
use crate::error::ScimError;
use crate::limits::Limits;
use crate::profile::Profile;

/// A comparison operator of §3.4.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// greater than or equal to
    Ge,
    /// less than
    Lt,
    /// less than or equal to
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// The operator as written in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

/// A comparison literal (`compValue`): false / null / true / number / string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    /// `true` or `false`
    Bool(bool),
    /// `null`
    Null,
    /// a JSON number, kept exactly as parsed
    Number(serde_json::Number),
    /// a JSON string, unescaped
    String(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

/// A parsed filter expression. `and`/`or` chains are n-ary so long chains never recurse deeply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `a or b or ...`
    Or(Vec<Filter>),
    /// `a and b and ...`
    And(Vec<Filter>),
    /// `not (a)`
    Not(Box<Filter>),
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`
    ValuePath(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token<'t> {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Str(String),
    /// A bare word, borrowed from the filter text.
    Word(&'t str),
}

/// 400 invalidFilter naming the filter text and what is wrong with it.
fn invalid(text: &str, why: impl fmt::Display) -> ScimError {
    ScimError::invalid_filter(format!("invalid filter \"{text}\": {why}"))
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, ScimError> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => (tokens.push(Token::Open), i += 1).1,
            b')' => (tokens.push(Token::Close), i += 1).1,
            b'[' => (tokens.push(Token::OpenBracket), i += 1).1,
            b']' => (tokens.push(Token::CloseBracket), i += 1).1,
            b'"' => {
                let start = i;
                i += 1;
                let mut escaped = false;
                loop {
                    match bytes.get(i) {
                        None => return Err(invalid(text, "unterminated string")),
                        Some(b'\\') if !escaped => escaped = true,
                        Some(b'"') if !escaped => break,
                        Some(_) => escaped = false,
                    }
                    i += 1;
                }
                i += 1;
                let inner = &text[start + 1..i - 1];
                // Without escapes or control characters the JSON string is its own text.
                let literal: String = if inner.bytes().all(|b| b != b'\\' && b >= 0x20) {
                    inner.to_string()
                } else {
                    serde_json::from_str(&text[start..i]).map_err(|_| {
                        invalid(text, format!("bad string literal {}", &text[start..i]))
                    })?
                };
                tokens.push(Token::Str(literal));
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(
                        bytes[i],
                        b' ' | b'\t' | b'\n' | b'\r' | b'(' | b')' | b'[' | b']' | b'"'
                    )
                {
                    i += 1;
                }
                tokens.push(Token::Word(&text[start..i]));
            }
        }
    }
    Ok(tokens)
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token<'t>>,
    pos: usize,
    max_depth: usize,
    profile: Profile,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<&Token<'t>> {
        self.tokens.get(self.pos)
    }

    /// The next token, taken out (tokens are read once, in order).
    fn next(&mut self) -> Option<Token<'t>> {
        let t = self
            .tokens
            .get_mut(self.pos)
            .map(|t| std::mem::replace(t, Token::Open));
        self.pos += 1;
        t
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, want: Token<'t>, what: &str) -> Result<(), ScimError> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(invalid(
                self.text,
                format!("expected {what}, found {}", describe(&t)),
            )),
            None => Err(invalid(self.text, format!("expected {what} at the end"))),
        }
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let first = self.and_expr(depth)?;
        if !self.peek_keyword("or") {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.peek_keyword("or") {
            self.pos += 1;
            terms.push(self.and_expr(depth)?);
        }
        Ok(Filter::Or(terms))
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let first = self.unary(depth)?;
        if !self.peek_keyword("and") {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.peek_keyword("and") {
            self.pos += 1;
            terms.push(self.unary(depth)?);
        }
        Ok(Filter::And(terms))
    }

    fn nested(&mut self, depth: usize, close: Token<'t>, what: &str) -> Result<Filter, ScimError> {
        if depth >= self.max_depth {
            return Err(invalid(
                self.text,
                format!("nested deeper than the limit of {}", self.max_depth),
            ));
        }
        let inner = self.or_expr(depth + 1)?;
        self.expect(close, what)?;
        Ok(inner)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if self.peek_keyword("not") && self.tokens.get(self.pos + 1) == Some(&Token::Open) {
            self.pos += 2;
            return Ok(Filter::Not(Box::new(self.nested(
                depth,
                Token::Close,
                "')'",
            )?)));
        }
        match self.next() {
            Some(Token::Open) => self.nested(depth, Token::Close, "')'"),
            Some(Token::Word(word)) => {
                let path = AttrPath::parse(word).ok_or_else(|| {
                    invalid(self.text, format!("\"{word}\" is not an attribute path"))
                })?;
                if self.peek() == Some(&Token::OpenBracket) {
                    self.pos += 1;
                    if path.sub.is_some() {
                        return Err(invalid(
                            self.text,
                            format!("a value filter must follow an attribute name, not \"{word}\""),
                        ));
                    }
                    let inner = self.nested(depth, Token::CloseBracket, "']'")?;
                    return Ok(Filter::ValuePath(path, Box::new(inner)));
                }
                let op_word = match self.next() {
                    Some(Token::Word(w)) => w,
                    Some(t) => {
                        return Err(invalid(
                            self.text,
                            format!(
                                "expected an operator after \"{word}\", found {}",
                                describe(&t)
                            ),
                        ));
                    }
                    None => {
                        return Err(invalid(
                            self.text,
                            format!("expected an operator after \"{word}\""),
                        ));
                    }
                };
                if op_word.eq_ignore_ascii_case("pr") {
                    return Ok(Filter::Present(path));
                }
                let op = CompareOp::parse(op_word)
                    .ok_or_else(|| invalid(self.text, format!("unknown operator \"{op_word}\"")))?;
                let value = match self.next() {
                    Some(Token::Str(s)) => CompValue::String(s),
                    Some(Token::Word(w)) => match literal(w) {
                        Some(value) => value,
                        // Entra's reference collection sends `userName sw O` and unquoted
                        // dateTimes: the compatible profile reads a bare word as a string.
                        None if !self.profile.is_strict() => CompValue::String(w.to_string()),
                        None => {
                            return Err(invalid(
                                self.text,
                                format!(
                                    "\"{w}\" is not a value (strings need double quotes; strict profile)"
                                ),
                            ));
                        }
                    },
                    Some(t) => {
                        return Err(invalid(
                            self.text,
                            format!(
                                "expected a value after \"{op_word}\", found {}",
                                describe(&t)
                            ),
                        ));
                    }
                    None => {
                        return Err(invalid(
                            self.text,
                            format!("expected a value after \"{op_word}\""),
                        ));
                    }
                };
                Ok(Filter::Compare(path, op, value))
            }
            Some(t) => Err(invalid(self.text, format!("unexpected {}", describe(&t)))),
            None => Err(invalid(self.text, "expected an expression")),
        }
    }
}

fn literal(word: &str) -> Option<CompValue> {
    if word.eq_ignore_ascii_case("true") {
        Some(CompValue::Bool(true))
    } else if word.eq_ignore_ascii_case("false") {
        Some(CompValue::Bool(false))
    } else if word.eq_ignore_ascii_case("null") {
        Some(CompValue::Null)
    } else if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        serde_json::from_str::<serde_json::Number>(word)
            .ok()
            .map(CompValue::Number)
    } else {
        None
    }
}

fn describe(token: &Token<'_>) -> String {
    match token {
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::OpenBracket => "'['".into(),
        Token::CloseBracket => "']'".into(),
        Token::Str(s) => format!("string {}", serde_json::Value::String(s.clone())),
        Token::Word(w) => format!("\"{w}\""),
    }
}

impl Filter {
    /// Parses a filter with the default profile (compatible) and limits.
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        Filter::parse_with(text, Profile::default(), &Limits::default())
    }

    /// Parses a filter under `profile` (the compatible one reads a bare word that is not
    /// `true`/`false`/`null`/a number as a string), refusing texts longer than
    /// `limits.max_filter_length` bytes or nested deeper than `limits.max_filter_depth`
    /// (400 invalidFilter).
    pub fn parse_with(text: &str, profile: Profile, limits: &Limits) -> Result<Filter, ScimError> {
        if text.len() > limits.max_filter_length {
            return Err(ScimError::invalid_filter(format!(
                "filter is {} bytes, over the limit of {}",
                text.len(),
                limits.max_filter_length
            )));
        }
        let mut parser = Parser {
            text,
            tokens: tokenize(text)?,
            pos: 0,
            max_depth: limits.max_filter_depth,
            profile,
        };
        let filter = parser.or_expr(0)?;
        match parser.next() {
            None => Ok(filter),
            Some(t) => Err(invalid(
                text,
                format!("unexpected {} after the expression", describe(&t)),
            )),
        }
    }

    /// True when a `attr[...]` value filter occurs anywhere in this filter.
    pub fn has_value_path(&self) -> bool {
        match self {
            Filter::Or(terms) | Filter::And(terms) => terms.iter().any(Filter::has_value_path),
            Filter::Not(inner) => inner.has_value_path(),
            Filter::ValuePath(..) => true,
            Filter::Present(_) | Filter::Compare(..) => false,
        }
    }
}

fn write_term(f: &mut fmt::Formatter<'_>, term: &Filter, parenthesize: bool) -> fmt::Result {
    if parenthesize {
        write!(f, "({term})")
    } else {
        write!(f, "{term}")
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Or(terms) => {
                for (i, term) in terms.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write_term(f, term, matches!(term, Filter::Or(_)))?;
                }
                Ok(())
            }
            Filter::And(terms) => {
                for (i, term) in terms.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    write_term(f, term, matches!(term, Filter::Or(_) | Filter::And(_)))?;
                }
                Ok(())
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare(path, op, value) => write!(f, "{path} {} {value}", op.as_str()),
            Filter::ValuePath(path, inner) => write!(f, "{path}[{inner}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;

    fn parse(text: &str) -> Filter {
        Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = parse("a pr or b pr and c pr");
        let Filter::Or(terms) = &f else {
            panic!("{f:?}")
        };
        assert!(matches!(terms[1], Filter::And(_)));
        assert_eq!(f.to_string(), "a pr or b pr and c pr");
    }

    /// Found by fuzzing (fuzz/regressions/path): number literals that are not shortest or exceed
    /// 64 bits printed as a float that parsed back one ulp off, until serde_json parsed floats
    /// correctly rounded (`float_roundtrip`).
    #[test]
    fn long_number_literals_round_trip() {
        for text in [
            "type eq 1111111111111111111111110",
            "x eq 9724.33845257487760000",
            "x eq -1102222222222222.2222222222222222",
            "x eq 32333333333333333333333333333",
        ] {
            let filter = Filter::parse(text).expect("parses");
            let printed = filter.to_string();
            assert_eq!(
                Filter::parse(&printed).expect("parses again"),
                filter,
                "{printed}"
            );
        }
    }

    #[test]
    fn parentheses_and_not_round_trip() {
        for text in [
            "(a pr or b pr) and c pr",
            "not (userName eq \"x\")",
            "a pr and (b pr and c pr)",
            "a pr or (b pr or c pr)",
            "emails[type eq \"work\" and value co \"@example.com\"] or userType eq \"Employee\"",
            "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"",
            "title pr and userType eq \"Intern\"",
            "x eq -1.5 or y eq 7 or z eq true or w ne null",
        ] {
            let f = parse(text);
            assert_eq!(f.to_string(), text);
            assert_eq!(parse(&f.to_string()), f);
        }
    }

    #[test]
    fn keywords_and_literals_are_case_insensitive() {
        assert_eq!(
            parse("userName EQ \"a\" AND active Eq TRUE"),
            parse("userName eq \"a\" and active eq true")
        );
        assert_eq!(parse("NOT(a Pr)"), parse("not (a pr)"));
    }

    #[test]
    fn strings_use_json_escapes() {
        let f = parse(r#"displayName eq "say \"hi\" \\ \u00e9""#);
        assert_eq!(
            f,
            Filter::Compare(
                AttrPath::parse("displayName").unwrap(),
                CompareOp::Eq,
                CompValue::String("say \"hi\" \\ é".into())
            )
        );
        assert_eq!(parse(&f.to_string()), f);
    }

    fn strict(text: &str) -> Result<Filter, ScimError> {
        Filter::parse_with(text, Profile::Strict, &Limits::default())
    }

    #[test]
    fn compatible_reads_bare_words_as_strings() {
        let f = parse("userName sw O");
        assert_eq!(f, parse("userName sw \"O\""));
        assert_eq!(
            parse(
                "name.familyName eq Employee and (emails.value co example.com or emails.value co example.org)"
            ),
            parse(
                "name.familyName eq \"Employee\" and (emails.value co \"example.com\" or emails.value co \"example.org\")"
            )
        );
        assert_eq!(
            parse("meta.created gt 2015-10-10T14:38:21.8617979-07:00"),
            parse("meta.created gt \"2015-10-10T14:38:21.8617979-07:00\"")
        );
        // true, false, null and numbers keep their meaning.
        assert_eq!(
            parse("active eq TRUE and x eq null and y eq 12"),
            Filter::And(vec![
                Filter::Compare(
                    AttrPath::parse("active").unwrap(),
                    CompareOp::Eq,
                    CompValue::Bool(true)
                ),
                Filter::Compare(
                    AttrPath::parse("x").unwrap(),
                    CompareOp::Eq,
                    CompValue::Null
                ),
                Filter::Compare(
                    AttrPath::parse("y").unwrap(),
                    CompareOp::Eq,
                    CompValue::Number(12.into())
                ),
            ])
        );
        for unquoted in [
            "userName sw O",
            "meta.created gt 2015-10-10T14:38:21.8617979-07:00",
        ] {
            let err = strict(unquoted).expect_err(unquoted);
            assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{unquoted}");
        }
    }

    #[test]
    fn rejects_bad_filters_with_invalid_filter() {
        let err = strict("userName eq bob").expect_err("bare word in strict");
        assert_eq!(err.scim_type, Some(ScimType::InvalidFilter));
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName xx \"a\"",
            "(a pr",
            "a pr)",
            "a pr and",
            "\"a\" eq \"b\"",
            "a eq \"unterminated",
            "emails[type eq \"a\"",
            "a.b.c pr",
            "not a pr",
        ] {
            let err = Filter::parse(bad).expect_err(bad);
            assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{bad}");
        }
    }

    #[test]
    fn limits_depth_and_length() {
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            Filter::parse(&deep).unwrap_err().scim_type,
            Some(ScimType::InvalidFilter)
        );
        let long = vec!["a pr"; 10_000].join(" or ");
        assert_eq!(
            Filter::parse(&long).unwrap_err().scim_type,
            Some(ScimType::InvalidFilter)
        );
        let ok = vec!["value eq \"2819c223-7f76-453a-919d-413861904646\""; 1000].join(" or ");
        assert!(ok.len() > 50_000);
        assert!(Filter::parse(&ok).is_ok());
    }
}
