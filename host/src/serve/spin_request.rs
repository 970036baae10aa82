//! What Spin adds to a request before the component sees it: an absolute URI and the `spin-*`
//! headers, from the route and the connection.

use std::borrow::Cow;
use std::net::SocketAddr;

use http::Request;
use http::Uri;
use http::header::{HOST, HeaderName, HeaderValue};
use http::uri::{Authority, Scheme};

use super::config::Route;

/// Gives the request an absolute URI (`http://HOST/...`, as Spin passes it) and Spin's
/// `spin-*` headers (replacing any the client sent).
pub(crate) fn prepare<B>(
    route: &Route,
    local_addr: SocketAddr,
    peer: SocketAddr,
    path_info: &str,
    request: Request<B>,
) -> Result<Request<B>, String> {
    let (mut parts, body) = request.into_parts();
    let host = parts
        .headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<Authority>().ok())
        .unwrap_or_else(|| {
            // The listen address always parses as an authority.
            local_addr
                .to_string()
                .parse()
                .unwrap_or_else(|_| Authority::from_static("localhost"))
        });
    let path_and_query = parts
        .uri
        .path_and_query()
        .cloned()
        .ok_or("the request has no path")?;
    let full_url = format!("http://{host}{path_and_query}");
    parts.uri = Uri::builder()
        .scheme(Scheme::HTTP)
        .authority(host)
        .path_and_query(path_and_query)
        .build()
        .map_err(|e| format!("invalid request URI: {e}"))?;

    let spin_headers: [(&str, Cow<'_, str>); 7] = [
        ("spin-path-info", path_info.into()),
        ("spin-full-url", full_url.into()),
        ("spin-matched-route", route.raw().into()),
        ("spin-base-path", "/".into()),
        ("spin-raw-component-route", route.raw().into()),
        ("spin-component-route", route.component_route().into()),
        ("spin-client-addr", peer.to_string().into()),
    ];
    for (name, value) in spin_headers {
        let value = HeaderValue::from_str(&value)
            .map_err(|e| format!("cannot send {name} {value:?}: {e}"))?;
        parts.headers.insert(HeaderName::from_static(name), value);
    }
    Ok(Request::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_spin_headers_and_an_absolute_uri() {
        let request = Request::get("/scim/v2/Users?filter=x")
            .header(HOST, "example.test:8080")
            .header("spin-path-info", "/spoofed")
            .body(())
            .expect("request");
        let local: SocketAddr = "127.0.0.1:3000".parse().expect("addr");
        let peer: SocketAddr = "127.0.0.1:5555".parse().expect("addr");
        let route = Route::default();
        let prepared = prepare(&route, local, peer, "/Users", request).expect("prepare");
        assert_eq!(
            prepared.uri().to_string(),
            "http://example.test:8080/scim/v2/Users?filter=x"
        );
        let header = |name: &str| {
            prepared
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("spin-path-info").as_deref(), Some("/Users"));
        assert_eq!(
            header("spin-full-url").as_deref(),
            Some("http://example.test:8080/scim/v2/Users?filter=x")
        );
        assert_eq!(
            header("spin-matched-route").as_deref(),
            Some("/scim/v2/...")
        );
        assert_eq!(
            header("spin-raw-component-route").as_deref(),
            Some("/scim/v2/...")
        );
        assert_eq!(header("spin-component-route").as_deref(), Some("/scim/v2"));
        assert_eq!(header("spin-base-path").as_deref(), Some("/"));
        assert_eq!(
            header("spin-client-addr").as_deref(),
            Some("127.0.0.1:5555")
        );
        assert_eq!(
            prepared.headers().get_all("spin-path-info").iter().count(),
            1
        );
    }

    #[test]
    fn falls_back_to_the_listen_address_without_a_host_header() {
        let request = Request::get("/scim/v2").body(()).expect("request");
        let local: SocketAddr = "127.0.0.1:3000".parse().expect("addr");
        let prepared = prepare(&Route::default(), local, local, "", request).expect("prepare");
        assert_eq!(prepared.uri().to_string(), "http://127.0.0.1:3000/scim/v2");
    }
}
