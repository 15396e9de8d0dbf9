//! Stage 7, report: one summary, several views. Each format is an
//! [`Exporter`] in its own file; all are pure functions of the summary (plus
//! the ledger and histograms for plots), so golden tests pin them down.

pub mod attribution;
pub mod axis;
pub mod html;
pub mod markdown;
pub mod terminal;
pub mod treemap;

use crate::artifacts::ProfileArtifacts;
use crate::gate::Status;
use crate::ledger::Ledger;
use crate::summary::Summary;
use crate::util::write_atomic;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// Inputs every exporter may use.
pub struct ReportData<'a> {
    pub summary: &'a Summary,
    pub ledger: &'a Ledger,
    /// key -> the distribution of candidate (and base), in the unit.
    pub cdfs: &'a BTreeMap<String, crate::stats::Cdf>,
    /// profile -> attribution report, for the treemap.
    pub attributions: Vec<(&'a str, &'a crate::attribute::Report)>,
}

pub trait Exporter {
    /// File name under `reports/`.
    fn file_name(&self) -> &'static str;
    fn render(&self, d: &ReportData) -> String;
}

pub struct Json;
impl Exporter for Json {
    fn file_name(&self) -> &'static str {
        "summary.json"
    }
    fn render(&self, d: &ReportData) -> String {
        serde_json::to_string_pretty(d.summary).expect("summary serializes") + "\n"
    }
}

/// What the host-speed figure is, in words (the markdown line, the HTML
/// tooltip).
pub const HOST_SPEED_MEANS: &str = "a fixed JS integer workload timed in the page before every call: how fast the page's CPU was; absolute timings can also move between runs for reasons it does not see, while live comparisons measure base and candidate side by side";

