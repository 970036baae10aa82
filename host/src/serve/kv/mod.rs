//! The key-value storage behind `spin:key-value` and `wasi:keyvalue`.

mod sqlite;

pub use sqlite::{KvError, SqliteKv, SwapOutcome};
