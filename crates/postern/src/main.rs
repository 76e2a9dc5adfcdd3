//! `postern`: the one binary. Parses the command line, runs the command, and
//! reports any failure on stderr as `postern: <message>` with a non-zero exit.
//! Deliberately synchronous: `serve` builds its own runtime.

mod cli;
mod cmd;
mod error;
mod fetch;
mod serve;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: under imaptest's stress mix glibc's
/// malloc, free and their consolidation were ~13 % of the server's CPU, and
/// ~7 % with mimalloc (issue 18); 10,000 idle IMAPS sessions cost 20.8 KiB
/// each with it, against 17.7 KiB with glibc (the limit is 30).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for a command that failed.
const EXIT_FAILURE: u8 = 1;
/// Exit code for a command line that does not parse (clap's convention).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let mut stdout = std::io::stdout().lock();
    match cmd::run(cli, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("postern: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Help and version go out as clap prints them; real usage errors get our prefix.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.exit_code() == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_USAGE)
        };
    }
    let text = e.render().to_string();
    eprint!("postern: {}", text.strip_prefix("error: ").unwrap_or(&text));
    ExitCode::from(EXIT_USAGE)
}
