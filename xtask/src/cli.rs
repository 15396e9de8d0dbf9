//! The command line, as a library function: the gate's own `main.rs` and a
//! team's `xtask` (`fn main() -> ExitCode { wasm_budget_gate::main() }`)
//! call the same thing. Only parses arguments and dispatches; each command
//! is one hop away, in `cmd::*`.

use crate::cmd::{aa, advise, attribute, bisect, budget, calibrate, init, merge};
use std::process::ExitCode;

/// Each command's usage, for `cargo xtask help` and `cargo xtask <command> --help`.
const COMMANDS: &[(&str, &str)] = &[
    (
        "init",
        "cargo xtask init   [--manifest PATH] [--package NAME] [--out DIR] [--force]
    write budgets.toml and profiles/ for an existing crate (sizes measured,
    built-in scenarios wired to its exports); edits none of the crate's files",
    ),
    (
        "budget",
        "cargo xtask budget [--profile NAME]... [--env NAME]... [--quick] [--bless [--force]]
                   [--against REF] [--fresh] [--budgets FILE] [--reports DIR]
                   [--browser-ws URL] [--webdriver-url URL] [--harness-addr IP]
    the whole gate: build, optimize, size, attribute, measure, gate, report
    --quick      fewer iterations: never escalates, writes no ledger, never exits 1
    --bless      write reports/baseline.json and the artifacts later runs compare with
    --against    build REF in a git worktree and compare with it live
    --fresh      measure every key and base, even identical inputs measured before
    --budgets    the budgets file (default: budgets.toml here or above)",
    ),
    (
        "size",
        "cargo xtask size   [--profile NAME]... [--budgets FILE] [--reports DIR] [--bless [--force]]
    the size half only (build, optimize, size, attribute, gate): no browser",
    ),
    (
        "attribute",
        "cargo xtask attribute FILE.wasm [--diff OLD.wasm] [--twin NAMED.wasm] [--top N] [--out DIR]
    where the bytes of any wasm file go (functions, crates, retained size), optionally diffed",
    ),
    (
        "advise",
        "cargo xtask advise [--profile NAME]... [--timing [--env NAME]...] [--budgets FILE] [--reports DIR]
    the standard size remedies, each built and measured against the profile as
    configured (opt-level, LTO, codegen units, panic, wasm-opt level, --converge,
    stripping), with where the bytes went, and the advice attribution gives;
    --timing also times cold init of each variant against the profile, live
    (minutes; the first cold-init metric of budgets.toml, or those of --env);
    writes reports/advise/advice.md and advice.json; edits nothing in the crate",
    ),
    (
        "merge",
        "cargo xtask merge  SHARD.json... [--budgets FILE] [--reports DIR]
    merge shard summaries (histograms exactly) and gate the union",
    ),
    (
        "calibrate",
        "cargo xtask calibrate [--runs N] [--aa-runs N] [--inject-pct P] [--profile NAME]... [--env NAME]...
                   [--metric ID]... [--budgets FILE] [--reports DIR]
    A/A false-regression and injected-slowdown detection rates of the timing verdicts",
    ),
    (
        "aa",
        "cargo xtask aa     [--runs N] [--profile NAME]... [--env NAME]... [--budgets FILE] [--reports DIR]
    the A/A benchmark: N whole `budget --against HEAD --fresh` runs (default 5, reports under
    reports/aa/); per run the light, the count of each live verdict and the cost
    (seconds inside timed windows against wall seconds); exit 1 if a comparison read regressed",
    ),
    (
        "bisect",
        "cargo xtask bisect --good REF --bad REF --metric ID [--profile NAME] [--env NAME]
                   [--threshold X] [--retries N] [--budgets FILE] [--reports DIR]
    find the commit that regressed one metric: each tested commit built in its own
    worktree; sizes compared exactly, timings live against both ends of the range
    --threshold  size: growth over the good end that marks a commit bad (default: half the range's)
    --retries    timing: re-measure an inconclusive step with twice the blocks, N times (default 1)
    exit 0 found (a commit, candidates around skipped ones, or small steps); 1 the ends
    do not differ; 2 could not run, or a step stayed inconclusive",
    ),
];

const NOTES: &str = "timings are compared live with a base: --against REF (built in a git
worktree), else the blessed baseline's artifacts (reports/baseline/)

browsers started elsewhere: --browser-ws ws://HOST:PORT/devtools/browser/ID
(a Chromium, for the Chromium environments), --webdriver-url http://HOST:PORT
(a WebDriver endpoint of a WebKit: safaridriver, WebKitWebDriver, a Grid node,
for the WebKit environments). The harness page is served on 127.0.0.1: such
a browser must run on this machine, unless --harness-addr binds an address it
can reach (which exposes the run's files to that network while it lasts)

exit codes: 0 every metric pass or warn; 1 a metric fails its budget;
            2 the gate could not do its job (config, build, browser, ledger)";

fn usage() -> String {
    let mut s = String::from("usage:\n");
    for (_, u) in COMMANDS {
        s.push_str("  ");
        s.push_str(&u.replace('\n', "\n  "));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(NOTES);
    s
}

/// The whole command line: parse `std::env::args`, run the command, map its
/// outcome to the exit code (0 pass/warn, 1 fail, 2 could not run).
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo xtask <command> --help` (or -h): that command's usage, exit 0.
    if let Some((_, u)) = args
        .first()
        .and_then(|c| COMMANDS.iter().find(|(n, _)| n == c))
    {
        if args[1..].iter().any(|a| a == "--help" || a == "-h") {
            println!("usage: {u}");
            if args[0] == "init" {
                println!("\n{}", init::ABOUT);
            }
            return ExitCode::SUCCESS;
        }
    }
    let result = match args.first().map(String::as_str) {
        Some("init") => init::cli(&args[1..]),
        Some("budget") => budget::Options::parse(&args[1..], true).and_then(budget::run),
        Some("size") => budget::Options::parse(&args[1..], false).and_then(budget::run),
        Some("attribute") => attribute::cli(&args[1..]),
        Some("merge") => merge::cli(&args[1..]),
        Some("calibrate") => calibrate::cli(&args[1..]),
        Some("aa") => aa::cli(&args[1..]),
        Some("bisect") => bisect::cli(&args[1..]),
        Some("advise") => advise::cli(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{}", usage());
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
