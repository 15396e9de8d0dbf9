//! `cargo xtask advise`: the standard size remedies, tried. For each
//! profile as configured it builds one variant per remedy (a cargo profile
//! setting through `--config`, or a wasm-opt setting on the profile's own
//! cargo output), measures raw, gzip and brotli against the profile, diffs
//! the attribution to say where the bytes went, and adds the advice the
//! profile's attribution gives (`advise.rs` decides both, on data). Nothing
//! in the crate is edited. Writes `reports/advise/advice.md` and
//! `advice.json`; exit 0 with advice, 2 when it could not run.

use super::args::{Arg, Args};
use crate::advise::{self, Bytes, Knob, ProfileAdvice, Settings, Tried};
use crate::config::{self, Config, Profile};
use crate::util::{find_budgets, write_atomic};
use crate::{attribute, build, optimize, size, subject, wasmfile};
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};

struct Options {
    budgets: PathBuf,
    reports: Option<PathBuf>,
    profiles: Vec<String>,
}

pub fn cli(args: &[String]) -> Result<u8> {
    let mut a = Args::new("advise", args);
    let (mut budgets, mut reports, mut profiles) = (None, None, Vec::new());
    while let Some(arg) = a.next_arg() {
        match arg {
            Arg::Flag("--budgets") => budgets = Some(PathBuf::from(a.value("--budgets")?)),
            Arg::Flag("--reports") => reports = Some(PathBuf::from(a.value("--reports")?)),
            Arg::Flag("--profile") => profiles.push(a.value("--profile")?),
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
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    for p in cfg.profiles.clone() {
        if o.profiles.is_empty() || o.profiles.contains(&p.name) {
            all.push(profile_advice(&cfg, &p)?);
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

/// The profile as configured, then each variant of it.
fn profile_advice(cfg: &Config, p: &Profile) -> Result<ProfileAdvice> {
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
            Ok((wasm, named)) => {
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
                }
            }
            Err(e) => Tried {
                variant: v,
                bytes: None,
                error: Some(first_error(&format!("{e:#}"))),
                crates: vec![],
            },
        });
    }
    Ok(ProfileAdvice {
        profile: p.name.clone(),
        base: base_bytes,
        tried,
        advice: advise::from_attribution(&report, &exports),
        builds,
    })
}

/// Build (a cargo knob) or re-optimize (a wasm-opt knob) one variant:
/// its shipped module and its named twin.
fn variant(
    cfg: &Config,
    p: &Profile,
    knob: &Knob,
    base: &subject::Optimized,
    work: &Path,
) -> Result<(PathBuf, PathBuf)> {
    let cache = build::target_dir(&cfg.root).join("budget").join("cache");
    let (input, posture) = match knob {
        Knob::Cargo { key, value } => {
            let mut vp = p.clone();
            vp.name = format!("{}~advise-{key}", p.name);
            let v: toml::Value = format!("v = {value}")
                .parse::<toml::Table>()?
                .remove("v")
                .ok_or_else(|| anyhow!("no value"))?;
            vp.cargo_settings.insert(key.clone(), v);
            let built = subject::build(cfg, &vp, &format!("advise/{}", vp.name))?;
            (built.input, p.wasm_opt.clone())
        }
        other => (
            base.built.input.clone(),
            advise::posture_for(&p.wasm_opt, other),
        ),
    };
    let o = optimize::optimize(&input, &posture, work, &cache)?;
    Ok((o.wasm, o.named))
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