/// The host's speed per environment, one line (empty when none was taken).
pub fn host_speed_line(f: &crate::summary::Fingerprint) -> String {
    f.environments
        .iter()
        .filter_map(|(e, x)| Some(format!("{e}: {}", x.host_speed.as_ref()?.text())))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the cost figure is, in words (the markdown line, the HTML title).
pub const COST_MEANS: &str = "wall seconds of the page calls that ran the blocks, plus preparing each browser, against the seconds inside the timed windows the protocol asks for (every arm); the rest is overhead: round trips, realm set-up, fetching and compiling modules, warm-ups, untimed samples, GC";

/// What measuring cost per environment, and over all of them when there
/// are several (empty when nothing was measured in a browser).
pub fn cost_lines(s: &Summary) -> Vec<String> {
    let mut out: Vec<String> = s
        .cost
        .iter()
        .map(|(e, c)| format!("{e}: {}", c.text()))
        .collect();
    if s.cost.len() > 1 {
        let mut all = crate::summary::Cost::default();
        s.cost.values().for_each(|c| all.add(c));
        out.push(format!("all: {}", all.text()));
    }
    out
}

/// Every key a `Budget-Accept:` trailer covered, in words (the measured
/// change against the base, the bound, the commit, its author and the
/// reason), then every trailer no key needed. Empty when there were none.
pub fn acceptance_lines(s: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    for r in &s.records {
        let Some(a) = &r.verdict.acceptance else {
            continue;
        };
        let t = &a.acceptance;
        out.push(format!(
            "{} {} {}: {} against the base, {} the accepted {} (commit {}, {}): {}",
            r.metric_id,
            r.profile,
            r.environment,
            a.change,
            if a.within { "within" } else { "BEYOND" },
            t.bound.text(),
            crate::util::short(&t.commit),
            t.author,
            t.reason
        ));
    }
    for t in &s.acceptances {
        let used = s.records.iter().any(|r| {
            r.verdict
                .acceptance
                .as_ref()
                .is_some_and(|a| &a.acceptance == t)
        });
        if !used {
            out.push(format!(
                "not needed: {} {} {} {} (commit {}): no covered key regressed against the base",
                t.metric,
                t.profile,
                t.environment,
                t.bound.text(),
                crate::util::short(&t.commit)
            ));
        }
    }
    out
}

/// What this run measured of its browser figures, when it did not measure
/// all of them the usual way: how many were identical to their base (the
/// base not run) and how many were taken from earlier runs. Empty when
/// every figure was measured, base and all.
pub fn reuse_line(s: &Summary) -> String {
    let timed: Vec<&crate::summary::Record> =
        s.records.iter().filter(|r| r.identity.is_some()).collect();
    let reused = timed.iter().filter(|r| r.reused.is_some()).count();
    let identical = timed
        .iter()
        .filter(|r| r.comparison.as_ref().is_some_and(|c| c.identical_inputs))
        .count();
    if reused == 0 && identical == 0 {
        return String::new();
    }
    format!(
        "measured by this run: {} of {} browser figures; {identical} identical to their base (same bytes, scenario, harness, browser and protocol: the base was not run); {reused} reused from earlier runs that measured the same inputs (`--fresh` measures everything)",
        timed.len() - reused,
        timed.len()
    )
}

/// The `n` keys that cost the most wall time, costliest first.
pub fn costliest(s: &Summary, n: usize) -> Vec<String> {
    let mut keyed: Vec<(&crate::summary::Record, crate::summary::Cost)> = s
        .records
        .iter()
        .filter_map(|r| Some((r, r.cost?)))
        .collect();
    keyed.sort_by(|a, b| b.1.wall_s().total_cmp(&a.1.wall_s()));
    keyed
        .iter()
        .take(n)
        .map(|(r, c)| {
            format!(
                "{} {} {}: {}",
                r.metric_id,
                r.profile,
                r.environment,
                c.text()
            )
        })
        .collect()
}

/// Which browser measured which environments, in words: environments that
/// share a browser are listed together. Empty when no environment names
/// its browser (no browser stage, or fixed samples).
pub fn browsers_line(f: &crate::summary::Fingerprint) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (env, b) in f
        .environments
        .iter()
        .filter_map(|(e, x)| Some((e, x.browser.as_ref()?)))
    {
        let clock = match (b.timer_resolution_us, b.cross_origin_isolated) {
            (Some(r), Some(true)) => format!("{r:.1} us clock, cross-origin isolated"),
            (Some(r), _) => format!("{r:.1} us clock, not isolated"),
            _ => "clock unknown".to_string(),
        };
        let what = format!("{} ({}, {clock})", b.product, b.protocol);
        match groups.iter_mut().find(|(w, _)| *w == what) {
            Some((_, envs)) => envs.push(env),
            None => groups.push((what, vec![env])),
        }
    }
    groups
        .iter()
        .map(|(what, envs)| format!("{}: {what}", envs.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One profile's dependency closure in words: a headline (how many crates
/// ship, how many are host-only, the forbidden ones) and the lines under
/// it (each forbidden or allowed crate with its chain, each change against
/// the base with its bytes).
pub struct DependencyLines {
    pub profile: String,
    pub headline: String,
    pub details: Vec<String>,
    /// A forbidden crate, or a change against the base: worth a reviewer's eye.
    pub notable: bool,
}

fn crates(n: usize) -> String {
    format!("{n} crate{}", if n == 1 { "" } else { "s" })
}

/// The dependency closure of every profile that has one.
pub fn dependency_lines(s: &Summary) -> Vec<DependencyLines> {
    s.artifacts
        .iter()
        .filter_map(|a| a.dependencies.as_ref().map(|c| (a, c)))
        .map(|(a, c)| {
            let forbidden = match c.violations() {
                0 => "no forbidden crate".to_string(),
                n => format!(
                    "{n} forbidden: {}",
                    c.findings
                        .iter()
                        .filter(|f| f.allowed.is_none())
                        .map(|f| format!("{} {}", f.krate.name, f.krate.version))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let vs_base = match &c.diff {
                None => String::new(),
                Some(d) if d.is_empty() => format!("; the same crates as the base, {}", d.against),
                Some(d) => format!(
                    "; against the base, {}: {} new, {} changed, {} removed",
                    d.against,
                    d.added.len(),
                    d.changed.len(),
                    d.removed.len()
                ),
            };
            let mut details: Vec<String> = c
                .findings
                .iter()
                .map(crate::closure::Finding::line)
                .collect();
            details.extend(c.diff.iter().flat_map(|d| d.lines()));
            DependencyLines {
                profile: a.profile.clone(),
                headline: format!(
                    "{} can ship, {} host-only; {forbidden}{vs_base}",
                    crates(c.normal.len()),
                    c.host_only.len()
                ),
                notable: c.violations() > 0 || c.diff.as_ref().is_some_and(|d| !d.is_empty()),
                details,
            }
        })
        .collect()
}

/// green / yellow / red for a run status.
pub fn light(s: Option<Status>) -> &'static str {
    match s {
        // Accepted regressions pass: the light is green, and the reports
        // list each above the fold.
        Some(Status::Pass | Status::Accepted) => "green",
        Some(Status::Warn) => "yellow",
        Some(Status::Fail) => "red",
        None => "error",
    }
}

/// Write every report and print the terminal table.
pub fn write_all(
    summary: &Summary,
    reports: &Path,
    ledger: &Ledger,
    arts: &[ProfileArtifacts],
    cdfs: &BTreeMap<String, crate::stats::Cdf>,
) -> Result<()> {
    let data = ReportData {
        summary,
        ledger,
        cdfs,
        attributions: arts
            .iter()
            .filter_map(|a| {
                a.attribution
                    .as_ref()
                    .map(|x| (a.info.profile.as_str(), &x.report))
            })
            .collect(),
    };
    export(&data, reports, true)?;
    for (profile, report) in &data.attributions {
        attribution::write(report, &reports.join("attribution"), profile)?;
    }
    print!(
        "{}",
        terminal::render(summary, std::env::var_os("NO_COLOR").is_none() && is_tty())
    );
    eprintln!(
        "budget: wrote {} (summary), {} (markdown), {} (html)",
        reports.join("summary.json").display(),
        reports.join("summary.md").display(),
        reports.join("report.html").display()
    );
    Ok(())
}

/// Replace every report with the versions of a summary without records (an
/// error, or a run's start marker), so no earlier green report outlives a
/// failed or killed run.
pub fn write_error(summary: &Summary, reports: &Path) -> Result<()> {
    let ledger = Ledger::empty();
    let cdfs = BTreeMap::new();
    let data = ReportData {
        summary,
        ledger: &ledger,
        cdfs: &cdfs,
        attributions: vec![],
    };
    std::fs::create_dir_all(reports)?;
    // A run's start marker is for `reports/` only: the job summary gets
    // what the run ends with.
    export(
        &data,
        reports,
        summary.outcome != crate::summary::INCOMPLETE,
    )?;
    Ok(())
}

/// Every file exporter into `reports`, and the markdown into the GitHub
/// job summary when there is one and `job_summary` is set.
fn export(data: &ReportData, reports: &Path, job_summary: bool) -> Result<()> {
    let exporters: [&dyn Exporter; 3] = [&Json, &markdown::Markdown, &html::Html];
    for e in exporters {
        write_atomic(&reports.join(e.file_name()), e.render(data).as_bytes())?;
    }
    if !job_summary {
        return Ok(());
    }
    if let Some(p) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
        {
            let _ = f.write_all(markdown::Markdown.render(data).as_bytes());
        }
    }
    Ok(())
}

fn is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}
