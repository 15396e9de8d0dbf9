//! The one argument parser every command uses: flags with values, boolean
//! flags and positionals, with errors that name the flag and the command.
//! Ten lines of std serve better than a parser crate here (the xtask's
//! compile time matters).

use anyhow::{anyhow, bail, Result};

/// One argument as the command sees it.
pub enum Arg<'a> {
    /// `--name`: the command asks for its value with [`Args::value`] when
    /// it takes one.
    Flag(&'a str),
    Positional(&'a str),
}

pub struct Args<'a> {
    command: &'static str,
    it: std::slice::Iter<'a, String>,
}

impl<'a> Args<'a> {
    pub fn new(command: &'static str, args: &'a [String]) -> Args<'a> {
        Args {
            command,
            it: args.iter(),
        }
    }

    pub fn next_arg(&mut self) -> Option<Arg<'a>> {
        let a = self.it.next()?;
        Some(if a.starts_with("--") {
            Arg::Flag(a.as_str())
        } else {
            Arg::Positional(a.as_str())
        })
    }

    /// The value after `flag`.
    pub fn value(&mut self, flag: &str) -> Result<String> {
        self.it
            .next()
            .cloned()
            .ok_or_else(|| anyhow!("`cargo xtask {}`: {flag} needs a value", self.command))
    }

    /// The value after `flag`, parsed; `what` says what it must be.
    pub fn parsed<T: std::str::FromStr>(&mut self, flag: &str, what: &str) -> Result<T> {
        let v = self.value(flag)?;
        v.parse()
            .map_err(|_| anyhow!("`cargo xtask {}`: {flag} `{v}` is not {what}", self.command))
    }

    /// The error for a flag the command does not know.
    pub fn unknown(&self, flag: &str) -> anyhow::Error {
        anyhow!(
            "`cargo xtask {}`: unknown option `{flag}` (see `cargo xtask help`)",
            self.command
        )
    }

    /// The error for a positional the command does not take.
    pub fn unexpected(&self, value: &str) -> anyhow::Error {
        anyhow!(
            "`cargo xtask {}`: unexpected argument `{value}` (see `cargo xtask help`)",
            self.command
        )
    }
}

/// Where reports, ledger and baseline live unless `--reports` says
/// otherwise: `reports/` next to the budgets file they belong to, so gating
/// a second project never touches the first's.
pub fn default_reports(budgets: &std::path::Path) -> std::path::PathBuf {
    crate::util::subject_dir(budgets).join("reports")
}

/// `wanted` out of `all` (all when nothing is wanted), in `all`'s order; an
/// unknown name is an error listing the valid ones.
pub fn select(all: &[String], wanted: &[String], what: &str) -> Result<Vec<String>> {
    for w in wanted {
        if !all.contains(w) {
            bail!("unknown {what} `{w}`; valid: {}", all.join(", "));
        }
    }
    Ok(all
        .iter()
        .filter(|a| wanted.is_empty() || wanted.contains(a))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_values_and_errors_name_the_command() {
        let v = strings(&["--top", "x", "file.wasm", "--out"]);
        let mut a = Args::new("attribute", &v);
        assert!(matches!(a.next_arg(), Some(Arg::Flag("--top"))));
        let e = a
            .parsed::<usize>("--top", "a number")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "`cargo xtask attribute`: --top `x` is not a number");
        assert!(matches!(a.next_arg(), Some(Arg::Positional("file.wasm"))));
        assert!(matches!(a.next_arg(), Some(Arg::Flag("--out"))));
        assert_eq!(
            a.value("--out").unwrap_err().to_string(),
            "`cargo xtask attribute`: --out needs a value"
        );
        assert!(a.next_arg().is_none());
    }

    #[test]
    fn select_keeps_the_configured_order_and_rejects_unknown_names() {
        let all = strings(&["core-min", "core-trace", "full-dev"]);
        assert_eq!(select(&all, &[], "profile").unwrap(), all);
        assert_eq!(
            select(&all, &strings(&["full-dev", "core-min"]), "profile").unwrap(),
            strings(&["core-min", "full-dev"])
        );
        let e = select(&all, &strings(&["core"]), "profile")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "unknown profile `core`; valid: core-min, core-trace, full-dev"
        );
    }
}
