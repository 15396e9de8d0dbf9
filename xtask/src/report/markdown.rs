//! Markdown for pull requests. A reviewer reads the top: the verdict, a
//! count of each status, then only what changed (size deltas first, then
//! fails, warns and timing comparisons that moved), with the reason for
//! each. The full table and the method notes follow, folded.

use super::{
    light,
    terminal::{ci_str, value_str, vs_base, worst_first},
    Exporter, ReportData,
};
use crate::gate::Status;
use crate::summary::Record;

/// Whether a record is more than a plain unchanged pass: a fail or warn, a
/// size that differs from its base, or a live comparison whose interval
/// excludes no change by at least half the limit (smaller moves are what
/// an A/A run shows by chance, see `stats/`).
pub fn changed(r: &Record) -> bool {
    if r.status != Status::Pass {
        return true;
    }
    if let Some(c) = &r.comparison {
        let Some(e) = &c.estimate else { return false };
        let (none, half) = if c.measure == "ratio" {
            (1.0, (c.limit - 1.0) / 2.0)
        } else {
            (0.0, c.limit / 2.0)
        };
        return (e.lo > none || e.hi < none) && (e.point - none).abs() >= half;
    }
    r.verdict.baseline_delta_pct.is_some_and(|d| d != 0.0)
}

/// Size records first (they compare exactly and say the most about a
/// change), then the order of every table.
fn changed_first(s: &crate::summary::Summary) -> Vec<&Record> {
    let mut rs: Vec<&Record> = worst_first(s).into_iter().filter(|r| changed(r)).collect();
    rs.sort_by_key(|r| r.environment != "size");
    rs
}

fn row(r: &Record) -> String {
    format!(
        "| {} | {} {} | {} | {} | {} {} | {} | {} | {} | {} |\n",
        icon(r.status),
        r.metric_id,
        r.metric_name,
        r.profile,
        r.environment,
        value_str(r.value),
        r.unit,
        ci_str(r),
        value_str(r.threshold_warn),
        value_str(Some(r.threshold_hard)),
        vs_base(r)
    )
}

const HEADER: &str = "| | metric | profile | env | value | 95 % CI | warn | cap | vs base |\n|---|---|---|---|---:|---:|---:|---:|---|\n";

pub struct Markdown;

