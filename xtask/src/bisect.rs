//! The logic of a bisect over a range of commits, on fixed verdicts: which
//! commit to test next, what one step's measurements say about it, and what
//! the search found. The command that builds and measures each step drives
//! it; nothing here runs anything.
//!
//! The commits are in order, `0` known good and `n - 1` known bad. A size
//! step compares exact values, so it marks its commit directly. A timing
//! step measures its commit live against both ends, in one session, and
//! reads the two verdicts together (`timing_step`): a change that lies
//! wholly on one side shows as regressed on that side and unchanged on the
//! other. Regressed on both sides means the change is split across the
//! midpoint; unchanged on both means no single side holds more than the
//! limit, so the range's regression is made of small steps, and no commit
//! is blamed. A commit that cannot be built or measured is skipped, as
//! `git bisect skip` does: it stays a candidate, and the search goes on
//! around it.

use crate::stats::{AbVerdict, Interval};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a tested commit was found to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// Before the regression.
    Good,
    /// At or after it.
    Bad,
    /// Not built or not measured, with why.
    Skipped(String),
}

/// What one timing step says about its commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The commit is good or bad.
    Mark(Mark),
    /// Regressed against the good end and the bad end regressed against it:
    /// the range holds more than one regression, one on each side.
    Split,
    /// Unchanged against both ends: each side's change is within the limit,
    /// so no one commit regresses by more than it.
    SmallSteps,
    /// A comparison did not resolve (inconclusive or not comparable): more
    /// blocks may decide it.
    Unresolved,
}

/// One timing step: `vs_good` compares the commit with the good end (the
/// commit as candidate), `bad_vs_it` the bad end with the commit (the bad
/// end as candidate).
pub fn timing_step(vs_good: AbVerdict, bad_vs_it: AbVerdict) -> Step {
    use AbVerdict::*;
    match (vs_good, bad_vs_it) {
        (Unchanged, Regressed) => Step::Mark(Mark::Good),
        (Regressed, Unchanged) => Step::Mark(Mark::Bad),
        (Regressed, Regressed) => Step::Split,
        (Unchanged, Unchanged) => Step::SmallSteps,
        _ => Step::Unresolved,
    }
}

/// What the search does after a timing step: mark the commit, or stop
/// with an outcome; and the step's result in words (empty for a plain
/// good or bad). A split is followed into its earlier half.
pub fn after_timing_step(step: &Step) -> (Result<Mark, Outcome>, &'static str) {
    match step {
        Step::Mark(m) => (Ok(m.clone()), ""),
        Step::Split => (
            Ok(Mark::Bad),
            "split: regressed against both ends; following the earlier regression",
        ),
        Step::SmallSteps => (
            Err(Outcome::SmallSteps),
            "small steps: unchanged against both ends",
        ),
        Step::Unresolved => (Err(Outcome::Inconclusive), "unresolved after its retries"),
    }
}

/// One size step: a commit is bad when its exact value exceeds the good
/// end's by more than `tolerance` (in the metric's unit; 0 for any growth).
pub fn size_step(value: f64, good_value: f64, tolerance: f64) -> Mark {
    if value > good_value + tolerance {
        Mark::Bad
    } else {
        Mark::Good
    }
}

/// The search over `n` commits.
#[derive(Debug, Clone)]
pub struct Search {
    marks: Vec<Option<Mark>>,
}

/// What the search found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// The first bad commit, right after the last good one.
    Commit { last_good: usize, first_bad: usize },
    /// Skipped commits stand between the last good commit and the first bad
    /// one: the first bad commit is one of `candidates` (in order, the
    /// first bad one last).
    OneOf {
        last_good: usize,
        candidates: Vec<usize>,
    },
}

impl Search {
    /// A search with commit 0 good and commit `n - 1` bad (`n >= 2`).
    pub fn new(n: usize) -> Search {
        assert!(n >= 2, "a range needs a good and a bad commit");
        let mut marks = vec![None; n];
        marks[0] = Some(Mark::Good);
        marks[n - 1] = Some(Mark::Bad);
        Search { marks }
    }

    pub fn mark(&mut self, commit: usize, m: Mark) {
        self.marks[commit] = Some(m);
    }

