//! `cargo xtask bisect --good REF --bad REF --metric ID`: find the commit
//! that regressed one metric, on the live A/B machinery of `budget
//! --against` (the search itself, on fixed verdicts, is `crate::bisect`).
//!
//! The range is the first-parent chain from the good commit to the bad one.
//! Each tested commit is built in its own git worktree with this checkout's
//! budgets, profiles and scenarios, so only the code differs; the subject's
//! own checkout is never touched, and every worktree shares its target
//! directory. A size metric is exact: each step builds one commit and
//! compares its value. A timing step measures the commit live against both
//! ends of the remaining range, in one browser session, and reads the two
//! verdicts together; an unresolved step is measured again with twice the
//! blocks, up to `--retries` times, and the search stops if it is still
//! unresolved. Writes `bisect.md` and `bisect.json`; exit 0 when it found an
//! answer, 1 when the ends do not differ, 2 when it could not run or decide.

use super::args::{Arg, Args};
use crate::artifacts::{Base, ProfileArtifacts};
use crate::bisect::{
    self, CommitInfo, Found, Mark, Measured, Outcome, Report, Search, Step, StepRecord,
};
use crate::config::{self, Config, MetricSpec, Source};
use crate::measure::{self, Measurer};
use crate::stats::AbVerdict;
use crate::subject;
use crate::util::{find_budgets, git, write_atomic};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

struct Options {
    budgets: PathBuf,
    reports: PathBuf,
    good: String,
    bad: String,
    metric: String,
    profile: Option<String>,
    env: Option<String>,
    /// Size: the growth over the good end that marks a commit bad (default
    /// half the range's growth).
    threshold: Option<f64>,
    /// Timing: how often an unresolved step is measured again.
    retries: u32,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let (mut budgets, mut reports, mut good, mut bad, mut metric) =
            (None, None, None, None, None);
        let (mut profile, mut env, mut threshold, mut retries) = (None, None, None, 1);
        let mut a = Args::new("bisect", args);
        while let Some(arg) = a.next_arg() {
            match arg {
                Arg::Flag("--budgets") => budgets = Some(PathBuf::from(a.value("--budgets")?)),
                Arg::Flag("--reports") => reports = Some(PathBuf::from(a.value("--reports")?)),
                Arg::Flag("--good") => good = Some(a.value("--good")?),
                Arg::Flag("--bad") => bad = Some(a.value("--bad")?),
                Arg::Flag("--metric") => metric = Some(a.value("--metric")?),
                Arg::Flag("--profile") => profile = Some(a.value("--profile")?),
                Arg::Flag("--env") => env = Some(a.value("--env")?),
                Arg::Flag("--threshold") => {
                    threshold = Some(a.parsed("--threshold", "a number (in the metric's unit)")?)
                }
                Arg::Flag("--retries") => retries = a.parsed("--retries", "a count")?,
                Arg::Flag(f) => return Err(a.unknown(f)),
                Arg::Positional(p) => return Err(a.unexpected(p)),
            }
        }
        let need = |v: Option<String>, flag: &str| {
            v.ok_or_else(|| {
                anyhow!("`cargo xtask bisect` needs {flag} (see `cargo xtask bisect --help`)")
            })
        };
        let budgets = match budgets {
            Some(b) => b,
            None => find_budgets()?,
        };
        let reports =
            reports.unwrap_or_else(|| super::args::default_reports(&budgets).join("bisect"));
        Ok(Options {
            good: need(good, "--good REF")?,
            bad: need(bad, "--bad REF")?,
            metric: need(metric, "--metric ID")?,
            budgets,
            reports,
            profile,
            env,
            threshold,
            retries,
        })
    }
}

