//! The `yipanqi` command: the hub (`run`), the integrator's offline translator
//! (`translate`), simulated provincial systems (`simulate`) and the first-run demo
//! (`demo`). Every failure ends in one sentence on stderr and a non-zero exit.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = yipanqi::cli::Cli::parse();
    // The demo prints its own progress and summary; the hub inside it only warns.
    let default_level = match cli.command {
        yipanqi::cli::Command::Demo(_) => "warn",
        _ => "info",
    };
    yipanqi::telemetry::init_logging(cli.log_format, default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("yipanqi: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(yipanqi::cli::execute(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("yipanqi: {}", sentence(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes in one line, each cause once: many errors already quote
/// their source, which `{:#}` would repeat.
fn sentence(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}