    /// The last good commit and the first bad commit after it: the range
    /// that still holds the change.
    pub fn range(&self) -> (usize, usize) {
        let last_good = self
            .marks
            .iter()
            .rposition(|m| m == &Some(Mark::Good))
            .expect("commit 0 is good");
        let first_bad = (last_good + 1..self.marks.len())
            .find(|&i| self.marks[i] == Some(Mark::Bad))
            .expect("the last commit is bad");
        (last_good, first_bad)
    }

    /// The untested commits inside the range.
    fn untested(&self) -> Vec<usize> {
        let (lo, hi) = self.range();
        (lo + 1..hi).filter(|&i| self.marks[i].is_none()).collect()
    }

    /// The next commit to test: the untested one nearest the middle of the
    /// range (the earlier of two as near); None when none is left.
    pub fn next(&self) -> Option<usize> {
        let (lo, hi) = self.range();
        let mid2 = lo + hi; // twice the middle, so halves compare exactly
        self.untested()
            .into_iter()
            .min_by_key(|&i| ((2 * i).abs_diff(mid2), i))
    }

    /// Steps left at most, if no commit is skipped: a binary search over
    /// the untested commits.
    pub fn steps_left(&self) -> u32 {
        let n = self.untested().len() as u32;
        u32::BITS - n.leading_zeros()
    }

    /// What the search found, once [`Search::next`] has nothing left.
    pub fn found(&self) -> Option<Found> {
        if self.next().is_some() {
            return None;
        }
        let (last_good, first_bad) = self.range();
        let between: Vec<usize> = (last_good + 1..first_bad).collect();
        Some(if between.is_empty() {
            Found::Commit {
                last_good,
                first_bad,
            }
        } else {
            Found::OneOf {
                last_good,
                candidates: between.into_iter().chain([first_bad]).collect(),
            }
        })
    }

    /// The skipped commits and why, in order.
    pub fn skipped(&self) -> Vec<(usize, &str)> {
        self.marks
            .iter()
            .enumerate()
            .filter_map(|(i, m)| match m {
                Some(Mark::Skipped(why)) => Some((i, why.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// A commit as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitInfo {
    pub sha: String,
    /// The subject line of its message.
    pub subject: String,
    /// Its author date (ISO 8601).
    pub date: String,
    /// The `Budget-Accept:` lines of its message, as written: a commit
    /// that regressed a metric on purpose says so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accepts: Vec<String>,
}

impl CommitInfo {
    /// `3f2a1b9c0d1e "subject"`: the short form of the progress lines.
    pub fn short(&self) -> String {
        format!("{} \"{}\"", crate::util::short(&self.sha), self.clipped())
    }

    /// The subject line, clipped to 72 characters for tables and progress.
    pub fn clipped(&self) -> String {
        if self.subject.chars().count() <= 72 {
            return self.subject.clone();
        }
        format!("{}...", self.subject.chars().take(69).collect::<String>())
    }
}

/// One live comparison a step ran: `candidate` against `base` (commit
/// indices), its verdict and the ratio's 95 % interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    pub candidate: usize,
    pub base: usize,
    pub verdict: AbVerdict,
    pub estimate: Option<Interval>,
    /// `ratio` (candidate over base), or `difference_pp` (relative
    /// metrics: candidate minus base, in percentage points).
    pub measure: String,
    /// The largest ratio (or difference) that still reads unchanged.
    pub limit: f64,
    /// Blocks per arm and seed, extensions included.
    pub blocks: u32,
    /// The verdict in words, as the gate's report gives it.
    pub reason: String,
}

impl Measured {
    /// A ratio as `x1.234`, a difference as `+1.23 pp`.
    pub fn figure(&self, v: f64) -> String {
        if self.measure == "difference_pp" {
            format!("{v:+.2} pp")
        } else {
            format!("x{v:.3}")
        }
    }

    /// The estimate, its interval and the verdict, in one line.
    pub fn describe(&self) -> String {
        match &self.estimate {
            Some(e) => format!(
                "{} [{}, {}] {}",
                self.figure(e.point),
                self.figure(e.lo),
                self.figure(e.hi),
                self.verdict.as_str()
            ),
            None => format!("{} ({})", self.verdict.as_str(), self.reason),
        }
    }
}

/// One tested commit: what was measured and what it was found to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    pub commit: usize,
    /// The range (last good, first bad) the step split.
    pub range: (usize, usize),
    /// A size bisect: the commit's exact value.
    pub value: Option<f64>,
    /// A timing bisect: every comparison, retries included.
    pub measured: Vec<Measured>,
    /// `good`, `bad`, `skipped: why`, `split`, `small steps`, `unresolved`.
    pub result: String,
}

/// How the bisect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// One commit is the first bad one.
    Commit,
    /// Skipped commits leave several candidates.
    OneOf,
    /// No commit in the narrowed range regresses by more than the limit on
    /// its own: the regression is made of small steps.
    SmallSteps,
    /// The ends compare unchanged (or not shown to differ): nothing to find.
    NoRegression,
    /// A step stayed inconclusive after its retries: the search stopped.
    Inconclusive,
}

impl Outcome {
    /// 0 an answer (a commit, candidates, or small steps); 1 no
    /// regression in the range; 2 no answer (a step could not be decided).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Commit | Outcome::OneOf | Outcome::SmallSteps => 0,
            Outcome::NoRegression => 1,
            Outcome::Inconclusive => 2,
        }
    }
}

