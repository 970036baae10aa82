//! afl target: see `scim_patch_fuzz::check_path`.
fn main() {
    afl::fuzz!(|data: &[u8]| scim_patch_fuzz::check_path(data));
}
