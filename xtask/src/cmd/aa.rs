//! `cargo xtask aa`: the A/A benchmark. It runs the whole gate `--runs`
//! times against the checkout's own commit (`budget --against HEAD --fresh`:
//! the base is the candidate, which a plain run would not measure; every
//! selected profile and environment), one run after another, each with a
//! reports directory of its own under `--reports` (default `reports/aa/`):
//! its own ledger, so no run escalates another's warn, and nothing touches
//! the subject's own reports. Base and candidate are the same code, so
//! every live comparison should read unchanged and the run green.
//!
//! Per run it prints the light, the count of each live verdict (naming the
//! keys that were not unchanged, with their ratio and interval), and what
//! measuring cost: seconds inside timed windows against the wall seconds of
//! the browser stage and of the whole run. At the end, in how many runs
//! the light was green and in how many a comparison read regressed, and it
//! writes `aa.json`. Exit 0 when no comparison read regressed in any run, 1
//! when one did (a false alarm), 2 when a run could not do its job.

use super::args::{Arg, Args};
use crate::stats::AbVerdict;
use crate::summary::{Cost, Summary};
use crate::util::{find_budgets, git_changes, write_atomic};
use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;

struct Options {
    runs: u32,
    budgets: PathBuf,
    reports: Option<PathBuf>,
    /// `--profile` and `--env`, passed to every run as given.
    select: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut a = Args::new("aa", args);
        let (mut runs, mut budgets, mut reports, mut select) = (5, None, None, Vec::new());
        while let Some(arg) = a.next_arg() {
            match arg {
                Arg::Flag("--runs") => runs = a.parsed("--runs", "a count")?,
                Arg::Flag("--budgets") => budgets = Some(PathBuf::from(a.value("--budgets")?)),
                Arg::Flag("--reports") => reports = Some(PathBuf::from(a.value("--reports")?)),
                Arg::Flag(f @ ("--profile" | "--env")) => {
                    select.push(f.to_string());
                    select.push(a.value(f)?);
                }
                Arg::Flag(f) => return Err(a.unknown(f)),
                Arg::Positional(p) => return Err(a.unexpected(p)),
            }
        }
        if runs == 0 {
            bail!("`cargo xtask aa`: --runs must be at least 1");
        }
        let budgets = match budgets {
            Some(b) => b,
            None => find_budgets()?,
        };
        Ok(Options {
            runs,
            budgets,
            reports,
            select,
        })
    }
}

/// What one A/A run read: its light, its live verdicts and its cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AaRun {
    pub light: &'static str,
    pub unchanged: usize,
    pub inconclusive: usize,
    pub regressed: usize,
    pub not_comparable: usize,
    /// The keys that did not read unchanged, each with its ratio and interval.
    pub not_unchanged: Vec<String>,
    /// The browser stage, over every environment.
    pub cost: Cost,
    /// The whole run (builds included).
    pub wall_s: f64,
}

impl AaRun {
    /// Read a finished run's summary.
    pub fn of(s: &Summary) -> AaRun {
        let mut run = AaRun {
            light: crate::report::light(s.status),
            unchanged: 0,
            inconclusive: 0,
            regressed: 0,
            not_comparable: 0,
            not_unchanged: Vec::new(),
            cost: Cost::default(),
            wall_s: s.wall_s,
        };
        for r in &s.records {
            let Some(c) = &r.comparison else { continue };
            match c.verdict {
                AbVerdict::Unchanged => run.unchanged += 1,
                AbVerdict::Inconclusive => run.inconclusive += 1,
                AbVerdict::Regressed => run.regressed += 1,
                AbVerdict::NotComparable => run.not_comparable += 1,
            }
            if c.verdict != AbVerdict::Unchanged {
                let fig = match &c.estimate {
                    Some(e) if c.measure == "ratio" => {
                        format!(" x{:.3} [x{:.3}, x{:.3}]", e.point, e.lo, e.hi)
                    }
                    Some(e) => format!(" {:+.2} pp [{:+.2}, {:+.2}]", e.point, e.lo, e.hi),
                    None => String::new(),
                };
                run.not_unchanged.push(format!(
                    "{} {} {}: {}{fig}",
                    r.metric_id,
                    r.profile,
                    r.environment,
                    c.verdict.as_str()
                ));
            }
        }
        s.cost.values().for_each(|c| run.cost.add(c));
        run
    }

    /// One line per run, then one per key that was not unchanged.
    pub fn text(&self, n: u32, of: u32) -> String {
        let compared = self.unchanged + self.inconclusive + self.regressed + self.not_comparable;
        let mut t = format!(
            "run {n}/{of}: {} · {compared} comparisons: {} unchanged, {} inconclusive, {} regressed{} · measuring {}",
            self.light,
            self.unchanged,
            self.inconclusive,
            self.regressed,
            if self.not_comparable > 0 { format!(", {} not comparable", self.not_comparable) } else { String::new() },
            self.cost.text(),
        );
        if self.cost.timed_s > 0.0 {
            t.push_str(&format!(
                " · whole run {:.0} s (x{:.2} its timed seconds)",
                self.wall_s,
                self.wall_s / self.cost.timed_s
            ));
        }
        for k in &self.not_unchanged {
            t.push_str(&format!("\n    {k}"));
        }
        t
    }
}