/// What a bisect found, for `bisect.json` and `bisect.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub metric: String,
    pub profile: String,
    pub environment: String,
    pub unit: String,
    /// `size` (exact values) or `timing` (live comparisons).
    pub kind: String,
    /// Every commit of the range, good end first, bad end last.
    pub commits: Vec<CommitInfo>,
    pub outcome: Outcome,
    /// The verdict in words.
    pub verdict: String,
    /// The last good commit and the first bad one (or the narrowed range).
    pub range: (usize, usize),
    /// One-of: the candidates, in order.
    pub candidates: Vec<usize>,
    /// Timing: the comparison of the bad end with the good end, and of the
    /// first bad commit with the last good one.
    pub ends: Option<Measured>,
    pub across: Option<Measured>,
    /// Size: the values at the ends and across the first bad commit, and
    /// the growth that marked a commit bad.
    pub values: BTreeMap<usize, f64>,
    pub threshold: Option<f64>,
    /// Regressed on both sides of this commit: a second regression lies
    /// after it (the search followed the first).
    pub another_after: Option<usize>,
    pub steps: Vec<StepRecord>,
    pub skipped: Vec<(usize, String)>,
    /// Size: where the bytes went across the first bad commit.
    pub attribution_diff: Option<crate::attribute::Diff>,
    pub builds: u32,
    pub comparisons: u32,
    pub wall_s: f64,
}

impl Report {
    fn name(&self, i: usize) -> String {
        self.commits
            .get(i)
            .map(CommitInfo::short)
            .unwrap_or_else(|| format!("#{i}"))
    }

    fn interval(&self, m: &Measured) -> String {
        match m.estimate {
            Some(_) => format!(
                "{} (limit {}, {} blocks)",
                m.describe(),
                m.figure(m.limit),
                m.blocks
            ),
            None => m.describe(),
        }
    }

    /// A value in the metric's unit: `19.914 KiB`.
    pub fn value(&self, v: f64) -> String {
        format!("{v:.3} {}", self.unit)
    }

    fn growth(&self, from: f64, to: f64) -> String {
        let pct = if from > 0.0 {
            format!(", {:+.1} %", (to - from) * 100.0 / from)
        } else {
            String::new()
        };
        format!("{:+.3} {}{pct}", to - from, self.unit)
    }

