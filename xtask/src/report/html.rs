//! A self-contained HTML report (inline SVG, CSS and one inline script for
//! the treemaps; nothing fetched, no network): run status and trend, budget
//! bars, the comparisons with the base, distributions, trend lines over the
//! ledger, and a size treemap per profile.

use super::axis::Axis;
use super::treemap;
use super::{light, terminal::value_str, Exporter, ReportData};
use crate::attribute::Report as Attr;
use crate::gate::Status;
use crate::ledger;

pub struct Html;

pub(crate) use crate::util::html_escape as esc;

fn color(s: Status) -> &'static str {
    match s {
        Status::Pass => "#2e9d4f",
        Status::Accepted => "#2a7ab0",
        Status::Warn => "#d8a200",
        Status::Fail => "#d33",
    }
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}.pill{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #ddd;padding:6px}
svg text{font:11px system-ui,sans-serif}
.tm-bar{margin:6px 0}.tm-search{width:320px}.tm-crumbs{margin:4px 0;font-size:13px}.tm rect{cursor:pointer}
.tm rect.tm-hit{stroke:#000;stroke-width:2}";

/// One horizontal bar: the value as a share of its cap, on a log scale
/// from 0.1 % to past the cap, so a value at 1 % of its cap is as readable
/// as one at 90 % (on a linear scale both a 30 KiB module under a 650 KiB
/// cap and a 1 ms init under 60 ms were slivers at the left edge).
fn budget_bar(value: Option<f64>, warn: Option<f64>, cap: f64, status: Status) -> String {
    let (w, lo) = (260.0, 1e-3_f64);
    let share = |v: f64| {
        if cap > 0.0 {
            v / cap
        } else if v > 0.0 {
            1.0
        } else {
            0.0
        }
    };
    let hi = value.map(share).unwrap_or(0.0).max(1.0) * 1.15;
    let x =
        |sh: f64| (w * (sh.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10())).clamp(0.0, w);
    let mut s = format!("<svg class=\"bar\" width=\"{}\" height=\"16\" role=\"img\"><rect width=\"{w}\" height=\"16\" fill=\"#f2f2f2\"/>", w + 70.0);
    for (g, label) in [(0.01, "1%"), (0.1, "10%")] {
        s.push_str(&format!("<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"0\" y2=\"16\" stroke=\"#ccc\"/><text x=\"{1:.1}\" y=\"12\" fill=\"#999\">{label}</text>", x(g), x(g) + 2.0));
    }
    if let Some(v) = value {
        s.push_str(&format!(
            "<rect width=\"{:.1}\" height=\"16\" fill=\"{}\" fill-opacity=\"0.85\"/>",
            x(share(v)),
            color(status)
        ));
    }
    if let Some(wv) = warn {
        s.push_str(&format!("<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"0\" y2=\"16\" stroke=\"#d8a200\" stroke-width=\"2\"/>", x(share(wv))));
    }
    s.push_str(&format!(
        "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"0\" y2=\"16\" stroke=\"#000\" stroke-width=\"2\"/>",
        x(1.0)
    ));
    if let Some(v) = value {
        let pct = share(v) * 100.0;
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"12\">{}</text>",
            w + 4.0,
            if pct < 0.1 {
                "&lt; 0.1 %".to_string()
            } else if pct < 10.0 {
                format!("{pct:.2} %")
            } else {
                format!("{pct:.0} %")
            }
        ));
    }
    s.push_str("</svg>");
    s
}

