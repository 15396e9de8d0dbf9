//! `cargo xtask advise`: the standard size remedies, tried. For each
//! profile as configured it builds one variant per remedy (a cargo profile
//! setting through `--config`, or a wasm-opt setting on the profile's own
//! cargo output), measures raw, gzip and brotli against the profile, diffs
//! the attribution to say where the bytes went, and adds the advice the
//! profile's attribution gives (`advise.rs` decides both, on data). With
//! `--timing` it also times cold init of every variant against the profile
//! as configured, live, with the gate's own A/B (`measure::run`). Nothing
//! in the crate is edited. Writes `reports/advise/advice.md` and
//! `advice.json`; exit 0 with advice, 2 when it could not run.

use super::args::{Arg, Args};
use crate::advise::{self, Bytes, Knob, ProfileAdvice, Settings, Timing, Tried};
use crate::artifacts::{Base, BaseProfile, Runnable};
use crate::builtin::Builtin;
use crate::config::{self, Config, MetricSpec, Profile};
use crate::util::{find_budgets, write_atomic};
use crate::{attribute, build, optimize, size, subject, wasmfile};
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};

struct Options {
    budgets: PathBuf,
    reports: Option<PathBuf>,
    profiles: Vec<String>,
    /// Time cold init of each variant (`--timing`), in these environments
    /// (none named: the first cold-init metric budgets.toml lists).
    timing: bool,
    envs: Vec<String>,
}

pub fn cli(args: &[String]) -> Result<u8> {
    let mut a = Args::new("advise", args);
    let (mut budgets, mut reports, mut profiles) = (None, None, Vec::new());
    let (mut timing, mut envs) = (false, Vec::new());
    while let Some(arg) = a.next_arg() {
        match arg {
            Arg::Flag("--budgets") => budgets = Some(PathBuf::from(a.value("--budgets")?)),
            Arg::Flag("--reports") => reports = Some(PathBuf::from(a.value("--reports")?)),
            Arg::Flag("--profile") => profiles.push(a.value("--profile")?),
            Arg::Flag("--timing") => timing = true,
            Arg::Flag("--env") => envs.push(a.value("--env")?),
            Arg::Flag(f) => return Err(a.unknown(f)),
            Arg::Positional(p) => return Err(a.unexpected(p)),
        }
    }
    run(Options {
        budgets: match budgets {
            Some(b) => b,
            None => find_budgets()?,
        },
        reports,
        profiles,
        timing,
        envs,
    })
}