fn icon(s: Status) -> &'static str {
    match s {
        Status::Pass => "🟢",
        Status::Accepted => "🔵",
        Status::Warn => "🟡",
        Status::Fail => "🔴",
    }
}

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    /// The summary, top to bottom. Long by design: a template in the order
    /// a reviewer reads it (verdict, what changed, then the folded detail).
    fn render(&self, d: &ReportData) -> String {
        let s = d.summary;
        if let Some((word, what)) = s.unfinished() {
            return format!(
                "## wasm budget: ⚠️ {word}\n\nThe gate {what} on commit `{}` (exit 2). This is never a pass, and no figure of an earlier run is shown.\n\n```\n{}\n```\n",
                s.commit,
                s.error.as_deref().unwrap_or("").replace("```", "` ` `")
            );
        }
        let mut out = String::new();
        let count = |st: Status| s.records.iter().filter(|r| r.status == st).count();
        out.push_str(&format!(
            "## wasm budget: {} {}{}\n\n**{} records: {} fail · {} warn · {} pass{}**{}\n\n",
            s.status.map(icon).unwrap_or("⚠️"),
            light(s.status),
            if s.quick {
                " (quick run: not gating)"
            } else {
                ""
            },
            s.records.len(),
            count(Status::Fail),
            count(Status::Warn),
            count(Status::Pass),
            match count(Status::Accepted) {
                0 => String::new(),
                n => format!(" · {n} accepted"),
            },
            if s.trend.is_empty() {
                String::new()
            } else {
                format!(
                    " · last {} runs, oldest first: {}",
                    s.trend.len(),
                    s.trend
                        .iter()
                        .map(|t| icon(t.status))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        ));
        let changed = changed_first(s);
        let compared = s
            .records
            .iter()
            .any(|r| r.comparison.is_some() || r.verdict.baseline_delta_pct.is_some());
        if changed.is_empty() {
            out.push_str(if compared {
                "Nothing changed: every figure is within its caps, sizes equal their base, and every timing reads unchanged against its base.\n"
            } else {
                "Every figure is within its caps. There was no base to compare with (`--against REF`, or `--bless` a run).\n"
            });
        } else {
            out.push_str(&format!("### What changed ({})\n\n{HEADER}", changed.len()));
            for r in &changed {
                out.push_str(&row(r));
            }
            out.push('\n');
            for r in &changed {
                let why = match (&r.comparison, r.status) {
                    (Some(c), Status::Pass) => c.reason.clone(),
                    _ => r.verdict.reasons.join("; "),
                };
                out.push_str(&format!(
                    "- **{} {} {}**: {why}\n",
                    r.metric_id, r.profile, r.environment
                ));
            }
        }
        let accepted = super::acceptance_lines(s);
        if !accepted.is_empty() {
            out.push_str(&format!(
                "\n### Accepted against the base ({}), by `Budget-Accept:` trailers\n\n",
                accepted.len()
            ));
            for l in &accepted {
                out.push_str(&format!("- {l}\n"));
            }
        }
        let reuse = super::reuse_line(s);
        if !reuse.is_empty() {
            let mut c = reuse.chars();
            let first = c.next().map(|f| f.to_uppercase().collect::<String>());
            out.push_str(&format!("\n{}{}.\n", first.unwrap_or_default(), c.as_str()));
        }
        let deps = super::dependency_lines(s);
        if deps.iter().any(|d| d.notable) {
            out.push_str("\n### Dependencies of the wasm build\n\n");
            for d in deps.iter().filter(|d| d.notable) {
                out.push_str(&format!("- **{}**: {}\n", d.profile, d.headline));
                for l in &d.details {
                    out.push_str(&format!("  - {l}\n"));
                }
            }
        }
        out.push_str(&format!(
            "\n<details><summary>All {} records, and how they were measured</summary>\n\nCommit `{}` · rustc `{}` · {} · {}\n\n",
            s.records.len(),
            s.commit,
            s.fingerprint.rustc,
            s.fingerprint.binaryen,
            match (super::browsers_line(&s.fingerprint), s.fingerprint.chromium.is_empty()) {
                (b, _) if !b.is_empty() => b,
                (_, true) if s.records.iter().any(|r| r.reused.is_some()) => {
                    "no browser started: every browser figure was reused".to_string()
                }
                (_, true) => "no browser stage".to_string(),
                (_, false) => s.fingerprint.chromium.clone(),
            }
        ));
        out.push_str(&format!("Order: {}.\n\n{HEADER}", super::terminal::ORDER));
        for r in worst_first(s) {
            out.push_str(&row(r));
        }
        if let Some(base) = s
            .records
            .iter()
            .find_map(|r| r.comparison.as_ref().map(|c| c.base.clone()))
        {
            out.push_str(&format!(
                "\nTimings are compared live with {base}: base and candidate measured in the same browser session, in interleaved blocks whose order is randomized per seed. \
                 \"vs base\" is the ratio candidate/base of the statistic, taken per round from the two blocks run back to back and then the median over rounds and seeds \
                 (for `%` metrics, the difference in percentage points of the two overheads), with its 95 % interval (bootstrap over seeds, then whole rounds), then the verdict: regressed (beyond the limit and the interval excludes no change), \
                 unchanged (the interval stays within the limit) or inconclusive (more blocks were added within the time budget; still unresolved, a warn).\n"
            ));
            let power: Vec<String> = s
                .records
                .iter()
                .filter_map(|r| {
                    let words = r.comparison.as_ref()?.power_words()?;
                    Some(format!(
                        "- {} {} {}: {words}\n",
                        r.metric_id, r.profile, r.environment
                    ))
                })
                .collect();
            if !power.is_empty() {
                out.push_str(&format!(
                    "\nPower: the smallest regression each live comparison would call regressed 19 times in 20, from the spread of its own interval at the blocks it ran:\n\n{}",
                    power.concat()
                ));
            }
        }
        let ticks: Vec<String> = s
            .records
            .iter()
            .filter_map(|r| {
                r.clock.as_ref().map(|c| {
                    format!(
                        "{} {} {}: {:.0} ticks",
                        r.metric_id, r.profile, r.environment, c.ticks
                    )
                })
            })
            .collect();
        if !ticks.is_empty() {
            out.push_str(&format!(
                "\nTimings against the clock ({} us ticks; below {} ticks a figure is unresolved): {}\n",
                s.fingerprint.timer_resolution_us.map(|t| format!("{t:.1}")).unwrap_or_else(|| "?".into()),
                s.records.iter().find_map(|r| r.clock.as_ref().map(|c| c.floor_ticks)).unwrap_or(0.0),
                ticks.join(" · ")
            ));
        }
        let t: Vec<String> = s
            .fingerprint
            .environments
            .iter()
            .filter_map(|(e, f)| {
                let a = f.throttle_achieved?;
                Some(format!(
                    "{e}: CDP rate {:.2} slowed the reference workload {a:.2}x (target {}x)",
                    f.throttle_rate.unwrap_or(0.0),
                    f.throttle
                ))
            })
            .collect();
        if !t.is_empty() {
            out.push_str(&format!("\nCPU throttling: {}\n", t.join("; ")));
        }
        let host = super::host_speed_line(&s.fingerprint);
        if !host.is_empty() {
            out.push_str(&format!(
                "\nHost speed ({}): {host}\n",
                super::HOST_SPEED_MEANS
            ));
        }
        let cost = super::cost_lines(s);
        if !cost.is_empty() {
            out.push_str(&format!(
                "\nMeasuring cost ({}): {}. Costliest keys: {}.\n",
                super::COST_MEANS,
                cost.join("; "),
                super::costliest(s, 3).join("; ")
            ));
        }
        out.push_str("\nSizes per profile, in bytes:\n\n| profile | raw | gzip | brotli | no custom sections | input raw |\n|---|---:|---:|---:|---:|---:|\n");
        for a in &s.artifacts {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                a.profile,
                a.sizes.raw_bytes,
                a.sizes.gzip_bytes,
                a.sizes.brotli_bytes,
                a.sizes.stripped_bytes,
                a.input_raw_bytes
            ));
        }
        if !deps.is_empty() {
            out.push_str("\nDependency closure per profile (`cargo tree`, wasm32, the profile's features):\n\n");
            for d in &deps {
                out.push_str(&format!("- {}: {}\n", d.profile, d.headline));
                // A notable profile's lines are at the top already.
                for l in d.details.iter().filter(|_| !d.notable) {
                    out.push_str(&format!("  - {l}\n"));
                }
            }
        }
        out.push_str("\n</details>\n");
        out
    }
}
