//! Accepting an intended regression: a `Budget-Accept:` trailer in a commit
//! message between the base and the candidate lets a regression against the
//! base through, up to a bound, with a reason, where reviewers see it:
//!
//! ```text
//! Budget-Accept: M-PERF-01B core-min +15% adds the zstd codec
//! Budget-Accept: M-PERF-04C * desktop x1.08 a safety check per spawn
//! ```
//!
//! The metric's id, then optionally a profile and an environment (globs:
//! `*` matches any run of characters), then the bound in the metric's terms
//! (`+N%` for sizes, `+N%` meaning percentage points for relative `%`
//! metrics, `xR` for the ratio of a live timing), then the reason, which is
//! required. The bound is an upper bound on the change: a size within it,
//! or a timing whose whole interval is within it, is `accepted`; beyond it
//! the key fails as without the trailer, and the reason says by how much.
//! A hard cap is never lifted: caps change in budgets.toml, where they are
//! reviewed like code. Acceptances do not carry over: each run reads the
//! commits between its own base and candidate.
//!
//! Pure: the commits come in as text (`subject::acceptances` reads them
//! with git), and every rule here is tested on fixed numbers.

use crate::config::Config;
use crate::util::short;
use serde::{Deserialize, Serialize};

/// The trailer's key.
pub const TRAILER: &str = "Budget-Accept:";

/// What a key may grow by against its base.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// Sizes: percent of the base. Relative metrics: percentage points.
    Percent(f64),
    /// Live timings: the ratio candidate/base.
    Ratio(f64),
}

impl Bound {
    /// As written in a trailer: `+15%`, `x1.08`.
    pub fn text(self) -> String {
        match self {
            Bound::Percent(p) => format!("+{p}%"),
            Bound::Ratio(r) => format!("x{r}"),
        }
    }
}

/// One acceptance, as a commit carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The metric's id in budgets.toml.
    pub metric: String,
    /// Glob over profile names (`*` when the trailer names none).
    pub profile: String,
    /// Glob over environment names (`*` when the trailer names none).
    pub environment: String,
    /// What the key may grow by.
    pub bound: Bound,
    /// Why, in words (required).
    pub reason: String,
    /// The commit whose message carries it.
    pub commit: String,
    /// Its author, `Name <email>`.
    pub author: String,
    /// The trailer's line in the message, 1-based.
    pub line: usize,
}

impl Acceptance {
    /// Does it name key (metric, profile, environment)?
    pub fn covers(&self, metric: &str, profile: &str, environment: &str) -> bool {
        self.metric == metric
            && glob(&self.profile, profile)
            && glob(&self.environment, environment)
    }

    /// In words, for reasons and reports: `+15% (abc1234: adds the zstd codec)`.
    pub fn text(&self) -> String {
        format!(
            "{} accepted in {} ({}): {}",
            self.bound.text(),
            short(&self.commit),
            self.author,
            self.reason
        )
    }
}

/// One commit's message, as `git log` gives it.
pub struct Commit<'a> {
    /// The commit's full hash.
    pub sha: &'a str,
    /// Its author, `Name <email>`.
    pub author: &'a str,
    /// Its whole message.
    pub message: &'a str,
}

/// A trailer that cannot be used, with where it is and what would be valid.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailerError {
    /// The commit whose message carries the trailer.
    pub commit: String,
    /// The trailer's line in the message, 1-based.
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// What is wrong with it, in words.
    pub problem: String,
}

impl std::fmt::Display for TrailerError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "commit {} line {}: `{}`: {}. Valid: `{TRAILER} METRIC [PROFILE [ENVIRONMENT]] BOUND REASON`, \
             BOUND `+N%` for a size or a % metric, `xR` for a live timing (e.g. `{TRAILER} M-PERF-01B core-min +15% adds the zstd codec`)",
            short(&self.commit),
            self.line,
            self.text,
            self.problem
        )
    }
}

impl std::error::Error for TrailerError {}

