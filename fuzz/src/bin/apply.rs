//! afl target: see `scim_patch_fuzz::check_apply`.
fn main() {
    afl::fuzz!(|data: &[u8]| scim_patch_fuzz::check_apply(data));
}
