//! The terminal view: run status, then one compact table, worst first.

use crate::gate::Status;
use crate::summary::{Record, Summary};

pub fn value_str(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) => format!("{v:.*}", decimals(v)),
    }
}

/// Decimals a figure is printed with: three or four significant digits.
fn decimals(v: f64) -> usize {
    if v.abs() >= 100.0 {
        1
    } else if v.abs() >= 1.0 {
        2
    } else {
        4
    }
}

/// The value's 95 % interval, compactly: `[1.20, 1.27]`. Both ends take the
/// value's decimals, so an interval that crosses 1 or 100 does not print
/// its ends to different precisions (`1.10 [0.7050, 1.25]`).
pub fn ci_str(r: &Record) -> String {
    match &r.value_ci {
        Some(ci) => {
            let d = decimals(r.value.unwrap_or(ci.point));
            format!("[{:.*}, {:.*}]", d, ci.lo, d, ci.hi)
        }
        None => "-".into(),
    }
}

/// The comparison with the base in one cell: the live ratio (or the
/// difference in points) with its interval, verdict and blocks; for sizes
/// the exact change.
pub fn vs_base(r: &Record) -> String {
    if let Some(c) = &r.comparison {
        let est = match (&c.estimate, c.measure.as_str()) {
            (Some(e), "ratio") => format!("x{:.3} [x{:.3}, x{:.3}] ", e.point, e.lo, e.hi),
            (Some(e), _) => format!("{:+.2} pp [{:+.2}, {:+.2}] ", e.point, e.lo, e.hi),
            (None, _) => String::new(),
        };
        return format!(
            "{est}{}, {} blk{}",
            c.verdict.as_str(),
            c.blocks,
            if c.extended { " (extended)" } else { "" }
        );
    }
    r.verdict
        .baseline_delta_pct
        .map(|p| format!("{p:+.1}%"))
        .unwrap_or_else(|| "-".into())
}

/// The order every table lists records in, in words (printed with them).
pub const ORDER: &str = "fail, then warn, then pass; within each, by metric, then profile (in budgets.toml order), then environment";

/// Records in [`ORDER`]: a reader finds a key where they expect it, and
/// the same key sits in the same place run after run.
pub fn worst_first(s: &Summary) -> Vec<&Record> {
    let mut rs: Vec<&Record> = s.records.iter().collect();
    let profile = |r: &Record| {
        s.profiles
            .iter()
            .position(|p| *p == r.profile)
            .unwrap_or(usize::MAX)
    };
    rs.sort_by(|a, b| {
        b.status
            .cmp(&a.status)
            .then_with(|| a.metric_id.cmp(&b.metric_id))
            .then_with(|| profile(a).cmp(&profile(b)))
            .then_with(|| a.profile.cmp(&b.profile))
            .then_with(|| a.environment.cmp(&b.environment))
    });
    rs
}

/// Long by design: the terminal report in reading order (table, then the lines under it), each line formatted where it is printed.
pub fn render(s: &Summary, color: bool) -> String {
    let paint = |st: Status, text: &str| -> String {
        if !color {
            return text.to_string();
        }
        let code = match st {
            Status::Pass => "32",
            Status::Accepted => "36",
            Status::Warn => "33",
            Status::Fail => "31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let mut out = String::new();
    let status = s.status.unwrap_or(Status::Fail);
    out.push_str(&format!(
        "\n{} {}{}\n",
        paint(
            status,
            &format!("run: {} ({})", super::light(s.status), status.as_str())
        ),
        if s.quick { "[quick: not gating] " } else { "" },
        if s.trend.is_empty() {
            String::new()
        } else {
            format!(
                " last {} runs: {}",
                s.trend.len(),
                s.trend
                    .iter()
                    .map(|t| paint(
                        t.status,
                        match t.status {
                            Status::Pass => "●",
                            Status::Accepted => "◆",
                            Status::Warn => "▲",
                            Status::Fail => "✖",
                        }
                    ))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    ));
    out.push_str(&format!("order: {ORDER}\n"));
    // Columns as wide as their longest entry (ids like M-PERF-02A-firefox).
    let width = |f: &dyn Fn(&crate::summary::Record) -> usize, min: usize| {
        s.records.iter().map(f).max().unwrap_or(0).max(min)
    };
    let (wm, wp, we) = (
        width(&|r| r.metric_id.len(), 11),
        width(&|r| r.profile.len(), 11),
        width(&|r| r.environment.len(), 13),
    );
    out.push_str(&format!(
        "{:<6} {:<wm$} {:<wp$} {:<we$} {:>10} {:>22} {:>8} {:>8} {:<5} {:<44} {}\n",
        "status",
        "metric",
        "profile",
        "env",
        "value",
        "95% CI",
        "warn",
        "cap",
        "unit",
        "vs base",
        "why"
    ));
    for r in worst_first(s) {
        let why = r.verdict.reasons.join("; ");
        out.push_str(&format!(
            "{} {:<wm$} {:<wp$} {:<we$} {:>10} {:>22} {:>8} {:>8} {:<5} {:<44} {}\n",
            paint(r.status, &format!("{:<6}", r.status.as_str())),
            r.metric_id,
            r.profile,
            r.environment,
            value_str(r.value),
            ci_str(r),
            value_str(r.threshold_warn),
            value_str(Some(r.threshold_hard)),
            r.unit,
            vs_base(r),
            why
        ));
    }
    for l in super::acceptance_lines(s) {
        out.push_str(&format!("accepted: {l}\n"));
    }
    let reuse = super::reuse_line(s);
    if !reuse.is_empty() {
        out.push_str(&format!("{reuse}\n"));
    }
    let cost = super::cost_lines(s);
    if !cost.is_empty() {
        out.push_str(&format!(
            "measuring cost: {}
",
            cost.join("; ")
        ));
        out.push_str(&format!(
            "costliest keys: {}
",
            super::costliest(s, 3).join("; ")
        ));
    }
    out
}