/// The series in one line: green in k of n, runs with a regressed
/// comparison, and the median cost ratios.
pub fn series_text(runs: &[AaRun]) -> String {
    let n = runs.len();
    let green = runs.iter().filter(|r| r.light == "green").count();
    let false_alarms = runs.iter().filter(|r| r.regressed > 0).count();
    let ratio = |f: &dyn Fn(&AaRun) -> Option<f64>| {
        let v: Vec<f64> = runs.iter().filter_map(f).collect();
        crate::stats::median(&v).map_or("-".to_string(), |m| format!("x{m:.2}"))
    };
    format!(
        "A/A: green in {green} of {n} runs; a comparison read regressed in {false_alarms} of {n}; \
         median cost: measuring {} and whole run {} its timed seconds",
        ratio(&|r| r.cost.ratio()),
        ratio(&|r| (r.cost.timed_s > 0.0).then(|| r.wall_s / r.cost.timed_s)),
    )
}

pub fn cli(args: &[String]) -> Result<u8> {
    let o = Options::parse(args)?;
    let root = crate::util::subject_dir(&o.budgets);
    // A/A only when the candidate is the commit it is compared with.
    let dirty = git_changes(&root)?;
    if !dirty.is_empty() {
        bail!("the working tree differs from HEAD, so `--against HEAD` would not be an A/A comparison: commit or stash first\n{}", dirty.trim_end());
    }
    let out = o
        .reports
        .clone()
        .unwrap_or_else(|| super::args::default_reports(&o.budgets).join("aa"));
    let mut runs = Vec::new();
    for i in 1..=o.runs {
        let dir = out.join(format!("run-{i}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        eprintln!(
            "aa: run {i} of {}: cargo xtask budget --against HEAD --fresh {} (reports in {})",
            o.runs,
            o.select.join(" "),
            dir.display()
        );
        let mut argv: Vec<String> = vec![
            "--against".into(),
            "HEAD".into(),
            // Identical inputs by construction: measure both arms anyway.
            "--fresh".into(),
            "--budgets".into(),
            o.budgets.display().to_string(),
            "--reports".into(),
            dir.display().to_string(),
        ];
        argv.extend(o.select.iter().cloned());
        let code = super::budget::Options::parse(&argv, true)
            .and_then(super::budget::run)
            .with_context(|| format!("A/A run {i}"))?;
        if code == 2 {
            bail!(
                "A/A run {i} could not do its job (exit 2); see {}",
                dir.display()
            );
        }
        let path = dir.join("summary.json");
        let s: Summary = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
        )
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let run = AaRun::of(&s);
        println!("{}", run.text(i, o.runs));
        runs.push(run);
    }
    let line = series_text(&runs);
    println!("\n{line}");
    let json = serde_json::json!({ "runs": runs, "series": line, "select": o.select });
    let path = out.join("aa.json");
    write_atomic(&path, serde_json::to_string_pretty(&json)?.as_bytes())?;
    eprintln!("aa: wrote {}", path.display());
    Ok(if runs.iter().any(|r| r.regressed > 0) {
        1
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        light: &'static str,
        verdicts: (usize, usize, usize),
        timed: f64,
        measuring: f64,
        wall: f64,
    ) -> AaRun {
        AaRun {
            light,
            unchanged: verdicts.0,
            inconclusive: verdicts.1,
            regressed: verdicts.2,
            not_comparable: 0,
            not_unchanged: if verdicts.1 > 0 {
                vec!["M-PERF-02B core-min mobile: inconclusive x1.018 [x0.934, x1.202]".into()]
            } else {
                vec![]
            },
            cost: Cost {
                timed_s: timed,
                measuring_s: measuring,
                setup_s: 0.0,
            },
            wall_s: wall,
        }
    }

    #[test]
    fn a_run_reads_as_its_light_counts_and_cost() {
        let r = run("yellow", (39, 4, 0), 829.0, 1562.0, 1576.0);
        assert_eq!(
            r.text(2, 5),
            "run 2/5: yellow · 43 comparisons: 39 unchanged, 4 inconclusive, 0 regressed · measuring 1562 s (829 s in timed windows, x1.88) \
             · whole run 1576 s (x1.90 its timed seconds)\n    M-PERF-02B core-min mobile: inconclusive x1.018 [x0.934, x1.202]"
        );
    }

    #[test]
    fn the_series_counts_green_runs_and_false_alarms() {
        let runs = vec![
            run("green", (43, 0, 0), 800.0, 1200.0, 1300.0),
            run("yellow", (42, 1, 0), 800.0, 1280.0, 1400.0),
            run("green", (43, 0, 0), 800.0, 1040.0, 1100.0),
            run("red", (42, 0, 1), 800.0, 1120.0, 1200.0),
        ];
        assert_eq!(
            series_text(&runs),
            "A/A: green in 2 of 4 runs; a comparison read regressed in 1 of 4; median cost: measuring x1.45 and whole run x1.56 its timed seconds"
        );
    }
}
