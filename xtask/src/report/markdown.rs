//! Markdown for pull requests: the run status and trend, then one table,
//! worst first, then the reasons for every non-pass.

use super::{light, terminal::{ci_str, value_str, vs_base, worst_first}, Exporter, ReportData};
use crate::gate::Status;

pub struct Markdown;

fn icon(s: Status) -> &'static str {
    match s {
        Status::Pass => "🟢",
        Status::Warn => "🟡",
        Status::Fail => "🔴",
    }
}

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn render(&self, d: &ReportData) -> String {
        let s = d.summary;
        if let Some(e) = &s.error {
            return format!(
                "## wasm budget: ⚠️ error\n\nThe gate could not do its job on commit `{}` (exit 2). This is never a pass, and no figure of an earlier run is shown.\n\n```\n{}\n```\n",
                s.commit,
                e.replace("```", "` ` `")
            );
        }
        let mut out = String::new();
        out.push_str(&format!(
            "## wasm budget: {} {}{}\n\n",
            s.status.map(icon).unwrap_or("⚠️"),
            light(s.status),
            if s.quick { " (quick run: not gating)" } else { "" }
        ));
        if !s.trend.is_empty() {
            out.push_str(&format!(
                "Last {} runs (oldest first): {}\n\n",
                s.trend.len(),
                s.trend.iter().map(|t| icon(t.status)).collect::<Vec<_>>().join(" ")
            ));
        }
        out.push_str(&format!(
            "Commit `{}` · rustc `{}` · {} · {}\n\n",
            s.commit,
            s.fingerprint.rustc,
            s.fingerprint.binaryen,
            match (super::browsers_line(&s.fingerprint), s.fingerprint.chromium.is_empty()) {
                (b, _) if !b.is_empty() => b,
                (_, true) => "no browser stage".to_string(),
                (_, false) => s.fingerprint.chromium.clone(),
            }
        ));
        out.push_str(&format!("Order: {}.\n\n", super::terminal::ORDER));
        out.push_str("| | metric | profile | env | value | 95 % CI | warn | cap | vs base |\n|---|---|---|---|---:|---:|---:|---:|---|\n");
        for r in worst_first(s) {
            out.push_str(&format!(
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
            ));
        }
        let bad: Vec<_> = worst_first(s).into_iter().filter(|r| r.status != Status::Pass).collect();
        if !bad.is_empty() {
            out.push_str("\n### Why\n\n");
            for r in bad {
                out.push_str(&format!("- **{} {} {}**: {}\n", r.metric_id, r.profile, r.environment, r.verdict.reasons.join("; ")));
            }
        }
        if let Some(base) = s.records.iter().find_map(|r| r.comparison.as_ref().map(|c| c.base.clone())) {
            out.push_str(&format!(
                "\nTimings are compared live with {base}: base and candidate measured in the same browser session, in interleaved blocks whose order is randomized per seed. \
                 \"vs base\" is the ratio candidate/base of the statistic, taken per round from the two blocks run back to back and then the median over rounds and seeds \
                 (for `%` metrics, the difference in percentage points of the two overheads), with its 95 % interval (bootstrap over seeds, then whole rounds), then the verdict: regressed (beyond the limit and the interval excludes no change), \
                 unchanged (the interval stays within the limit) or inconclusive (more blocks were added within the time budget; still unresolved, a warn).\n"
            ));
        }
        let ticks: Vec<String> = s
            .records
            .iter()
            .filter_map(|r| r.clock.as_ref().map(|c| format!("{} {} {}: {:.0} ticks", r.metric_id, r.profile, r.environment, c.ticks)))
            .collect();
        if !ticks.is_empty() {
            out.push_str(&format!(
                "\n<details><summary>Timings against the clock ({} us ticks; below {} ticks a figure is unresolved)</summary>\n\n{}\n\n</details>\n",
                s.fingerprint.timer_resolution_us.map(|t| format!("{t:.1}")).unwrap_or_else(|| "?".into()),
                s.records.iter().find_map(|r| r.clock.as_ref().map(|c| c.floor_ticks)).unwrap_or(0.0),
                ticks.join(" · ")
            ));
        }
        if !s.fingerprint.throttle_achieved.is_empty() {
            let t: Vec<String> = s
                .fingerprint
                .throttle_achieved
                .iter()
                .map(|(e, a)| format!("{e}: CDP rate {:.2} slowed the reference workload {a:.2}x (target {}x)", s.fingerprint.throttle_rate.get(e).copied().unwrap_or(0.0), s.fingerprint.throttle.get(e).copied().unwrap_or(0.0)))
                .collect();
            out.push_str(&format!("\nCPU throttling: {}\n", t.join("; ")));
        }
        let host = super::host_speed_line(&s.fingerprint);
        if !host.is_empty() {
            out.push_str(&format!("\nHost speed ({}): {host}\n", super::HOST_SPEED_MEANS));
        }
        out.push_str("\n<details><summary>Sizes per profile</summary>\n\n| profile | raw | gzip | brotli | no custom sections | input raw |\n|---|---:|---:|---:|---:|---:|\n");
        for a in &s.artifacts {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                a.profile, a.sizes.raw_bytes, a.sizes.gzip_bytes, a.sizes.brotli_bytes, a.sizes.stripped_bytes, a.input_raw_bytes
            ));
        }
        out.push_str("\n</details>\n");
        out
    }
}
