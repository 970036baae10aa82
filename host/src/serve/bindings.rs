//! Host bindings for the Spin interfaces in `src/serve/wit` (`spin:key-value@3.0.0`,
//! `spin:variables@3.0.0`, `wasi:keyvalue@0.2.0-draft2`).

#![allow(missing_docs, reason = "generated code")]

wasmtime::component::bindgen!({
    path: "src/serve/wit",
    world: "scim:spin-host/spin-host",
    imports: {
        // Synchronous WIT functions that do database I/O: implemented as Rust `async` (on a
        // fiber), so the SQLite work can run on the blocking pool.
        "wasi:keyvalue/store": async,
        "wasi:keyvalue/atomics": async,
        "wasi:keyvalue/batch": async,
        // Creating the stream and future can fail in the runtime (a full table): a trap.
        "spin:key-value/key-value.[method]store.get-keys": async | store | trappable,
    },
    with: {
        "spin:key-value/key-value.store": crate::serve::state::OpenStore,
        "wasi:keyvalue/store.bucket": crate::serve::state::OpenStore,
        "wasi:keyvalue/atomics.cas": crate::serve::state::CasHandle,
    },
});