/// One key's distribution: the CDF of every sample, seeds merged (blue),
/// the base's measured beside it (grey, dashed), and each seed's figure as a
/// point on the statistic's line (filled: candidate, hollow: base). The x
/// axis spans the data (`Axis`: log where they span more than a decade);
/// cap and warn lines are drawn where they fit and named off scale where
/// they do not.
///
/// Long by design: one SVG assembled element by element (axis, curves, seed points, cap and warn lines), each placed with its own coordinates.
fn cdf_plot(r: &crate::summary::Record, cdf: &crate::stats::Cdf) -> String {
    let (w, h, left, right, top, bottom) = (380.0, 220.0, 34.0, 10.0, 34.0, 30.0);
    let base_seeds: &[f64] = r
        .comparison
        .as_ref()
        .map(|c| c.base_per_seed.as_slice())
        .unwrap_or(&[]);
    let seeds: Vec<f64> = r.per_seed.iter().map(|s| s.value).collect();
    let data: Vec<f64> = cdf
        .candidate
        .iter()
        .chain(cdf.base.iter().flatten())
        .map(|p| p.0)
        .chain(seeds.iter().copied())
        .chain(base_seeds.iter().copied())
        .collect();
    let marks: Vec<f64> = std::iter::once(r.threshold_hard)
        .chain(r.threshold_warn)
        .collect();
    let axis = Axis::fit(&data, &marks);
    let sx = |v: f64| left + axis.pos(v) * (w - left - right);
    let sy = |f: f64| h - bottom - f * (h - top - bottom);
    let path = |pts: &[(f64, f64)]| {
        pts.iter()
            .enumerate()
            .map(|(i, (x, f))| {
                format!(
                    "{}{:.1},{:.1}",
                    if i == 0 { "M" } else { "L" },
                    sx(*x),
                    sy(*f)
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let stat = if cdf.quantile == 0.5 { "median" } else { "p95" };
    let title = format!(
        "{} {} {} ({}){}",
        r.metric_id,
        r.profile,
        r.environment,
        r.unit,
        if axis.log { ", log scale" } else { "" }
    );
    let mut s = format!(
        "<div class=\"plot cdf\"><svg width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"CDF {t}\"><text x=\"{left}\" y=\"12\">{t}</text>\
         <line x1=\"{left}\" y1=\"{b:.1}\" x2=\"{r:.1}\" y2=\"{b:.1}\" stroke=\"#999\"/><line x1=\"{left}\" y1=\"{tp:.1}\" x2=\"{left}\" y2=\"{b:.1}\" stroke=\"#999\"/>\
         <line x1=\"{left}\" y1=\"{q:.1}\" x2=\"{r:.1}\" y2=\"{q:.1}\" stroke=\"#bbb\" stroke-dasharray=\"3\"/><text x=\"2\" y=\"{ql:.1}\">{stat}</text>",
        t = esc(&title),
        b = sy(0.0),
        tp = sy(1.0),
        r = w - right,
        q = sy(cdf.quantile),
        ql = sy(cdf.quantile) + 4.0,
    );
    for t in axis.ticks() {
        s.push_str(&format!(
            "<line class=\"tick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{b:.1}\" y2=\"{b2:.1}\" stroke=\"#999\"/><text x=\"{x:.1}\" y=\"{bl:.1}\" text-anchor=\"middle\">{l}</text>",
            x = sx(t),
            b = sy(0.0),
            b2 = sy(0.0) + 4.0,
            bl = h - bottom + 16.0,
            l = axis.label(t)
        ));
    }
    // Budget lines, or where they are in words.
    let mut off = Vec::new();
    for (name, v, col, dy) in [
        ("cap", Some(r.threshold_hard), "#d33", 0.0),
        ("warn", r.threshold_warn, "#d8a200", 11.0),
    ] {
        let Some(v) = v else { continue };
        if axis.contains(v) {
            s.push_str(&format!(
                "<line x1=\"{x:.1}\" y1=\"{tp:.1}\" x2=\"{x:.1}\" y2=\"{b:.1}\" stroke=\"{col}\"/><text x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" fill=\"{col}\">{name} {}</text>",
                value_str(Some(v)),
                x = sx(v),
                tp = sy(1.0),
                b = sy(0.0),
                ty = sy(1.0) - 2.0 + dy,
            ));
        } else {
            off.push(format!(
                "{name} at {} {}, off scale",
                value_str(Some(v)),
                r.unit
            ));
        }
    }
    if !off.is_empty() {
        s.push_str(&format!(
            "<text class=\"offscale\" x=\"{left}\" y=\"26\">{}</text>",
            esc(&off.join("; "))
        ));
    }
    if let Some(b) = &cdf.base {
        s.push_str(&format!("<path d=\"{}\" fill=\"none\" stroke=\"#888\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"><title>base</title></path>", path(b)));
    }
    s.push_str(&format!("<path d=\"{}\" fill=\"none\" stroke=\"#2a6fdb\" stroke-width=\"1.5\"><title>candidate</title></path>", path(&cdf.candidate)));
    for v in base_seeds {
        s.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"none\" stroke=\"#666\"><title>base seed {stat} {}</title></circle>", sx(*v), sy(cdf.quantile), value_str(Some(*v))));
    }
    for sv in &r.per_seed {
        s.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#2a6fdb\"><title>seed {} {stat} {}</title></circle>",
            sx(sv.value),
            sy(cdf.quantile),
            sv.seed,
            value_str(Some(sv.value))
        ));
    }
    s.push_str("</svg></div>");
    s
}

/// The live comparisons: one row per timing key, the ratio candidate/base
/// (or the difference in points) as a point with its 95 % interval, the
/// no-change line and the limit drawn. The axis spans every interval and
/// the limits, so nothing is off scale.
///
/// Long by design: one SVG per measure assembled element by element, with the axis chosen from every row before any is drawn.
fn comparison_plot(rows: &[&crate::summary::Record]) -> String {
    let rows: Vec<(
        &crate::summary::Record,
        &crate::summary::Comparison,
        crate::stats::Interval,
    )> = rows
        .iter()
        .filter_map(|r| {
            r.comparison
                .as_ref()
                .and_then(|c| c.estimate.map(|e| (*r, c, e)))
        })
        .collect();
    if rows.is_empty() {
        return "<p>No live comparison in this run (no base: bless a baseline or pass --against REF).</p>".into();
    }
    let mut out = String::new();
    for measure in ["ratio", "difference_pp"] {
        let part: Vec<_> = rows
            .iter()
            .filter(|(_, c, _)| c.measure == measure)
            .collect();
        if part.is_empty() {
            continue;
        }
        let none = if measure == "ratio" { 1.0 } else { 0.0 };
        let lo = part.iter().map(|(_, _, e)| e.lo).fold(none, f64::min);
        let hi = part
            .iter()
            .map(|(_, c, e)| e.hi.max(c.limit))
            .fold(none, f64::max);
        let span = (hi - lo).max(1e-9);
        let (lo, hi) = (lo - span * 0.08, hi + span * 0.08);
        let (label_w, plot_w, row_h) = (300.0, 520.0, 18.0);
        let h = row_h * part.len() as f64 + 30.0;
        let sx = |v: f64| label_w + (v - lo) / (hi - lo) * plot_w;
        let fmt_axis = |v: f64| {
            if measure == "ratio" {
                format!("x{v:.2}")
            } else {
                format!("{v:+.1} pp")
            }
        };
        out.push_str(&format!(
            "<div class=\"plot ratios\"><svg width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\" aria-label=\"comparisons {measure}\">\
             <line x1=\"{n:.1}\" x2=\"{n:.1}\" y1=\"4\" y2=\"{b:.1}\" stroke=\"#999\"/><text x=\"{n:.1}\" y=\"{bl:.1}\" text-anchor=\"middle\">{nl}</text>",
            w = label_w + plot_w + 20.0,
            n = sx(none),
            b = h - 18.0,
            bl = h - 4.0,
            nl = fmt_axis(none),
        ));
        for (i, (r, c, e)) in part.iter().enumerate() {
            let y = 12.0 + i as f64 * row_h;
            let col = match c.verdict {
                crate::stats::AbVerdict::Regressed => "#d33",
                crate::stats::AbVerdict::Inconclusive => "#d8a200",
                _ => "#2a6fdb",
            };
            out.push_str(&format!(
                "<text x=\"4\" y=\"{ty:.1}\">{label}</text>\
                 <line x1=\"{l:.1}\" x2=\"{l:.1}\" y1=\"{y0:.1}\" y2=\"{y1:.1}\" stroke=\"#d33\" stroke-dasharray=\"2\"/>\
                 <line x1=\"{a:.1}\" x2=\"{z:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{col}\" stroke-width=\"3\"><title>{title}</title></line>\
                 <circle cx=\"{p:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{col}\"/>",
                ty = y + 4.0,
                label = esc(&format!("{} {} {} — {}", r.metric_id, r.profile, r.environment, c.verdict.as_str())),
                l = sx(c.limit),
                y0 = y - row_h / 2.0,
                y1 = y + row_h / 2.0,
                a = sx(e.lo),
                z = sx(e.hi),
                p = sx(e.point),
                title = esc(&match c.power_words() {
                    Some(p) => format!("{}; {p}", c.reason),
                    None => c.reason.clone(),
                }),
            ));
        }
        // The axis ends, unless they would print over the no-change label.
        for (v, anchor) in [(lo, "start"), (hi, "end")] {
            let x = if anchor == "start" {
                label_w
            } else {
                label_w + plot_w
            };
            if (x - sx(none)).abs() > 48.0 {
                out.push_str(&format!(
                    "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                    h - 4.0,
                    fmt_axis(v)
                ));
            }
        }
        out.push_str("</svg></div>");
    }
    out
}

/// Trend of one key's values over the ledger runs.
fn trend_plot(title: &str, vals: &[(Option<f64>, Status)], cap: f64) -> String {
    let (w, h, pad) = (240.0, 90.0, 8.0);
    let max = vals.iter().filter_map(|v| v.0).fold(cap, f64::max) * 1.1;
    let n = vals.len().max(2) as f64 - 1.0;
    let sx = |i: usize| pad + i as f64 / n * (w - 2.0 * pad);
    let sy = |v: f64| h - pad - v / max * (h - 2.0 * pad - 10.0);
    let mut s = format!(
        "<div class=\"plot trend\"><svg width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"trend {t}\"><text x=\"2\" y=\"10\">{t}</text>\
         <line x1=\"{pad}\" x2=\"{r}\" y1=\"{c:.1}\" y2=\"{c:.1}\" stroke=\"#d33\" stroke-dasharray=\"3\"/>",
        t = esc(title),
        r = w - pad,
        c = sy(cap)
    );
    let pts: Vec<String> = vals
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.0.map(|x| format!("{:.1},{:.1}", sx(i), sy(x))))
        .collect();
    if pts.len() > 1 {
        s.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#2a6fdb\"/>",
            pts.join(" ")
        ));
    }
    for (i, v) in vals.iter().enumerate() {
        if let Some(x) = v.0 {
            s.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>",
                sx(i),
                sy(x),
                color(v.1)
            ));
        }
    }
    s.push_str("</svg></div>");
    s
}

