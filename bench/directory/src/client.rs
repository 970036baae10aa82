//! One client of the harness: a keep-alive HTTP/1.1 connection to a SCIM node, sending the
//! bearer token, timing each exchange.

use std::time::{Duration, Instant};

use anyhow::Context;
use ureq::Agent;

/// A request's outcome: its status, its body, how long it took.
#[derive(Debug)]
pub struct Exchange {
    /// The HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
    /// From sending to the end of the body.
    pub elapsed: Duration,
}

impl Exchange {
    /// The body as JSON (an empty body, as a 204 has, is `null`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A client of one node (one keep-alive connection): `base` is the node's URL up to and including `/scim/v2`.
pub struct Client {
    agent: Agent,
    base: String,
    authorization: String,
}

impl Client {
    /// A client with its own connection pool (so one connection, kept alive).
    pub fn new(base: &str, token: &str) -> Client {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections_per_host(1)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Client {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {token}"),
        }
    }

    /// Sends `method path` (path relative to `/scim/v2`, already percent-encoded) with an
    /// optional JSON body.
    pub fn send(&self, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<Exchange> {
        let url = format!("{}{path}", self.base);
        let started = Instant::now();
        let result = match (method, body) {
            ("GET", _) => self.with_headers(self.agent.get(&url)).call(),
            ("DELETE", _) => self.with_headers(self.agent.delete(&url)).call(),
            ("POST", Some(body)) => self.with_headers(self.agent.post(&url)).send(body),
            ("PUT", Some(body)) => self.with_headers(self.agent.put(&url)).send(body),
            ("PATCH", Some(body)) => self.with_headers(self.agent.patch(&url)).send(body),
            _ => anyhow::bail!(
                "the harness cannot send {method} with{} a body",
                if body.is_some() { "" } else { "out" }
            ),
        };
        let mut response = result.with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .with_context(|| format!("reading the answer to {method} {url}"))?;
        Ok(Exchange {
            status,
            body,
            elapsed: started.elapsed(),
        })
    }

    fn with_headers<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        request
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/scim+json")
            .header("Accept", "application/scim+json")
    }
}
