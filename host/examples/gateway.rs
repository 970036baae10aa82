//! A gateway in front of a SCIM application that only understands PUT: it applies each
//! identity provider's PATCH to the stored user inside the engine's sandbox and forwards the
//! full resource. One compiled engine is shared by all worker threads; each keeps its own
//! patcher. A hostile body costs the caller a 4xx or 413/500, never the gateway.
//!
//! `cargo run -p scim-host --example gateway`

use std::sync::mpsc;
use std::thread;

use scim_host::{HostError, PatchEngine, Patcher, PatcherConfig};

/// What the gateway does with one incoming PATCH.
#[derive(Debug)]
enum Outcome {
    /// Send `PUT` with this body upstream.
    Forward(String),
    /// Answer the client directly with this status and SCIM Error body.
    Reject(u16, String),
}

/// Patches `stored` with the client's `body`: the whole job of the gateway's PATCH route.
fn handle_patch(patcher: &mut Patcher, stored: &str, body: &str) -> Outcome {
    match patcher.apply(stored, body) {
        Ok(Ok(patched)) => Outcome::Forward(patched),
        // The engine refused the patch: the client gets the SCIM error (400, 409, ...).
        Ok(Err(scim_error)) => Outcome::Reject(scim_error.status, scim_error.to_json()),
        // The sandbox stopped the call (too large, out of fuel or memory, a trap).
        Err(error @ HostError::InputTooLarge { .. }) => Outcome::Reject(413, error.to_string()),
        Err(error) => Outcome::Reject(500, error.to_string()),
    }
}

fn main() -> Result<(), HostError> {
    let stored = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223",
        "userName":"bjensen","active":true,"emails":[{"value":"bjensen@example.com","type":"work"}]}"#;
    let requests = [
        // Entra ID deactivating the user (booleans as strings, accepted in the default profile).
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"Replace","path":"active","value":"False"}]}"#,
        // Okta changing the work email through a value filter.
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
            {"op":"replace","path":"emails[type eq \"work\"].value","value":"babs@example.com"}]}"#,
        // A client trying to change a read-only attribute.
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"replace","path":"id","value":"mine-now"}]}"#,
        "not JSON at all",
    ];

    let engine = PatchEngine::new()?; // compiled once, shared (Send + Sync)
    let (to_log, log) = mpsc::channel();
    thread::scope(|scope| {
        for (worker, body) in requests.iter().enumerate() {
            let (engine, to_log) = (engine.clone(), to_log.clone());
            scope.spawn(move || {
                let outcome = engine
                    .patcher(&PatcherConfig::default())
                    .map(|mut patcher| handle_patch(&mut patcher, stored, body));
                let _ = to_log.send((worker, outcome));
            });
        }
    });
    drop(to_log);
    let mut outcomes: Vec<_> = log.into_iter().collect();
    outcomes.sort_by_key(|(worker, _)| *worker);
    for (worker, outcome) in outcomes {
        match outcome? {
            Outcome::Forward(body) => println!("request {worker}: PUT upstream {body}"),
            Outcome::Reject(status, body) => println!("request {worker}: {status} {body}"),
        }
    }
    Ok(())
}
