//! [`Framer`]: follows HTTP/1.1 request framing (heads, `Content-Length` and chunked bodies) on
//! a connection's incoming bytes, and checks every request head against [`HeadLimits`] before
//! hyper sees it.
//!
//! hyper answers a head it cannot parse, or one over its own limits, by itself, with an empty
//! body (400, 414 or 431). Checking each head first, with the same parser (`httparse`) and the
//! same rules, lets serve answer those with a SCIM Error document instead. Bodies are not
//! checked, only counted, so that the next head is found; a body whose framing this cannot
//! follow (hyper refuses it and closes the connection) makes the rest of the connection pass
//! through unchecked.

use http::StatusCode;

use super::config::HeadLimits;

/// The longest chunk-size line or trailer line followed before giving up on a chunked body.
const MAX_FRAMING_LINE: usize = 8 << 10;

/// Where the connection's incoming bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Between messages: the next bytes are a request head.
    Head,
    /// In a body with this many bytes left.
    Fixed(u64),
    /// At a chunk-size line.
    ChunkSize,
    /// In a chunk's data with this many bytes left (then its CRLF).
    ChunkData(u64),
    /// At the trailer section of a chunked body (ends with an empty line).
    Trailer,
    /// Past what can be followed (an upgrade, a framing error): everything passes through.
    Opaque,
}

/// What to do with the bytes at the front of the connection's buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The first `n` (> 0) bytes may go to hyper.
    Release(usize),
    /// More bytes are needed to decide.
    NeedMore,
    /// The request head is refused: answer this instead of passing it on.
    Refuse(Refusal),
}

/// A refused request head: the status and the detail of the SCIM error that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// 400, 414 or 431.
    pub(crate) status: StatusCode,
    /// What was wrong, for the client.
    pub(crate) detail: String,
}

impl Refusal {
    fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Refusal {
            status,
            detail: detail.into(),
        }
    }
}

/// The framing state of one connection's incoming bytes.
#[derive(Debug)]
pub(crate) struct Framer {
    position: Position,
    limits: HeadLimits,
}

impl Framer {
    /// A framer at the start of a connection (expecting a head).
    pub(crate) fn new(limits: HeadLimits) -> Self {
        Framer {
            position: Position::Head,
            limits,
        }
    }

    /// Decides about `bytes`, the connection's next bytes not yet released.
    pub(crate) fn step(&mut self, bytes: &[u8]) -> Step {
        loop {
            match self.position {
                Position::Head => return self.head(bytes),
                Position::Fixed(0) => self.position = Position::Head,
                Position::Fixed(left) => {
                    let (step, rest) = release_counted(bytes, left);
                    self.position = Position::Fixed(rest);
                    return step;
                }
                Position::ChunkSize => return self.chunk_size(bytes),
                Position::ChunkData(left) => {
                    let (step, rest) = release_counted(bytes, left);
                    self.position = match rest {
                        0 => Position::ChunkSize,
                        rest => Position::ChunkData(rest),
                    };
                    return step;
                }
                Position::Trailer => return self.trailer(bytes),
                Position::Opaque if bytes.is_empty() => return Step::NeedMore,
                Position::Opaque => return Step::Release(bytes.len()),
            }
        }
    }