pub fn cli(args: &[String]) -> Result<u8> {
    let o = Options::parse(args)?;
    let t0 = Instant::now();
    // No report of an earlier bisect outlives this one.
    for f in ["bisect.md", "bisect.json"] {
        let _ = std::fs::remove_file(o.reports.join(f));
    }
    let mut cfg = config::load(&o.budgets)?;
    crate::build::prepare_toolchain(&mut cfg)?;
    let mut b = Bisector::new(&cfg, &o)?;
    let mut report = b.run()?;
    report.wall_s = t0.elapsed().as_secs_f64();
    std::fs::create_dir_all(&o.reports)?;
    write_atomic(
        &o.reports.join("bisect.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let md = report.markdown();
    write_atomic(&o.reports.join("bisect.md"), md.as_bytes())?;
    println!("{md}");
    eprintln!(
        "bisect: wrote {} and bisect.json (exit {})",
        o.reports.join("bisect.md").display(),
        report.outcome.exit_code()
    );
    Ok(report.outcome.exit_code())
}

/// Why a step has no verdict: its commit cannot be built or its scenario
/// cannot run on it (the commit is skipped, as `git bisect skip` does), or
/// the measuring itself failed (the browser: the bisect stops, exit 2, so
/// a crash never reads as an answer).
enum Failure {
    Skip(String),
    Abort(anyhow::Error),
}

/// One bisect: the metric, the commits, what was built and measured.
struct Bisector<'a> {
    cfg: &'a Config,
    metric: &'a MetricSpec,
    profile: String,
    commits: Vec<CommitInfo>,
    /// Each commit's build, or why it could not be built.
    builds: BTreeMap<usize, std::result::Result<ProfileArtifacts, String>>,
    /// One browser session for every comparison.
    engines: Option<crate::engines::Engines>,
    comparisons: u32,
    threshold: Option<f64>,
    retries: u32,
    reports: PathBuf,
}

impl<'a> Bisector<'a> {
    fn new(cfg: &'a Config, o: &Options) -> Result<Bisector<'a>> {
        let budgets = o.budgets.display();
        let named: Vec<&MetricSpec> = cfg.metrics.iter().filter(|m| m.id == o.metric).collect();
        if named.is_empty() {
            bail!(
                "--metric {}: {budgets} defines no such metric; it defines {}",
                o.metric,
                cfg.metrics
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let metric = match &o.env {
            Some(e) => named
                .iter()
                .find(|m| matches!(m.source, Source::Size(_)) || &m.environment == e)
                .ok_or_else(|| {
                    anyhow!(
                        "--metric {} is not measured in environment {e}; it is in {}",
                        o.metric,
                        named
                            .iter()
                            .map(|m| m.environment.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?,
            None => named[0],
        };
        let profile = match &o.profile {
            Some(p) if metric.caps.contains_key(p) => p.clone(),
            Some(p) => bail!(
                "--profile {p}: {} has no budget for it in {budgets}; it has {}",
                o.metric,
                metric.caps.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            None => cfg
                .profiles
                .iter()
                .map(|p| p.name.clone())
                .find(|p| metric.caps.contains_key(p))
                .ok_or_else(|| anyhow!("{} has no budget for any profile", o.metric))?,
        };
        if let Source::Scenario(_) = metric.source {
            cfg.check_scenarios(&[metric])?;
        }
        let commits = commit_range(cfg, &o.good, &o.bad)?;
        Ok(Bisector {
            cfg,
            metric,
            profile,
            commits,
            builds: BTreeMap::new(),
            engines: None,
            comparisons: 0,
            threshold: o.threshold,
            retries: o.retries,
            reports: o.reports.clone(),
        })
    }

    fn is_size(&self) -> bool {
        matches!(self.metric.source, Source::Size(_))
    }

    /// Build commit `i` in its worktree (once), or say why it could not be.
    fn build(&mut self, i: usize) -> std::result::Result<&ProfileArtifacts, String> {
        if !self.builds.contains_key(&i) {
            let c = &self.commits[i];
            eprintln!("bisect: building {}", c.short());
            let built = (|| {
                let (mut at, sha) = subject::checkout(self.cfg, &c.sha)?;
                // Only the metric's figure is wanted: no dependency closure.
                at.dependencies = None;
                let mut p = self
                    .cfg
                    .profile(&self.profile)
                    .ok_or_else(|| anyhow!("unknown profile {}", self.profile))?
                    .clone();
                p.name = format!("bisect~{}~{}", &sha[..12], self.profile);
                subject::profile_artifacts(
                    &at,
                    &p,
                    &self.profile,
                    &[self.metric],
                    &self.reports.join("work"),
                    None,
                )
            })();
            self.builds
                .insert(i, built.map_err(|e| first_line(&format!("{e:#}"))));
        }
        self.builds[&i].as_ref().map_err(Clone::clone)
    }

    /// A size commit's exact value.
    fn value(&mut self, i: usize) -> std::result::Result<f64, String> {
        let Source::Size(kind) = self.metric.source else {
            unreachable!("a size bisect")
        };
        let unit = self.metric.unit.clone();
        self.build(i)
            .map(|a| crate::size::in_unit(crate::size::bytes_of(&a.info.sizes, kind), &unit))
    }

    /// Measure commit `cand` live against commit `base` (one task, `blocks`
    /// times the protocol's blocks), in the bisect's browser session.
    fn compare(
        &mut self,
        cand: usize,
        base: usize,
        factor: u32,
    ) -> std::result::Result<Measured, Failure> {
        for i in [cand, base] {
            if let Err(e) = self.build(i).map(|_| ()) {
                return Err(Failure::Skip(format!(
                    "{} could not be built: {e}",
                    self.commits[i].short()
                )));
            }
        }
        let (cfg, metric, profile) = (self.cfg, self.metric, self.profile.clone());
        let cand_art = self.builds[&cand].as_ref().expect("built");
        let base_art = self.builds[&base].as_ref().expect("built");
        let base_b = Base::of(
            std::slice::from_ref(base_art),
            &format!("{} (bisect)", &self.commits[base].sha[..12]),
        );
        let mut plan = measure::plan(cfg, &[metric], std::slice::from_ref(&profile), false);
        for t in &mut plan {
            t.blocks *= factor;
        }
        eprintln!(
            "bisect: measuring {} against {} ({} blocks)",
            &self.commits[cand].sha[..12],
            &self.commits[base].sha[..12],
            plan.first().map(|t| t.blocks).unwrap_or(0)
        );
        let engines = self
            .engines
            .get_or_insert_with(|| crate::engines::Engines::new(cfg, Default::default()));
        self.comparisons += 1;
        let measured = measure::run(
            cfg,
            &plan,
            std::slice::from_ref(cand_art),
            Some(&base_b),
            engines as &mut dyn Measurer,
            measure::RunOptions::default(),
        )
        .map_err(|e| {
            Failure::Abort(e.context(format!(
                "measuring {} against {}",
                self.commits[cand].short(),
                self.commits[base].short()
            )))
        })?;
        let c = measured
            .get(&metric.id, &profile, &metric.environment)
            .and_then(|r| r.comparison.clone())
            .ok_or_else(|| {
                Failure::Abort(anyhow!(
                    "no comparison of {} with {} (a bug in the gate)",
                    &self.commits[cand].sha[..12],
                    &self.commits[base].sha[..12]
                ))
            })?;
        let m = Measured {
            candidate: cand,
            base,
            verdict: c.verdict,
            estimate: c.estimate,
            measure: c.measure,
            limit: c.limit,
            blocks: c.blocks,
            reason: c.reason,
        };
        eprintln!("bisect:   {}", m.describe());
        Ok(m)
    }

    /// Compare `cand` with `base` until the verdict resolves or the retries
    /// are spent (each retry with twice the blocks of the last); every
    /// attempt is kept for the report.
    fn compare_resolved(
        &mut self,
        cand: usize,
        base: usize,
        kept: &mut Vec<Measured>,
    ) -> std::result::Result<AbVerdict, Failure> {
        let mut factor = 1;
        for attempt in 0..=self.retries {
            let m = self.compare(cand, base, factor)?;
            let v = m.verdict;
            kept.push(m);
            if v != AbVerdict::Inconclusive || attempt == self.retries {
                return Ok(v);
            }
            factor *= 2;
        }
        unreachable!("the last attempt returns")
    }

    fn run(&mut self) -> Result<Report> {
        let n = self.commits.len();
        let mut r = Report {
            metric: self.metric.id.clone(),
            profile: self.profile.clone(),
            environment: self.metric.environment.clone(),
            unit: self.metric.unit.clone(),
            kind: if self.is_size() { "size" } else { "timing" }.into(),
            commits: self.commits.clone(),
            outcome: Outcome::NoRegression,
            verdict: String::new(),
            range: (0, n - 1),
            candidates: vec![],
            ends: None,
            across: None,
            values: BTreeMap::new(),
            threshold: None,
            another_after: None,
            steps: vec![],
            skipped: vec![],
            attribution_diff: None,
            builds: 0,
            comparisons: 0,
            wall_s: 0.0,
        };
        eprintln!(
            "bisect: {} commits from {} to {}",
            n,
            self.commits[0].short(),
            self.commits[n - 1].short()
        );
        // The ends: is there anything to find?
        let regressed = if self.is_size() {
            self.size_ends(&mut r)?
        } else {
            self.timing_ends(&mut r)?
        };
        if regressed {
            self.search(&mut r)?;
        }
        r.builds = self.builds.values().filter(|b| b.is_ok()).count() as u32;
        r.comparisons = self.comparisons;
        Ok(r)
    }

    /// Size: the values at both ends, and the threshold.
    fn size_ends(&mut self, r: &mut Report) -> Result<bool> {
        let n = self.commits.len();
        let good = self.value(0).map_err(|e| {
            anyhow!(
                "the good end {} could not be built: {e}",
                self.commits[0].short()
            )
        })?;
        let bad = self.value(n - 1).map_err(|e| {
            anyhow!(
                "the bad end {} could not be built: {e}",
                self.commits[n - 1].short()
            )
        })?;
        r.values.extend([(0, good), (n - 1, bad)]);
        if bad <= good {
            r.verdict = format!(
                "No regression: {} is {} at the bad end and {} at the good end.",
                self.metric.id,
                r.value(bad),
                r.value(good)
            );
            return Ok(false);
        }
        let t = self.threshold.unwrap_or((bad - good) / 2.0);
        r.threshold = Some(t);
        Ok(true)
    }

    /// Timing: the bad end against the good end.
    fn timing_ends(&mut self, r: &mut Report) -> Result<bool> {
        let n = self.commits.len();
        let mut kept = Vec::new();
        let v = self
            .compare_resolved(n - 1, 0, &mut kept)
            .map_err(|f| match f {
                Failure::Skip(e) => anyhow!("an end of the range: {e}"),
                Failure::Abort(e) => e,
            })?;
        let last = kept.pop().expect("one comparison");
        let words = last.describe();
        r.ends = Some(last);
        match v {
            AbVerdict::Regressed => Ok(true),
            AbVerdict::Unchanged => {
                r.verdict =
                    format!("No regression: the bad end against the good end reads {words}.");
                Ok(false)
            }
            _ => {
                r.verdict = format!("No regression shown: the bad end against the good end stays {words} after {} retries; nothing to bisect.", self.retries);
                Ok(false)
            }
        }
    }

    /// The search proper: one step per tested commit until it has an answer.
    ///
    /// Long by design: the search loop with every outcome of a step (good, bad, skipped, untestable) handled where it happens.
    fn search(&mut self, r: &mut Report) -> Result<()> {
        let n = self.commits.len();
        let mut s = Search::new(n);
        while let Some(c) = s.next() {
            let range = s.range();
            eprintln!(
                "bisect: step {}: testing {} between {} and {} (about {} steps left)",
                r.steps.len() + 1,
                self.commits[c].short(),
                &self.commits[range.0].sha[..12],
                &self.commits[range.1].sha[..12],
                s.steps_left()
            );
            let mut step = StepRecord {
                commit: c,
                range,
                value: None,
                measured: vec![],
                result: String::new(),
            };
            let mark = if self.is_size() {
                match self.value(c) {
                    Ok(v) => {
                        step.value = Some(v);
                        r.values.insert(c, v);
                        bisect::size_step(v, r.values[&0], r.threshold.unwrap_or(0.0))
                    }
                    Err(e) => Mark::Skipped(e),
                }
            } else {
                match self.timing(c, range, &mut step.measured) {
                    Err(Failure::Skip(e)) => Mark::Skipped(e),
                    Err(Failure::Abort(e)) => {
                        return Err(e.context(format!("bisect step {}", r.steps.len() + 1)))
                    }
                    Ok(s) => {
                        if s == Step::Split {
                            r.another_after = Some(c);
                        }
                        let (next, words) = bisect::after_timing_step(&s);
                        step.result = words.into();
                        match next {
                            Ok(m) => m,
                            Err(outcome) => {
                                r.steps.push(step);
                                r.outcome = outcome;
                                r.range = range;
                                r.verdict = self.stopped(outcome, c, range);
                                return Ok(());
                            }
                        }
                    }
                }
            };
            if step.result.is_empty() {
                step.result = match &mark {
                    Mark::Good => "good".into(),
                    Mark::Bad => "bad".into(),
                    Mark::Skipped(why) => format!("skipped: {why}"),
                };
            }
            eprintln!(
                "bisect: step {}: {} is {}",
                r.steps.len() + 1,
                &self.commits[c].sha[..12],
                step.result
            );
            r.steps.push(step);
            s.mark(c, mark);
        }
        r.skipped = s
            .skipped()
            .into_iter()
            .map(|(i, w)| (i, w.to_string()))
            .collect();
        match s.found().expect("the search is over") {
            Found::Commit {
                last_good,
                first_bad,
            } => {
                r.outcome = Outcome::Commit;
                r.range = (last_good, first_bad);
                r.across = self.across(last_good, first_bad, r);
                r.verdict = format!(
                    "{} regressed at {}.",
                    self.metric.id,
                    self.commits[first_bad].short()
                );
                if self.is_size() {
                    r.attribution_diff = self.attribution_diff(last_good, first_bad);
                }
            }
            Found::OneOf {
                last_good,
                candidates,
            } => {
                r.outcome = Outcome::OneOf;
                r.range = (last_good, *candidates.last().expect("one at least"));
                r.verdict = format!("{} regressed at one of {} commits: skipped commits stand between the last good and the first bad one.", self.metric.id, candidates.len());
                r.candidates = candidates;
            }
        }
        Ok(())
    }

    /// Why the search stopped at commit `c`, in words.
    fn stopped(&self, outcome: Outcome, c: usize, (lo, hi): (usize, usize)) -> String {
        let (it, lo, hi) = (
            self.commits[c].short(),
            self.commits[lo].short(),
            self.commits[hi].short(),
        );
        if outcome == Outcome::SmallSteps {
            format!("Made of small steps: {it} reads unchanged against both {lo} and {hi}, so no single commit between them regresses by more than the limit; the per-step ratios are below.")
        } else {
            format!("Stopped: {it} stayed inconclusive after {} retries. The regression lies after {lo} and up to {hi}.", self.retries)
        }
    }

    /// One timing step: the commit against the range's good end, and the
    /// range's bad end against the commit.
    /// The commit runs as the base first: a scenario that cannot run on
    /// it makes that comparison "not comparable" and the commit is skipped,
    /// where as the candidate it would stop the run.
    fn timing(
        &mut self,
        c: usize,
        (lo, hi): (usize, usize),
        kept: &mut Vec<Measured>,
    ) -> std::result::Result<Step, Failure> {
        self.build(c).map(|_| ()).map_err(Failure::Skip)?;
        let not_comparable = |kept: &[Measured]| {
            Failure::Skip(kept.last().map(|m| m.reason.clone()).unwrap_or_default())
        };
        let bad_vs_it = self.compare_resolved(hi, c, kept)?;
        if bad_vs_it == AbVerdict::NotComparable {
            return Err(not_comparable(kept));
        }
        let vs_good = self.compare_resolved(c, lo, kept)?;
        if vs_good == AbVerdict::NotComparable {
            return Err(not_comparable(kept));
        }
        Ok(bisect::timing_step(vs_good, bad_vs_it))
    }

    /// Timing: the comparison across the first bad commit, as measured by
    /// a step (the last step compared the two), else measured now.
    fn across(&mut self, last_good: usize, first_bad: usize, r: &Report) -> Option<Measured> {
        if self.is_size() {
            return None;
        }
        let mut measured = r
            .steps
            .iter()
            .flat_map(|s| s.measured.iter())
            .chain(r.ends.iter());
        if let Some(m) = measured.rfind(|m| m.candidate == first_bad && m.base == last_good) {
            return Some(m.clone());
        }
        self.compare(first_bad, last_good, 1).ok()
    }

    /// Size: where the bytes went across the first bad commit.
    fn attribution_diff(
        &mut self,
        last_good: usize,
        first_bad: usize,
    ) -> Option<crate::attribute::Diff> {
        let (old, new) = (
            self.builds.get(&last_good)?.as_ref().ok()?,
            self.builds.get(&first_bad)?.as_ref().ok()?,
        );
        let against = format!("{} (last good)", &self.commits[last_good].sha[..12]);
        let mut report = crate::attribute::for_profile(
            &new.shipped,
            &new.named,
            Some((&old.shipped, &old.named)),
        )
        .ok()?;
        let mut d = report.diff.take()?;
        d.against = against;
        Some(d)
    }
}

/// The first-parent chain from `good` to `bad`, good first: the commits
/// `git bisect` would search, each with its subject line and date.
fn commit_range(cfg: &Config, good: &str, bad: &str) -> Result<Vec<CommitInfo>> {
    let dir = cfg.manifest.parent().unwrap_or(&cfg.root);
    let sha = |r: &str, flag: &str| {
        git(&["rev-parse", "--verify", &format!("{r}^{{commit}}")], dir)
            .with_context(|| format!("{flag} {r}: not a commit of the subject's repository"))
    };
    let (g, b) = (sha(good, "--good")?, sha(bad, "--bad")?);
    if git(&["merge-base", "--is-ancestor", &g, &b], dir).is_err() {
        bail!("--good {good} is not an ancestor of --bad {bad}: a bisect range runs from an older commit to a newer one");
    }
    let list = git(
        &[
            "rev-list",
            "--first-parent",
            "--ancestry-path",
            "--reverse",
            &format!("{g}..{b}"),
        ],
        dir,
    )?;
    let mut shas = vec![g];
    shas.extend(list.lines().map(String::from));
    if shas.len() < 2 {
        bail!("--good {good} and --bad {bad} are the same commit: nothing to bisect");
    }
    shas.iter()
        .map(|s| {
            let out = git(&["log", "-1", "--format=%H%x00%s%x00%aI%x00%B", s], dir)?;
            let mut f = out.split('\0');
            Ok(CommitInfo {
                sha: f.next().unwrap_or_default().into(),
                subject: f.next().unwrap_or_default().into(),
                date: f.next().unwrap_or_default().into(),
                accepts: f
                    .next()
                    .unwrap_or_default()
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with(crate::accept::TRAILER))
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

/// An error in one line for the report: its first line, and the first
/// line that says `error` when that is another (cargo's own message).
fn first_line(s: &str) -> String {
    let clip = |l: &str| l.chars().take(240).collect::<String>();
    let mut lines = s.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    match lines.find(|l| l.starts_with("error")) {
        Some(e) => format!("{}: {}", clip(first), clip(e)),
        None => clip(first),
    }
}