    /// The report in markdown: the answer first, then the steps.
    ///
    /// Long by design: the report in reading order (answer, then each tested commit, then what was skipped), one section after another.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "# Bisect: {} ({} {}), {} commits\n\n",
            self.metric,
            self.profile,
            self.environment,
            self.commits.len()
        );
        s.push_str(&format!("**{}**\n\n", self.verdict));
        let (lo, hi) = self.range;
        match self.outcome {
            Outcome::Commit => {
                let c = &self.commits[hi];
                s.push_str(&format!(
                    "First bad commit: `{}` {} ({})\n\n",
                    c.sha, c.subject, c.date
                ));
                s.push_str(&if c.accepts.is_empty() {
                    "It carries no `Budget-Accept:` trailer: nothing accepted this change.\n\n"
                        .to_string()
                } else {
                    format!(
                        "It carries {}: the change was accepted when it merged.\n\n",
                        c.accepts
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
                s.push_str(&format!("Last good commit: {}\n\n", self.name(lo)));
            }
            _ => {
                s.push_str(&format!(
                    "Range: after {} up to {}\n\n",
                    self.name(lo),
                    self.name(hi)
                ));
                for &c in &self.candidates {
                    s.push_str(&format!("- candidate {}\n", self.name(c)));
                }
            }
        }
        if let Some(m) = &self.ends {
            s.push_str(&format!("- bad end vs good end: {}\n", self.interval(m)));
        }
        if let Some(m) = &self.across {
            s.push_str(&format!(
                "- across the first bad commit: {}\n",
                self.interval(m)
            ));
        }
        if let (Some(g), Some(b)) = (
            self.values.get(&0),
            self.values.get(&(self.commits.len() - 1)),
        ) {
            s.push_str(&format!(
                "- good end {}, bad end {} ({})\n",
                self.value(*g),
                self.value(*b),
                self.growth(*g, *b)
            ));
        }
        if let (Outcome::Commit, Some(g), Some(b)) =
            (self.outcome, self.values.get(&lo), self.values.get(&hi))
        {
            s.push_str(&format!(
                "- across the first bad commit: {} -> {} ({})\n",
                self.value(*g),
                self.value(*b),
                self.growth(*g, *b)
            ));
        }
        if let Some(t) = self.threshold {
            s.push_str(&format!(
                "- a commit was bad when it grew by more than {} over the good end\n",
                self.value(t)
            ));
        }
        if let Some(a) = self.another_after {
            s.push_str(&format!(
                "- a second regression lies after {}: bisect again from there\n",
                self.name(a)
            ));
        }
        s.push_str(&format!(
            "\n{} builds, {} live comparisons, {:.0} s.\n",
            self.builds, self.comparisons, self.wall_s
        ));
        if !self.steps.is_empty() {
            s.push_str("\n## Steps\n\n| # | commit | range | measured | result |\n|---:|---|---|---|---|\n");
        }
        for (i, st) in self.steps.iter().enumerate() {
            let measured = match st.value {
                Some(v) => self.value(v),
                None => st
                    .measured
                    .iter()
                    .map(|m| {
                        format!(
                            "{} vs {}: {}",
                            &self.commits[m.candidate].sha[..8],
                            &self.commits[m.base].sha[..8],
                            self.interval(m)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>"),
            };
            let (a, b) = st.range;
            s.push_str(&format!(
                "| {} | `{}` {} | {}..{} | {} | {} |\n",
                i + 1,
                &self.commits[st.commit].sha[..12],
                self.commits[st.commit].clipped().replace('|', "\\|"),
                &self.commits[a].sha[..8],
                &self.commits[b].sha[..8],
                measured,
                st.result.replace('|', "\\|")
            ));
        }
        if !self.skipped.is_empty() {
            s.push_str("\n## Skipped\n\n");
            for (c, why) in &self.skipped {
                s.push_str(&format!("- {}: {}\n", self.name(*c), why));
            }
        }
        if let Some(d) = &self.attribution_diff {
            s.push_str(&format!("\n## Where the bytes went across the first bad commit ({} -> {} bytes)\n\n| crate | old | new | delta |\n|---|---:|---:|---:|\n", d.old_bytes, d.new_bytes));
            for r in d.crates.iter().take(10) {
                s.push_str(&format!(
                    "| {} | {} | {} | {:+} |\n",
                    r.name, r.old_bytes, r.new_bytes, r.delta
                ));
            }
            s.push_str("\n| item | old | new | delta | change |\n|---|---:|---:|---:|---|\n");
            for r in d.items.iter().take(10) {
                s.push_str(&format!(
                    "| `{}` | {} | {} | {:+} | {} |\n",
                    r.name.replace('|', "\\|"),
                    r.old_bytes,
                    r.new_bytes,
                    r.delta,
                    r.change
                ));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AbVerdict::*;

    /// Bisect `n` commits where commit `culprit` is the first bad one, on
    /// a rule that marks each tested commit; the commits tested, in order.
    fn run(n: usize, mut rule: impl FnMut(usize) -> Mark) -> (Search, Vec<usize>) {
        let mut s = Search::new(n);
        let mut tested = Vec::new();
        while let Some(c) = s.next() {
            tested.push(c);
            s.mark(c, rule(c));
        }
        (s, tested)
    }

    #[test]
    fn sixteen_commits_take_at_most_four_steps_to_any_culprit() {
        for culprit in 1..16 {
            let (s, tested) = run(16, |c| if c >= culprit { Mark::Bad } else { Mark::Good });
            assert_eq!(
                s.found(),
                Some(Found::Commit {
                    last_good: culprit - 1,
                    first_bad: culprit
                }),
                "culprit {culprit}"
            );
            assert!(
                tested.len() <= 4,
                "culprit {culprit}: {} steps ({tested:?})",
                tested.len()
            );
        }
        assert_eq!(Search::new(16).steps_left(), 4);
    }

    #[test]
    fn the_next_commit_is_the_middle_of_what_is_left() {
        let mut s = Search::new(9);
        assert_eq!(s.next(), Some(4));
        s.mark(4, Mark::Good);
        assert_eq!(s.range(), (4, 8));
        assert_eq!(s.next(), Some(6));
        s.mark(6, Mark::Bad);
        assert_eq!(s.next(), Some(5));
        s.mark(5, Mark::Bad);
        assert_eq!(s.next(), None);
        assert_eq!(
            s.found(),
            Some(Found::Commit {
                last_good: 4,
                first_bad: 5
            })
        );
        // Two adjacent commits: nothing to test.
        assert_eq!(
            Search::new(2).found(),
            Some(Found::Commit {
                last_good: 0,
                first_bad: 1
            })
        );
    }

    #[test]
    fn a_skipped_commit_is_stepped_around_and_stays_a_candidate() {
        // Commit 5 is the culprit but does not build.
        let (s, tested) = run(9, |c| match c {
            5 => Mark::Skipped("does not build".into()),
            c if c > 5 => Mark::Bad,
            _ => Mark::Good,
        });
        assert!(tested.contains(&5), "{tested:?}");
        assert_eq!(
            s.found(),
            Some(Found::OneOf {
                last_good: 4,
                candidates: vec![5, 6]
            })
        );
        assert_eq!(s.skipped(), vec![(5, "does not build")]);
        // A skipped commit away from the change costs one step and no
        // ambiguity.
        let (s, _) = run(9, |c| match c {
            4 => Mark::Skipped("does not build".into()),
            c if c >= 7 => Mark::Bad,
            _ => Mark::Good,
        });
        assert_eq!(
            s.found(),
            Some(Found::Commit {
                last_good: 6,
                first_bad: 7
            })
        );
    }

    #[test]
    fn a_timing_step_reads_both_comparisons_together() {
        assert_eq!(timing_step(Unchanged, Regressed), Step::Mark(Mark::Good));
        assert_eq!(timing_step(Regressed, Unchanged), Step::Mark(Mark::Bad));
        assert_eq!(timing_step(Regressed, Regressed), Step::Split);
        assert_eq!(timing_step(Unchanged, Unchanged), Step::SmallSteps);
        for (a, b) in [
            (Inconclusive, Regressed),
            (Unchanged, Inconclusive),
            (NotComparable, Unchanged),
            (Regressed, NotComparable),
        ] {
            assert_eq!(timing_step(a, b), Step::Unresolved, "{a:?} {b:?}");
        }
    }

    #[test]
    fn after_a_timing_step_the_search_marks_or_stops() {
        assert_eq!(
            after_timing_step(&Step::Mark(Mark::Good)),
            (Ok(Mark::Good), "")
        );
        // Two regressions: the earlier half is followed.
        assert_eq!(after_timing_step(&Step::Split).0, Ok(Mark::Bad));
        // Small steps and an unresolved step end the search, with an answer
        // (exit 0) and without one (exit 2).
        let (small, words) = after_timing_step(&Step::SmallSteps);
        assert_eq!(
            (small, words),
            (
                Err(Outcome::SmallSteps),
                "small steps: unchanged against both ends"
            )
        );
        assert_eq!(
            after_timing_step(&Step::Unresolved).0,
            Err(Outcome::Inconclusive)
        );
        assert_eq!(
            (
                Outcome::SmallSteps.exit_code(),
                Outcome::Inconclusive.exit_code()
            ),
            (0, 2)
        );
    }

    #[test]
    fn a_size_step_is_bad_only_above_the_good_value_and_its_tolerance() {
        assert_eq!(size_step(100.0, 100.0, 0.0), Mark::Good);
        assert_eq!(size_step(100.1, 100.0, 0.0), Mark::Bad);
        assert_eq!(size_step(100.4, 100.0, 0.5), Mark::Good);
        assert_eq!(size_step(99.0, 100.0, 0.0), Mark::Good);
    }

    fn report(outcome: Outcome, range: (usize, usize)) -> Report {
        let commits = (0..4)
            .map(|i| CommitInfo {
                sha: format!("{i}{}", "a".repeat(39)),
                subject: format!("c{i}: change | {i}"),
                date: "2026-12-05T00:00:00Z".into(),
                accepts: if i == 2 {
                    vec!["Budget-Accept: M-PERF-04C x1.2 a check per spawn".into()]
                } else {
                    vec![]
                },
            })
            .collect();
        let m = |candidate, base, point, verdict| Measured {
            candidate,
            base,
            verdict,
            estimate: Some(Interval {
                point,
                lo: point - 0.02,
                hi: point + 0.02,
            }),
            measure: "ratio".into(),
            limit: 1.1,
            blocks: 8,
            reason: String::new(),
        };
        Report {
            metric: "CALL".into(),
            profile: "core-min".into(),
            environment: "desktop".into(),
            unit: "us".into(),
            kind: "timing".into(),
            commits,
            outcome,
            verdict: "CALL regressed at 2aaaaaaaaaaa \"c2: change | 2\".".into(),
            range,
            candidates: vec![],
            ends: Some(m(3, 0, 1.3, Regressed)),
            across: Some(m(2, 1, 1.29, Regressed)),
            values: BTreeMap::new(),
            threshold: None,
            another_after: None,
            steps: vec![StepRecord {
                commit: 1,
                range: (0, 3),
                value: None,
                measured: vec![m(1, 0, 1.0, Unchanged), m(3, 1, 1.3, Regressed)],
                result: "good".into(),
            }],
            skipped: vec![(2, "does not build".into())],
            attribution_diff: None,
            builds: 3,
            comparisons: 3,
            wall_s: 42.0,
        }
    }

    #[test]
    fn the_report_leads_with_the_commit_and_its_ratio_then_the_steps() {
        let md = report(Outcome::Commit, (1, 2)).markdown();
        let want = [
            "# Bisect: CALL (core-min desktop), 4 commits",
            "First bad commit: `2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa` c2: change | 2 (2026-12-05T00:00:00Z)",
            "It carries `Budget-Accept: M-PERF-04C x1.2 a check per spawn`: the change was accepted when it merged.",
            "- bad end vs good end: x1.300 [x1.280, x1.320] regressed (limit x1.100, 8 blocks)",
            "- across the first bad commit: x1.290 [x1.270, x1.310] regressed (limit x1.100, 8 blocks)",
            "3 builds, 3 live comparisons, 42 s.",
            "| 1 | `1aaaaaaaaaaa` c1: change \\| 1 | 0aaaaaaa..3aaaaaaa | 1aaaaaaa vs 0aaaaaaa: x1.000 [x0.980, x1.020] unchanged (limit x1.100, 8 blocks)<br>3aaaaaaa vs 1aaaaaaa: x1.300 [x1.280, x1.320] regressed (limit x1.100, 8 blocks) | good |",
            "- 2aaaaaaaaaaa \"c2: change | 2\": does not build",
        ];
        for w in want {
            assert!(md.contains(w), "missing {w:?} in\n{md}");
        }
        assert_eq!(
            [
                Outcome::Commit,
                Outcome::OneOf,
                Outcome::SmallSteps,
                Outcome::NoRegression,
                Outcome::Inconclusive
            ]
            .map(Outcome::exit_code),
            [0, 0, 0, 1, 2]
        );
        // A relative metric's difference reads in points.
        let mut m = report(Outcome::Commit, (1, 2)).across.unwrap();
        m.measure = "difference_pp".into();
        assert_eq!(m.describe(), "+1.29 pp [+1.27 pp, +1.31 pp] regressed");
        // Stopped short: the range it narrowed to.
        let md = report(Outcome::Inconclusive, (1, 3)).markdown();
        assert!(md.contains("Range: after 1aaaaaaaaaaa \"c1: change | 1\" up to 3aaaaaaaaaaa \"c3: change | 3\""), "{md}");
    }
}