fn run(o: Options) -> Result<u8> {
    let mut cfg = config::load(&o.budgets)?;
    let out = o
        .reports
        .unwrap_or_else(|| super::args::default_reports(&o.budgets))
        .join("advise");
    build::prepare_toolchain(&mut cfg)?;
    for p in &o.profiles {
        if cfg.profile(p).is_none() {
            bail!(
                "--profile {p}: {} has no such profile (it has {})",
                o.budgets.display(),
                cfg.profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    if !o.envs.is_empty() && !o.timing {
        bail!("--env chooses where --timing measures cold init; add --timing");
    }
    let envs = if o.envs.is_empty() {
        Vec::new()
    } else {
        let all: Vec<String> = cfg.environments.keys().cloned().collect();
        super::args::select(&all, &o.envs, "environment")?
    };
    let timing = o.timing.then_some(&envs[..]);
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    for p in cfg.profiles.clone() {
        if o.profiles.is_empty() || o.profiles.contains(&p.name) {
            all.push(profile_advice(&cfg, &p, timing)?);
        }
    }
    std::fs::create_dir_all(&out)?;
    let md = advise::markdown(&all);
    write_atomic(&out.join("advice.md"), md.as_bytes())?;
    write_atomic(
        &out.join("advice.json"),
        serde_json::to_string_pretty(&all)?.as_bytes(),
    )?;
    // The run's report.html, when there is one, gets the advice too.
    let page = out.parent().map(|r| r.join("report.html"));
    if let Some(page) = page.filter(|p| p.is_file()) {
        if let Some(text) = advise::into_page(&std::fs::read_to_string(&page)?, &advise::html(&all))
        {
            write_atomic(&page, text.as_bytes())?;
        }
    }
    println!("{md}");
    eprintln!(
        "advise: {} cargo build(s), {:.0} s; wrote {} and advice.json",
        all.iter().map(|p| p.builds).sum::<usize>(),
        started.elapsed().as_secs_f64(),
        out.join("advice.md").display()
    );
    Ok(0)
}

/// The profile as configured, then each variant of it; with `timing`
/// (environments, none named: the default), cold init of each variant.
fn profile_advice(cfg: &Config, p: &Profile, timing: Option<&[String]>) -> Result<ProfileAdvice> {
    let base = subject::optimize(cfg, p, subject::build(cfg, p, &p.name)?)?;
    let base_bytes = bytes_of(&base.opt.wasm)?;
    let report = attribute::for_profile(&base.opt.wasm, &base.opt.named, None)?;
    let exports: Vec<String> = wasmfile::export_names(&std::fs::read(&base.opt.wasm)?)
        .into_values()
        .collect();
    let setting = |key| build::effective_setting(cfg, p, key);
    let settings = Settings {
        opt_level: setting("opt-level").map(|v| plain(&v)),
        lto: setting("lto").map(|v| plain(&v)),
        codegen_units: setting("codegen-units").and_then(|v| v.as_integer()),
        panic: setting("panic").map(|v| plain(&v)),
    };
    let nightly = cfg
        .toolchain
        .as_ref()
        .is_some_and(|t| t.name.contains("nightly") || t.rustc.contains("nightly"));
    let mut tried = Vec::new();
    let mut built = Vec::new();
    let mut builds = 0;
    for (i, v) in advise::variants(&settings, &p.wasm_opt, nightly)
        .into_iter()
        .enumerate()
    {
        let Some(knob) = v.knob.clone() else {
            tried.push(Tried {
                variant: v,
                bytes: None,
                error: None,
                crates: vec![],
                timing: vec![],
            });
            continue;
        };
        eprintln!("advise: [{}] {}", p.name, v.name);
        builds += usize::from(v.rebuilds());
        let work = cfg
            .root
            .join("target/budget/advise")
            .join(&p.name)
            .join(i.to_string());
        let result = variant(cfg, p, &knob, &base, &work);
        tried.push(match result {
            Ok(o) => {
                let (wasm, named) = (o.opt.wasm.clone(), o.opt.named.clone());
                built.push((tried.len(), o));
                let mut crates = if knob.sections_only() {
                    advise::section_deltas(&sections(&base.opt.wasm)?, &sections(&wasm)?)
                } else {
                    let r = attribute::for_profile(
                        &wasm,
                        &named,
                        Some((&base.opt.wasm, &base.opt.named)),
                    )?;
                    let mut c: Vec<(String, i64)> = r
                        .diff
                        .map(|d| d.crates.into_iter().map(|c| (c.name, c.delta)).collect())
                        .unwrap_or_default();
                    c.retain(|(_, d)| *d != 0);
                    c.sort_by_key(|(_, d)| -d.abs());
                    c
                };
                crates.truncate(3);
                Tried {
                    variant: v,
                    bytes: Some(bytes_of(&wasm)?),
                    error: None,
                    crates,
                    timing: vec![],
                }
            }
            Err(e) => Tried {
                variant: v,
                bytes: None,
                error: Some(first_error(&format!("{e:#}"))),
                crates: vec![],
                timing: vec![],
            },
        });
    }
    if let Some(envs) = timing {
        for (i, t) in cold_init(cfg, p, &base, &built, envs)? {
            tried[i].timing.push(t);
        }
    }
    Ok(ProfileAdvice {
        profile: p.name.clone(),
        base: base_bytes,
        tried,
        advice: advise::from_attribution(&report, &exports),
        builds,
    })
}

/// Build (a cargo knob) or re-optimize (a wasm-opt knob) one variant.
fn variant(
    cfg: &Config,
    p: &Profile,
    knob: &Knob,
    base: &subject::Optimized,
    work: &Path,
) -> Result<subject::Optimized> {
    let cache = build::target_dir(&cfg.root).join("budget").join("cache");
    let (built, posture) = match knob {
        Knob::Cargo { key, value } => {
            let mut vp = p.clone();
            vp.name = format!("{}~advise-{key}", p.name);
            let v: toml::Value = format!("v = {value}")
                .parse::<toml::Table>()?
                .remove("v")
                .ok_or_else(|| anyhow!("no value"))?;
            vp.cargo_settings.insert(key.clone(), v);
            let built = subject::build(cfg, &vp, &format!("advise/{}", vp.name))?;
            (built, p.wasm_opt.clone())
        }
        other => (base.built.clone(), advise::posture_for(&p.wasm_opt, other)),
    };
    let opt = optimize::optimize(&built.input, &posture, work, &cache)?;
    Ok(subject::Optimized { built, opt })
}

/// Cold init of each built variant against the profile as configured,
/// measured live in one measure stage (the gate's A/B, its protocol and
/// extension): the variant is the candidate, the profile the base. The
/// metrics are the profile's `builtin:cold-init` metrics in `envs`, or
/// with none named the first one budgets.toml lists. A variant whose
/// module and glue are the profile's own bytes is not measured. Returns
/// (index into the variants, its timing).
fn cold_init(
    cfg: &Config,
    p: &Profile,
    base: &subject::Optimized,
    variants: &[(usize, subject::Optimized)],
    envs: &[String],
) -> Result<Vec<(usize, Timing)>> {
    let mut metrics: Vec<&MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| m.caps.contains_key(&p.name) && is_cold_init(m))
        .filter(|m| envs.is_empty() || envs.contains(&m.environment))
        .collect();
    if envs.is_empty() {
        metrics.truncate(1);
    }
    if metrics.is_empty() {
        eprintln!(
            "advise: [{}] --timing: no builtin:cold-init metric covers this profile{}; sizes only",
            p.name,
            if envs.is_empty() {
                String::new()
            } else {
                format!(" in {}", envs.join(", "))
            }
        );
        return Ok(Vec::new());
    }
    cfg.check_scenarios(&metrics)?;
    let base_run = Runnable {
        wasm: base.opt.wasm.clone(),
        glue: base.built.glue.clone(),
    };
    let template = crate::measure::plan(cfg, &metrics, std::slice::from_ref(&p.name), false);
    let (mut plan, mut arts, mut same) = (Vec::new(), Vec::new(), Vec::new());
    let mut base_profiles = std::collections::BTreeMap::new();
    for (i, v) in variants {
        let label = variant_label(p, *i);
        let run = Runnable {
            wasm: v.opt.wasm.clone(),
            glue: v.built.glue.clone(),
        };
        if same_bytes(&run, &base_run)? {
            same.push(*i);
            continue;
        }
        arts.push(subject::runnable_artifacts(cfg, &label, v)?);
        base_profiles.insert(
            label,
            BaseProfile {
                main: base_run.clone(),
                named: None,
                sizes: None,
                references: Default::default(),
                closure: None,
            },
        );
    }
    // Environment by environment (one browser each), as `measure::plan` orders.
    for t in &template {
        for a in &arts {
            let mut t = t.clone();
            t.profile = a.info.profile.clone();
            plan.push(t);
        }
    }
    let mut out: Vec<(usize, Timing)> = Vec::new();
    for i in &same {
        for m in &metrics {
            out.push((*i, timing(m, None, "unchanged", 0)));
        }
    }
    if plan.is_empty() {
        return Ok(out);
    }
    eprintln!(
        "advise: [{}] timing cold init of {} variant(s) ({}) against the profile as configured",
        p.name,
        arts.len(),
        metrics
            .iter()
            .map(|m| format!("{} in {}", m.id, m.environment))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let against = Base {
        origin: format!("{} as configured", p.name),
        commit: String::new(),
        profiles: base_profiles,
    };
    let mut engines = crate::engines::Engines::new(cfg, Default::default());
    let measured = crate::measure::run(
        cfg,
        &plan,
        &arts,
        Some(&against),
        &mut engines,
        Default::default(),
    )?;
    for (i, _) in variants.iter().filter(|(i, _)| !same.contains(i)) {
        for m in &metrics {
            let label = variant_label(p, *i);
            let c = measured
                .get(&m.id, &label, &m.environment)
                .and_then(|r| r.comparison.as_ref())
                .ok_or_else(|| anyhow!("{} of {label} was planned and not measured", m.id))?;
            out.push((*i, timing(m, c.estimate, c.verdict.as_str(), c.blocks)));
        }
    }
    Ok(out)
}

fn timing(
    m: &MetricSpec,
    ratio: Option<crate::stats::Interval>,
    verdict: &str,
    blocks: u32,
) -> Timing {
    Timing {
        metric: m.id.clone(),
        environment: m.environment.clone(),
        ratio,
        verdict: verdict.into(),
        blocks,
    }
}

/// The name a timed variant is measured under: `core-min~variant-3`.
fn variant_label(p: &Profile, i: usize) -> String {
    format!("{}~variant-{i}", p.name)
}

fn is_cold_init(m: &MetricSpec) -> bool {
    matches!(&m.source, config::Source::Scenario(s) if Builtin::of(s) == Some(Builtin::ColdInit))
}

/// Do two runnables load the same bytes (module and glue)?
fn same_bytes(a: &Runnable, b: &Runnable) -> Result<bool> {
    let glue = |r: &Runnable| r.glue.as_ref().map(std::fs::read).transpose();
    Ok(std::fs::read(&a.wasm)? == std::fs::read(&b.wasm)? && glue(a)? == glue(b)?)
}

/// `(name, bytes)` of each section of a module.
fn sections(wasm: &Path) -> Result<Vec<(String, u64)>> {
    let bytes = std::fs::read(wasm)?;
    Ok(wasmfile::sections(&bytes, &wasm.display().to_string())?
        .into_iter()
        .map(|s| (s.name, s.bytes))
        .collect())
}

fn bytes_of(wasm: &Path) -> Result<Bytes> {
    let s = size::measure(&std::fs::read(wasm)?, &wasm.display().to_string())?;
    Ok(Bytes {
        raw: s.raw_bytes,
        gzip: s.gzip_bytes,
        brotli: s.brotli_bytes,
    })
}

/// A TOML value as a reader writes it in a table cell: `z`, `fat`.
fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The first line that says what went wrong.
fn first_error(text: &str) -> String {
    text.lines()
        .find(|l| l.trim_start().starts_with("error"))
        .or_else(|| text.lines().next())
        .unwrap_or("failed")
        .trim()
        .chars()
        .take(200)
        .collect()
}