    fn head(&mut self, bytes: &[u8]) -> Step {
        let mut headers = vec![httparse::EMPTY_HEADER; self.limits.max_headers];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(bytes) {
            Ok(httparse::Status::Complete(len)) => {
                if len > self.limits.max_head_bytes {
                    return Step::Refuse(self.head_too_large());
                }
                match self.body_after(&request) {
                    Ok(position) => {
                        self.position = position;
                        Step::Release(len)
                    }
                    Err(refusal) => Step::Refuse(refusal),
                }
            }
            Ok(httparse::Status::Partial) => self.partial_head(bytes),
            Err(httparse::Error::TooManyHeaders) => Step::Refuse(Refusal::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "the request has more than {} header fields",
                    self.limits.max_headers
                ),
            )),
            Err(error) => Step::Refuse(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("the request is not valid HTTP/1.1 ({error})"),
            )),
        }
    }

    /// An incomplete head: wait for more, unless it is already over a limit.
    fn partial_head(&self, bytes: &[u8]) -> Step {
        let start = bytes
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .unwrap_or(bytes.len());
        let request_line_open = !bytes[start..].contains(&b'\n');
        // The method, the spaces and `HTTP/1.1` around the target.
        let max_request_line = self.limits.max_uri_bytes + 64;
        if request_line_open && bytes.len() - start > max_request_line {
            return Step::Refuse(self.uri_too_long(bytes.len() - start));
        }
        if bytes.len() > self.limits.max_head_bytes {
            return Step::Refuse(self.head_too_large());
        }
        Step::NeedMore
    }

    /// Checks a complete head as hyper will, and says where its body ends.
    fn body_after(&self, request: &httparse::Request<'_, '_>) -> Result<Position, Refusal> {
        let bad = |detail: &str| Refusal::new(StatusCode::BAD_REQUEST, detail);
        let path = request.path.unwrap_or_default();
        if path.len() > self.limits.max_uri_bytes {
            return Err(self.uri_too_long(path.len()));
        }
        if http::Uri::try_from(path).is_err() {
            return Err(bad("the request target is not a valid URI"));
        }
        let http_11 = request.version == Some(1);
        let mut chunked = None;
        let mut length = None;
        let mut upgrade = request.method == Some("CONNECT");
        for header in request.headers.iter() {
            if header.name.eq_ignore_ascii_case("transfer-encoding") {
                if !http_11 {
                    return Err(bad("HTTP/1.0 requests cannot have a Transfer-Encoding"));
                }
                chunked = Some(ends_in_chunked(header.value));
            } else if header.name.eq_ignore_ascii_case("content-length") {
                let value = std::str::from_utf8(header.value)
                    .ok()
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|n| *n <= u64::MAX - 2)
                    .ok_or_else(|| bad("the Content-Length is not a number of bytes"))?;
                if length.is_some_and(|previous| previous != value) {
                    return Err(bad("the request has two different Content-Lengths"));
                }
                length = Some(value);
            } else if header.name.eq_ignore_ascii_case("upgrade") {
                upgrade |= http_11;
            }
        }
        Ok(match (chunked, length) {
            _ if upgrade => Position::Opaque,
            (Some(false), _) => {
                return Err(bad(
                    "the request's Transfer-Encoding does not end in chunked",
                ));
            }
            (Some(true), _) => Position::ChunkSize,
            (None, length) => Position::Fixed(length.unwrap_or(0)),
        })
    }

    fn chunk_size(&mut self, bytes: &[u8]) -> Step {
        match httparse::parse_chunk_size(bytes) {
            Ok(httparse::Status::Complete((len, 0))) => {
                self.position = Position::Trailer;
                Step::Release(len)
            }
            Ok(httparse::Status::Complete((len, size))) => {
                // The data, then its CRLF (hyper checks that it is one).
                self.position = Position::ChunkData(size.saturating_add(2));
                Step::Release(len)
            }
            Ok(httparse::Status::Partial) if bytes.len() <= MAX_FRAMING_LINE => Step::NeedMore,
            Ok(httparse::Status::Partial) | Err(_) => self.give_up(bytes),
        }
    }

    fn trailer(&mut self, bytes: &[u8]) -> Step {
        match bytes.iter().position(|b| *b == b'\n') {
            Some(end) => {
                if matches!(&bytes[..end], b"" | b"\r") {
                    self.position = Position::Head;
                }
                Step::Release(end + 1)
            }
            None if bytes.len() <= MAX_FRAMING_LINE => Step::NeedMore,
            None => self.give_up(bytes),
        }
    }

    /// Framing this cannot follow: hyper will refuse the body and close the connection; until
    /// then, everything passes.
    fn give_up(&mut self, bytes: &[u8]) -> Step {
        self.position = Position::Opaque;
        self.step(bytes)
    }

    fn uri_too_long(&self, len: usize) -> Refusal {
        Refusal::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the request target is {len} bytes or more, over the limit of {} bytes",
                self.limits.max_uri_bytes
            ),
        )
    }

    fn head_too_large(&self) -> Refusal {
        Refusal::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "the request head is over the limit of {} bytes",
                self.limits.max_head_bytes
            ),
        )
    }
}

