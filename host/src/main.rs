//! `scim-host`: command-line front end of the scim-patch wasmtime host.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
