//! Markdown for pull requests: the run status and trend, then one table,
//! worst first, then the reasons for every non-pass.

use super::{light, terminal::{value_str, worst_first}, Exporter, ReportData};
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
            if s.fingerprint.chromium.is_empty() { "no browser stage".to_string() } else { s.fingerprint.chromium.clone() }
        ));
        out.push_str("| | metric | profile | env | value | warn | cap | Δ baseline |\n|---|---|---|---|---:|---:|---:|---:|\n");
        for r in worst_first(s) {
            out.push_str(&format!(
                "| {} | {} {} | {} | {} | {} {} | {} | {} | {} |\n",
                icon(r.status),
                r.metric_id,
                r.metric_name,
                r.profile,
                r.environment,
                value_str(r.value),
                r.unit,
                value_str(r.threshold_warn),
                value_str(Some(r.threshold_hard)),
                r.verdict.baseline_delta_pct.map(|p| format!("{p:+.1}%")).unwrap_or_else(|| "-".into())
            ));
        }
        let bad: Vec<_> = worst_first(s).into_iter().filter(|r| r.status != Status::Pass).collect();
        if !bad.is_empty() {
            out.push_str("\n### Why\n\n");
            for r in bad {
                out.push_str(&format!("- **{} {} {}**: {}\n", r.metric_id, r.profile, r.environment, r.verdict.reasons.join("; ")));
            }
        }
        let warns: Vec<_> = s.records.iter().filter_map(|r| r.timer_warning.as_ref().map(|w| (r, w))).collect();
        if !warns.is_empty() {
            out.push_str("\n### Timer resolution\n\n");
            for (r, w) in warns {
                out.push_str(&format!("- {} {}: {}\n", r.metric_id, r.profile, w));
            }
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
