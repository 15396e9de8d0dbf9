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

use crate::stats::AbVerdict;

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
    OneOf { last_good: usize, candidates: Vec<usize> },
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
        let last_good = self.marks.iter().rposition(|m| m == &Some(Mark::Good)).expect("commit 0 is good");
        let first_bad = (last_good + 1..self.marks.len()).find(|&i| self.marks[i] == Some(Mark::Bad)).expect("the last commit is bad");
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
        self.untested().into_iter().min_by_key(|&i| ((2 * i).abs_diff(mid2), i))
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
            Found::Commit { last_good, first_bad }
        } else {
            Found::OneOf { last_good, candidates: between.into_iter().chain([first_bad]).collect() }
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
            assert_eq!(s.found(), Some(Found::Commit { last_good: culprit - 1, first_bad: culprit }), "culprit {culprit}");
            assert!(tested.len() <= 4, "culprit {culprit}: {} steps ({tested:?})", tested.len());
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
        assert_eq!(s.found(), Some(Found::Commit { last_good: 4, first_bad: 5 }));
        // Two adjacent commits: nothing to test.
        assert_eq!(Search::new(2).found(), Some(Found::Commit { last_good: 0, first_bad: 1 }));
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
        assert_eq!(s.found(), Some(Found::OneOf { last_good: 4, candidates: vec![5, 6] }));
        assert_eq!(s.skipped(), vec![(5, "does not build")]);
        // A skipped commit away from the change costs one step and no
        // ambiguity.
        let (s, _) = run(9, |c| match c {
            4 => Mark::Skipped("does not build".into()),
            c if c >= 7 => Mark::Bad,
            _ => Mark::Good,
        });
        assert_eq!(s.found(), Some(Found::Commit { last_good: 6, first_bad: 7 }));
    }

    #[test]
    fn a_timing_step_reads_both_comparisons_together() {
        assert_eq!(timing_step(Unchanged, Regressed), Step::Mark(Mark::Good));
        assert_eq!(timing_step(Regressed, Unchanged), Step::Mark(Mark::Bad));
        assert_eq!(timing_step(Regressed, Regressed), Step::Split);
        assert_eq!(timing_step(Unchanged, Unchanged), Step::SmallSteps);
        for (a, b) in [(Inconclusive, Regressed), (Unchanged, Inconclusive), (NotComparable, Unchanged), (Regressed, NotComparable)] {
            assert_eq!(timing_step(a, b), Step::Unresolved, "{a:?} {b:?}");
        }
    }

    #[test]
    fn a_size_step_is_bad_only_above_the_good_value_and_its_tolerance() {
        assert_eq!(size_step(100.0, 100.0, 0.0), Mark::Good);
        assert_eq!(size_step(100.1, 100.0, 0.0), Mark::Bad);
        assert_eq!(size_step(100.4, 100.0, 0.5), Mark::Good);
        assert_eq!(size_step(99.0, 100.0, 0.0), Mark::Good);
    }
}
