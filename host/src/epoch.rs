//! The thread that advances an engine's epoch, which epoch-interruption deadlines count in.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::Engine;

/// Starts a thread that advances `engine`'s epoch every `tick` until `stop` is set or the engine
/// (all its clones, stores and instances) is dropped. A plain thread, so that guests keeping an
/// async runtime's workers busy cannot delay their own deadline.
pub(crate) fn start_ticker(
    engine: &Engine,
    tick: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("scim-host-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
}
