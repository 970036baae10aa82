//! The SCIM Error responses serve's HTTP layer answers by itself (RFC 7644 §3.12): outside the
//! route, for a request head it refuses, and for a request the component could not answer.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::ScimErrorDoc;

/// The content type of every error document.
const SCIM_JSON: &str = "application/scim+json";

/// The error document for `status` with `detail`, as JSON text.
fn document(status: StatusCode, detail: &str) -> String {
    ScimErrorDoc {
        status: status.as_u16(),
        scim_type: None,
        detail: detail.to_owned(),
    }
    .to_json()
}

/// A SCIM Error response with this status and detail, for hyper to send.
pub(crate) fn response(status: StatusCode, detail: &str) -> Response<Full<Bytes>> {
    with_body(status, Bytes::from(document(status, detail)))
}

/// A response with this status and an error document already rendered.
pub(crate) fn with_body(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// The complete HTTP/1.1 bytes of a SCIM Error response that closes the connection, for a
/// request hyper never saw.
pub(crate) fn raw(status: StatusCode, detail: &str) -> Vec<u8> {
    let body = document(status, detail);
    let mut bytes = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {SCIM_JSON}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_response_is_complete_and_closes() {
        let raw = String::from_utf8(raw(StatusCode::URI_TOO_LONG, "too long")).expect("UTF-8");
        let (head, body) = raw.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("connection: close"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(
            body,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"too long","status":"414"}"#
        );
    }
}
