//! The `engine` binary: parses the command line and hands over to [`ocsf_engine::cli`].

fn main() -> std::process::ExitCode {
    ocsf_engine::allocator::tune();
    ocsf_engine::cli::main()
}
