fn main() -> std::process::ExitCode {
    writeback::cli::main()
}