/// Every `Budget-Accept:` line of the commits, parsed; the first line that
/// cannot be parsed is an error.
pub fn parse(commits: &[Commit]) -> Result<Vec<Acceptance>, TrailerError> {
    let mut out = Vec::new();
    for c in commits {
        for (i, line) in c.message.lines().enumerate() {
            let Some(rest) = line.trim().strip_prefix(TRAILER) else {
                continue;
            };
            let err = |problem: &str| TrailerError {
                commit: c.sha.to_string(),
                line: i + 1,
                text: line.trim().to_string(),
                problem: problem.to_string(),
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            let Some((&metric, after)) = words.split_first() else {
                return Err(err("it names no metric"));
            };
            let Some(at) = after.iter().position(|w| looks_like_bound(w)) else {
                return Err(err("it has no bound (+N% or xR)"));
            };
            if at > 2 {
                return Err(err(&format!(
                    "`{}` is neither a profile, an environment nor a bound",
                    after[2]
                )));
            }
            let bound = parse_bound(after[at]).map_err(|p| err(&p))?;
            let reason = after[at + 1..].join(" ");
            if reason.is_empty() {
                return Err(err(
                    "it gives no reason after the bound; the reason is required",
                ));
            }
            out.push(Acceptance {
                metric: metric.to_string(),
                profile: after
                    .first()
                    .filter(|_| at >= 1)
                    .unwrap_or(&"*")
                    .to_string(),
                environment: after.get(1).filter(|_| at >= 2).unwrap_or(&"*").to_string(),
                bound,
                reason,
                commit: c.sha.to_string(),
                author: c.author.to_string(),
                line: i + 1,
            });
        }
    }
    Ok(out)
}

fn looks_like_bound(w: &str) -> bool {
    (w.starts_with('+') && w.ends_with('%'))
        || (w.starts_with('x') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
}

fn parse_bound(w: &str) -> Result<Bound, String> {
    let bad = || format!("`{w}` is not a bound");
    if let Some(p) = w.strip_prefix('+').and_then(|p| p.strip_suffix('%')) {
        let v: f64 = p.parse().map_err(|_| bad())?;
        return if v.is_finite() && v > 0.0 {
            Ok(Bound::Percent(v))
        } else {
            Err(format!("`{w}`: a percentage bound must be above 0"))
        };
    }
    let v: f64 = w[1..].parse().map_err(|_| bad())?;
    if v.is_finite() && v > 1.0 {
        Ok(Bound::Ratio(v))
    } else {
        Err(format!("`{w}`: a ratio bound must be above x1"))
    }
}

/// Check each acceptance against the configuration: it must name a key
/// that exists among `profiles`, and its bound must be in its metric's
/// terms (a ratio only for a live timing, a percentage otherwise).
pub fn check(
    acceptances: &[Acceptance],
    cfg: &Config,
    profiles: &[String],
) -> Result<(), TrailerError> {
    for a in acceptances {
        let err = |problem: String| TrailerError {
            commit: a.commit.clone(),
            line: a.line,
            text: format!(
                "{TRAILER} {} {} {} {} {}",
                a.metric,
                a.profile,
                a.environment,
                a.bound.text(),
                a.reason
            ),
            problem,
        };
        let Some(m) = cfg.metrics.iter().find(|m| m.id == a.metric) else {
            let ids: Vec<&str> = cfg.metrics.iter().map(|m| m.id.as_str()).collect();
            return Err(err(format!(
                "no metric `{}` in {} (metrics: {})",
                a.metric,
                cfg.budgets_file.display(),
                ids.join(", ")
            )));
        };
        let keys = profiles
            .iter()
            .filter(|p| m.caps.contains_key(*p))
            .filter(|p| a.covers(&m.id, p, &m.environment))
            .count();
        if keys == 0 {
            return Err(err(format!(
                "it names no key of this run: {} is gated for profiles {} in environment {}",
                m.id,
                m.caps.keys().cloned().collect::<Vec<_>>().join(", "),
                m.environment
            )));
        }
        let live_timing =
            matches!(m.source, crate::config::Source::Scenario(_)) && !m.is_relative();
        match (a.bound, live_timing) {
            (Bound::Ratio(_), false) => {
                return Err(err(format!(
                    "{} is compared as a percentage, so its bound is `+N%`",
                    m.id
                )))
            }
            (Bound::Percent(_), true) => {
                return Err(err(format!(
                    "{} is a live timing, compared as a ratio, so its bound is `xR` (x1.08 lets it grow 8 %)",
                    m.id
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The acceptance that applies to a key: the last one in history order
/// (the commits come oldest first, so a later commit's trailer wins).
pub fn for_key<'a>(
    acceptances: &'a [Acceptance],
    metric: &str,
    profile: &str,
    environment: &str,
) -> Option<&'a Acceptance> {
    acceptances
        .iter()
        .rev()
        .find(|a| a.covers(metric, profile, environment))
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, tail)) => {
            let Some(rest) = s.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(msg: &str) -> Result<Vec<Acceptance>, TrailerError> {
        parse(&[Commit {
            sha: "0123456789abcdef0123",
            author: "Ada <ada@example.com>",
            message: msg,
        }])
    }

    #[test]
    fn a_trailer_names_metric_keys_bound_and_reason() {
        let a = one("Add zstd\n\nBudget-Accept: M-PERF-01B core-min +15% adds the zstd codec\n")
            .unwrap();
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(
            (
                a.metric.as_str(),
                a.profile.as_str(),
                a.environment.as_str()
            ),
            ("M-PERF-01B", "core-min", "*")
        );
        assert_eq!(a.bound, Bound::Percent(15.0));
        assert_eq!(a.reason, "adds the zstd codec");
        assert_eq!(a.line, 3);
        assert!(a.covers("M-PERF-01B", "core-min", "size"));
        assert!(!a.covers("M-PERF-01B", "core-trace", "size"));
        let b = &one("Budget-Accept: M-PERF-04C * desk* x1.08 a check per spawn").unwrap()[0];
        assert_eq!(b.bound, Bound::Ratio(1.08));
        assert!(b.covers("M-PERF-04C", "full-dev", "desktop-eager"));
        assert!(!b.covers("M-PERF-04C", "full-dev", "mobile"));
        let c = &one("Budget-Accept: M-PERF-02A x1.2 slower init, on purpose").unwrap()[0];
        assert_eq!((c.profile.as_str(), c.environment.as_str()), ("*", "*"));
    }

    #[test]
    fn a_malformed_trailer_names_commit_line_and_what_is_valid() {
        for (msg, problem) in [
            ("x\nBudget-Accept: M-PERF-01B core-min +15%", "no reason"),
            (
                "x\nBudget-Accept: M-PERF-01B core-min 15% codec",
                "no bound",
            ),
            ("x\nBudget-Accept:", "no metric"),
            (
                "x\nBudget-Accept: M-PERF-01B a b c +15% why",
                "neither a profile",
            ),
            ("x\nBudget-Accept: M-PERF-04C x0.9 faster", "above x1"),
            ("x\nBudget-Accept: M-PERF-01B +0% nothing", "above 0"),
            ("x\nBudget-Accept: M-PERF-01B +a% nothing", "not a bound"),
        ] {
            let e = one(msg).unwrap_err();
            assert_eq!(e.line, 2, "{msg}");
            let text = e.to_string();
            assert!(text.contains(problem), "{msg}: {text}");
            assert!(text.starts_with("commit 0123456789ab line 2"), "{text}");
            assert!(text.contains("Valid: `Budget-Accept: METRIC"), "{text}");
        }
    }

    #[test]
    fn the_later_commit_wins_and_globs_match_runs_of_characters() {
        let commits = [
            Commit {
                sha: "a1",
                author: "A",
                message: "Budget-Accept: M +5% first",
            },
            Commit {
                sha: "b2",
                author: "B",
                message: "Budget-Accept: M core-* +9% second",
            },
        ];
        let all = parse(&commits).unwrap();
        assert_eq!(
            for_key(&all, "M", "core-min", "size").unwrap().reason,
            "second"
        );
        assert_eq!(
            for_key(&all, "M", "full-dev", "size").unwrap().reason,
            "first"
        );
        assert!(for_key(&all, "N", "core-min", "size").is_none());
        assert!(glob("*", ""));
        assert!(glob("c*e-m*", "core-min"));
        assert!(!glob("c*x", "core-min"));
    }
}