/// Releases up to `left` bytes of a counted stretch (a body, a chunk); also answers how many
/// are left after.
fn release_counted(bytes: &[u8], left: u64) -> (Step, u64) {
    if bytes.is_empty() {
        return (Step::NeedMore, left);
    }
    let n = usize::try_from(left).map_or(bytes.len(), |left| left.min(bytes.len()));
    (Step::Release(n), left - n as u64)
}

/// Whether a `Transfer-Encoding` value's last coding is `chunked` (hyper's rule).
fn ends_in_chunked(value: &[u8]) -> bool {
    value
        .rsplit(|b| *b == b',')
        .next()
        .map(<[u8]>::trim_ascii)
        .is_some_and(|last| last.eq_ignore_ascii_case(b"chunked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framer() -> Framer {
        Framer::new(HeadLimits {
            max_uri_bytes: 64,
            max_head_bytes: 256,
            max_headers: 4,
        })
    }

    /// Feeds `input` through a framer one step at a time; answers the released pieces, and the
    /// refusal if one came.
    fn run(framer: &mut Framer, input: &[u8]) -> (Vec<Vec<u8>>, Option<Refusal>) {
        let mut at = 0;
        let mut released = Vec::new();
        loop {
            match framer.step(&input[at..]) {
                Step::Release(n) => {
                    assert!(n > 0);
                    released.push(input[at..at + n].to_vec());
                    at += n;
                }
                Step::NeedMore => return (released, None),
                Step::Refuse(refusal) => return (released, Some(refusal)),
            }
        }
    }

    #[test]
    fn heads_and_fixed_bodies_are_released_message_by_message() {
        let input = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
        let (released, refusal) = run(&mut framer(), input);
        assert_eq!(refusal, None);
        assert_eq!(
            released,
            [
                &b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\n"[..],
                b"abc",
                b"GET /b HTTP/1.1\r\n\r\n"
            ]
        );
    }

    #[test]
    fn a_chunked_body_is_followed_to_the_next_head() {
        let input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
                      3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\nBAD\r\n\r\n";
        let (released, refusal) = run(&mut framer(), input);
        assert_eq!(released.concat(), &input[..input.len() - 7]);
        assert_eq!(refusal.map(|r| r.status), Some(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn a_partial_head_waits_for_more() {
        let mut framer = framer();
        assert_eq!(framer.step(b"GET /a HTTP/1.1\r\nHost: x"), Step::NeedMore);
        assert_eq!(framer.step(b""), Step::NeedMore);
    }

    #[test]
    fn heads_over_a_limit_or_unparsable_are_refused() {
        let refused = |input: &[u8]| run(&mut framer(), input).1.map(|r| r.status);
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100));
        assert_eq!(
            refused(long_target.as_bytes()),
            Some(StatusCode::URI_TOO_LONG)
        );
        let unfinished_target = format!("GET /{}", "a".repeat(200));
        assert_eq!(
            refused(unfinished_target.as_bytes()),
            Some(StatusCode::URI_TOO_LONG)
        );
        let big_header = format!("GET / HTTP/1.1\r\nX: {}\r\n", "v".repeat(300));
        assert_eq!(
            refused(big_header.as_bytes()),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let many = "GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n";
        assert_eq!(
            refused(many.as_bytes()),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        for bad in [
            &b"hello there\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        ] {
            assert_eq!(
                refused(bad),
                Some(StatusCode::BAD_REQUEST),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn an_upgrade_passes_everything_through() {
        let input = b"GET / HTTP/1.1\r\nUpgrade: x\r\n\r\nnot http at all";
        let (released, refusal) = run(&mut framer(), input);
        assert_eq!(refusal, None);
        assert_eq!(released.concat(), input);
    }
}
