//! The terminal view: run status, then one compact table, worst first.

use crate::gate::Status;
use crate::summary::{Record, Summary};

pub fn value_str(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.1}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// Records ordered worst first: fail, warn, pass; then by how close to the cap.
pub fn worst_first(s: &Summary) -> Vec<&Record> {
    let mut rs: Vec<&Record> = s.records.iter().collect();
    let ratio = |r: &Record| r.value.map(|v| v / r.threshold_hard.max(f64::MIN_POSITIVE)).unwrap_or(f64::INFINITY);
    rs.sort_by(|a, b| {
        b.status.cmp(&a.status).then(ratio(b).partial_cmp(&ratio(a)).unwrap_or(std::cmp::Ordering::Equal))
    });
    rs
}

pub fn render(s: &Summary, color: bool) -> String {
    let paint = |st: Status, text: &str| -> String {
        if !color {
            return text.to_string();
        }
        let code = match st {
            Status::Pass => "32",
            Status::Warn => "33",
            Status::Fail => "31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let mut out = String::new();
    let status = s.status.unwrap_or(Status::Fail);
    out.push_str(&format!(
        "\n{} {}{}\n",
        paint(status, &format!("run: {} ({})", super::light(s.status), status.as_str())),
        if s.quick { "[quick: not gating] " } else { "" },
        if s.trend.is_empty() {
            String::new()
        } else {
            format!(
                " last {} runs: {}",
                s.trend.len(),
                s.trend.iter().map(|t| paint(t.status, match t.status { Status::Pass => "●", Status::Warn => "▲", Status::Fail => "✖" })).collect::<Vec<_>>().join(" ")
            )
        }
    ));
    out.push_str(&format!(
        "{:<6} {:<11} {:<11} {:<8} {:>10} {:>10} {:>10} {:<5}  {}\n",
        "status", "metric", "profile", "env", "value", "warn", "cap", "unit", "why"
    ));
    for r in worst_first(s) {
        let why = r.verdict.reasons.join("; ");
        out.push_str(&format!(
            "{} {:<11} {:<11} {:<8} {:>10} {:>10} {:>10} {:<5}  {}\n",
            paint(r.status, &format!("{:<6}", r.status.as_str())),
            r.metric_id,
            r.profile,
            r.environment,
            value_str(r.value),
            value_str(r.threshold_warn),
            value_str(Some(r.threshold_hard)),
            r.unit,
            why
        ));
    }
    out
}
