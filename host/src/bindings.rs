//! Host bindings generated from `wit/engine.wit`, world `patch-engine`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "patch-engine",
});
