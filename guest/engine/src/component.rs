//! The WIT export glue (`scim:patch/engine`), compiled only for wasm32.
use crate::{Engine, ScimError};

wit_bindgen::generate!({
    path: "../../wit",
    world: "patch-engine",
});

use exports::scim::patch::engine as wit;

/// The engine allocates many small strings and maps per call; Talc serves them in far fewer
/// wasm instructions than wasi-libc's dlmalloc (measured in the README's benchmarks).
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

struct Component;

impl wit::Guest for Component {
    type Patcher = Patcher;
}

/// One configured engine instance behind the WIT `patcher` resource.
struct Patcher(Engine);

fn to_wit(e: ScimError) -> wit::ScimError {
    wit::ScimError {
        status: e.status,
        scim_type: e.scim_type.map(|t| t.as_str().to_string()),
        detail: e.message(),
    }
}

impl wit::GuestPatcher for Patcher {
    fn create(config: String) -> Result<wit::Patcher, wit::ScimError> {
        Engine::from_config_json(&config)
            .map(|e| wit::Patcher::new(Patcher(e)))
            .map_err(to_wit)
    }

    fn apply(&self, resource: String, patch: String) -> Result<String, wit::ScimError> {
        self.0.apply_json(&resource, &patch).map_err(to_wit)
    }

    fn matches(&self, resource: String, filter: String) -> Result<bool, wit::ScimError> {
        self.0.matches_json(&resource, &filter).map_err(to_wit)
    }
}

export!(Component);
