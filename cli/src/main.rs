//! `rld`: see the library crate for what each command does.

use std::process::ExitCode;

fn main() -> ExitCode {
    match rld::run(std::env::args_os().skip(1).collect()) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("rld: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