/// A standalone page with one module's treemap and crate table.
pub fn treemap_page(r: &Attr) -> String {
    let mut s = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>size: {f}</title><style>{STYLE}</style></head><body>\
         <h1>Size attribution: {f}</h1><p>{b} bytes, mode {m}. {TREEMAP_HELP}</p>{t}<h2>Crates</h2><table><tr><th>crate</th><th>bytes</th><th>functions</th></tr>",
        f = esc(&r.file),
        b = r.file_bytes,
        m = esc(&r.mode),
        t = treemap::html(r, "tm-0", 1150, 560)
    );
    for c in &r.crates {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.krate),
            c.bytes,
            c.functions
        ));
    }
    s.push_str(&format!(
        "</table><script>{}</script></body></html>\n",
        treemap::SCRIPT
    ));
    s
}

const TREEMAP_HELP: &str = "Crate, then module path, then function (data segments and sections in their own groups). \
     Click a group to zoom in, a name in the path above the map to zoom out; hover a cell for its full name and bytes.";

impl Exporter for Html {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    /// The page, top to bottom. Long by design: a template in the order
    /// the page reads; each section's markup comes from its own helper.
    fn render(&self, d: &ReportData) -> String {
        let s = d.summary;
        if let Some((word, what)) = s.unfinished() {
            return format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>wasm budget: {word}</title><style>{STYLE}</style></head><body>\
                 <h1>wasm budget <span class=\"pill\" id=\"run-status\" style=\"background:{c}\">{word}</span></h1>\
                 <p>The gate {what} on commit <code>{commit}</code> (exit 2). This is never a pass, and no figure of an earlier run is shown.</p>\
                 <pre id=\"error\">{e}</pre></body></html>\n",
                c = color(Status::Fail),
                commit = esc(&s.commit),
                e = esc(s.error.as_deref().unwrap_or(""))
            );
        }
        let st = s.status.unwrap_or(Status::Fail);
        let mut out = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>wasm budget: {l}</title><style>{STYLE}</style></head><body>\
             <h1>wasm budget <span class=\"pill\" id=\"run-status\" style=\"background:{c}\">{l}</span>{q}</h1>",
            l = light(s.status),
            c = color(st),
            q = if s.quick { " <em>(quick run: not gating)</em>" } else { "" }
        );
        out.push_str("<p id=\"trend\">Last runs: ");
        for t in &s.trend {
            out.push_str(&format!(
                "<span class=\"pill\" title=\"{} {}\" style=\"background:{}\">{}</span> ",
                esc(&t.run),
                esc(&t.commit),
                color(t.status),
                t.status.as_str()
            ));
        }
        let browsers = super::browsers_line(&s.fingerprint);
        if browsers.is_empty() {
            out.push_str(&format!(
                "</p><p>commit <code>{}</code> · {} · {} · {} · timer resolution {} us · cross-origin isolated: {}</p>",
                esc(&s.commit),
                esc(&s.fingerprint.rustc),
                esc(&s.fingerprint.binaryen),
                esc(&s.fingerprint.chromium),
                s.fingerprint.timer_resolution_us.map(|r| format!("{r:.1}")).unwrap_or_else(|| "-".into()),
                match s.fingerprint.cross_origin_isolated {
                    Some(true) => "yes",
                    Some(false) => "no (coarse timers)",
                    None => "-",
                }
            ));
        } else {
            out.push_str(&format!(
                "</p><p>commit <code>{}</code> · {} · {}</p><p>browsers: {}</p>",
                esc(&s.commit),
                esc(&s.fingerprint.rustc),
                esc(&s.fingerprint.binaryen),
                esc(&browsers)
            ));
        }
        let host = super::host_speed_line(&s.fingerprint);
        if !host.is_empty() {
            out.push_str(&format!(
                "<p title=\"{}\">host speed: {}</p>",
                esc(super::HOST_SPEED_MEANS),
                esc(&host)
            ));
        }
        let accepted = super::acceptance_lines(s);
        if !accepted.is_empty() {
            out.push_str("<h2>Accepted against the base, by <code>Budget-Accept:</code> trailers</h2><ul id=\"accepted\">");
            for l in &accepted {
                out.push_str(&format!("<li>{}</li>", esc(l)));
            }
            out.push_str("</ul>");
        }
        let reuse = super::reuse_line(s);
        if !reuse.is_empty() {
            out.push_str(&format!("<p id=\"reuse\">{}</p>", esc(&reuse)));
        }
        let cost = super::cost_lines(s);
        if !cost.is_empty() {
            out.push_str(&format!(
                "<p title=\"{}\">measuring cost: {}</p>",
                esc(super::COST_MEANS),
                esc(&cost.join("; "))
            ));
        }
        out.push_str(&format!(
            "<h2>Budgets</h2><p>Order: {}.</p>",
            super::terminal::ORDER
        ));
        out.push_str("<table id=\"budgets\"><tr><th>status</th><th>metric</th><th>profile</th><th>env</th><th>value</th><th>share of the cap (log scale, 0.1 % to past the cap; black: cap, amber: warn)</th><th>why</th></tr>");
        for r in super::terminal::worst_first(s) {
            out.push_str(&format!(
                "<tr><td style=\"color:{}\">{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                color(r.status),
                r.status.as_str(),
                esc(&r.metric_id),
                esc(&r.metric_name),
                esc(&r.profile),
                esc(&r.environment),
                value_str(r.value),
                esc(&r.unit),
                budget_bar(r.value, r.threshold_warn, r.threshold_hard, r.status),
                esc(&r.verdict.reasons.join("; "))
            ));
        }
        out.push_str("</table>");

        let compared: Vec<&crate::summary::Record> = super::terminal::worst_first(s)
            .into_iter()
            .filter(|r| r.comparison.is_some())
            .collect();
        out.push_str(&format!(
            "<h2>Against the base{}</h2><p>Each row: the ratio candidate/base of the statistic, per round of blocks run back to back, median over rounds and seeds (percentage points for % metrics), measured live in the same browser session, with its 95 % interval; grey: no change; dashed red: the limit. Hover a row for the verdict in words.</p><div id=\"comparisons\">{}</div>",
            compared.first().and_then(|r| r.comparison.as_ref()).map(|c| format!(": {}", esc(&c.base))).unwrap_or_default(),
            comparison_plot(&compared)
        ));
        let power: String = compared
            .iter()
            .filter_map(|r| {
                let words = r.comparison.as_ref()?.power_words()?;
                Some(format!(
                    "<tr><td>{} {} {}</td><td>{}</td></tr>",
                    esc(&r.metric_id),
                    esc(&r.profile),
                    esc(&r.environment),
                    esc(&words)
                ))
            })
            .collect();
        if !power.is_empty() {
            out.push_str(&format!(
                "<h3>Power</h3><p>The smallest regression each comparison would call regressed 19 times in 20, from the spread of its own interval at the blocks it ran.</p><table id=\"power\"><tr><th>key</th><th>catches</th></tr>{power}</table>"
            ));
        }
        out.push_str(
            "<h2>Latency and heap distributions</h2><p>CDF of every sample, seeds merged: blue the candidate, dashed grey the base measured beside it; \
             dots: each seed's figure (hollow: the base's). Each axis spans its data (log where they span more than a decade).</p><div class=\"plots\" id=\"cdfs\">",
        );
        for r in &s.records {
            let key = ledger::key(&r.metric_id, &r.profile, &r.environment);
            if let Some(cdf) = d.cdfs.get(&key) {
                out.push_str(&cdf_plot(r, cdf));
            }
        }
        out.push_str("</div>");

        out.push_str("<h2>Trends over the ledger</h2><div class=\"plots\" id=\"trends\">");
        for r in &s.records {
            let key = ledger::key(&r.metric_id, &r.profile, &r.environment);
            let vals: Vec<(Option<f64>, Status)> = d
                .ledger
                .runs
                .iter()
                .filter_map(|run| run.entries.get(&key))
                .map(|e| (e.value, e.status))
                .collect();
            if !vals.is_empty() {
                out.push_str(&trend_plot(
                    &format!("{} {} {}", r.metric_id, r.profile, r.environment),
                    &vals,
                    r.threshold_hard,
                ));
            }
        }
        out.push_str("</div>");

        let deps = super::dependency_lines(s);
        if !deps.is_empty() {
            out.push_str("<h2>Dependencies of the wasm build</h2><p>Per profile, the crates <code>cargo tree</code> resolves for wasm32 with the profile's features: those that can ship, and those compiled for the host only (build-dependencies, proc-macros). A forbidden crate fails, with the chain that brings it in; changes against the base carry the bytes the crate ships.</p><ul id=\"dependencies\">");
            for d in &deps {
                out.push_str(&format!(
                    "<li><b>{}</b>: {}",
                    esc(&d.profile),
                    esc(&d.headline)
                ));
                if !d.details.is_empty() {
                    out.push_str(&format!(
                        "<ul>{}</ul>",
                        d.details
                            .iter()
                            .map(|l| format!("<li>{}</li>", esc(l)))
                            .collect::<String>()
                    ));
                }
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        out.push_str(&format!(
            "<h2>Size treemaps</h2><p>{TREEMAP_HELP}</p><div id=\"treemaps\">"
        ));
        for (i, (profile, a)) in d.attributions.iter().enumerate() {
            out.push_str(&format!(
                "<h3>{} <small>{}</small></h3>{}",
                esc(profile),
                esc(&a.file),
                treemap::html(a, &format!("tm-{i}"), 1150, 420)
            ));
        }
        out.push_str("</div>");
        if !d.attributions.is_empty() {
            out.push_str(&format!("<script>{}</script>", treemap::SCRIPT));
        }
        out.push_str("</body></html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_width(svg: &str) -> f64 {
        let at = svg.find("fill-opacity").expect("a value rect");
        let rect = &svg[svg[..at].rfind("<rect").unwrap()..at];
        rect.split("width=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn a_value_at_one_percent_of_its_cap_is_a_readable_bar_and_says_its_share() {
        // 6.5 KiB under a 650 KiB cap: a third of the way to the cap line.
        let svg = budget_bar(Some(6.5), None, 650.0, Status::Pass);
        let (small, at_cap) = (
            value_width(&svg),
            value_width(&budget_bar(Some(650.0), None, 650.0, Status::Pass)),
        );
        assert!(
            small > 0.25 * at_cap && small < 0.5 * at_cap,
            "{small} vs {at_cap}"
        );
        assert!(svg.contains(">1.00 %</text>"), "{svg}");
        // Past the cap the bar passes the cap line, and the scale grows.
        let over = budget_bar(Some(1300.0), None, 650.0, Status::Fail);
        assert!(
            value_width(&over) > at_cap && over.contains(">200 %</text>"),
            "{over}"
        );
        // Below the scale's floor: said, not printed as 0.00 %.
        assert!(budget_bar(Some(0.0667), None, 1000.0, Status::Pass).contains(">&lt; 0.1 %</text>"));
    }
}
