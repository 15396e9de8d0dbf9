//! The command line, as a library function: the gate's own `main.rs` and a
//! team's `xtask` (`fn main() -> ExitCode { wasm_budget_gate::main() }`)
//! call the same thing. Only parses arguments and dispatches; each command
//! is one hop away, in `cmd::*`.

use crate::cmd::{attribute, budget, calibrate, merge};
use crate::ledger;
use std::process::ExitCode;

const USAGE: &str = "usage:
  cargo xtask budget [--profile NAME]... [--env NAME]... [--quick] [--bless [--force]]
                     [--against REF] [--budgets FILE] [--reports DIR]
                     [--browser-ws URL [--harness-addr IP]]
  cargo xtask size   [--profile NAME]... [--budgets FILE] [--reports DIR] [--bless [--force]]
  cargo xtask attribute FILE.wasm [--diff OLD.wasm] [--twin NAMED.wasm] [--top N] [--out DIR]
  cargo xtask merge  SHARD.json... [--budgets FILE] [--reports DIR]
  cargo xtask calibrate [--runs N] [--aa-runs N] [--inject-pct P] [--profile NAME]... [--env NAME]...
                     [--metric ID]... [--budgets FILE] [--reports DIR]

timings are compared live with a base: --against REF (built in a git
worktree), else the blessed baseline's artifacts (reports/baseline/)

the harness page is served on 127.0.0.1: a --browser-ws browser must run on
this machine, unless --harness-addr binds an address it can reach (which
exposes the run's files to that network while it lasts)

exit codes: 0 every metric pass or warn; 1 a metric fails its budget;
            2 the gate could not do its job (config, build, browser, ledger)";

/// The whole command line: parse `std::env::args`, run the command, map its
/// outcome to the exit code (0 pass/warn, 1 fail, 2 could not run).
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("budget") => budget::Options::parse(&args[1..], true).and_then(budget::run),
        Some("size") => budget::Options::parse(&args[1..], false).and_then(budget::run),
        Some("attribute") => attribute::cli(&args[1..]),
        Some("merge") => merge::cli(&args[1..]),
        Some("calibrate") => calibrate::cli(&args[1..]),
        // Internal test hook (not in usage): N locked ledger appends, for the
        // crash-safety and concurrency tests of the ledger.
        Some("__ledger-stress") => ledger::stress_cli(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            eprintln!("(exit 2: the gate could not do its job; this is never a pass)");
            ExitCode::from(2)
        }
    }
}
