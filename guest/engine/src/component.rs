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
static ALLOCATOR: talc::cell::TalcSyncCell<talc::wasm::WasmGrowAndExtend, InlineWasmBinning> =
    talc::cell::TalcSyncCell::new_wasm(talc::wasm::WasmGrowAndExtend::new());

/// Talc's bins for wasm (`talc::wasm::WasmBinning`: the same bitfield and size classes) with the
/// size-to-bin mapping inlined: Talc asks it on every allocation and free, and as a call it costs
/// a function entry (and the host's epoch check) each time.
struct InlineWasmBinning;

impl talc::base::binning::Binning for InlineWasmBinning {
    type AvailabilityBitField = u64;

    #[inline(always)]
    fn size_to_bin(size: usize) -> u32 {
        talc::base::binning::linear_extent_then_linearly_divided_exponential_binning::<2, 8>(size)
    }
}

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
