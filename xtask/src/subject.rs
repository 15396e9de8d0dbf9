//! The size half for the subject: build -> optimize -> size -> attribute ->
//! closure, one function each, run for one profile (and the reference
//! builds its relative metrics need) by `profile_artifacts`; the base of a
//! live comparison built from a git ref; the trailers since the base.
//! This is where the gate runs cargo, wasm-bindgen and binaryen; it serves
//! `budget`, `size`, `calibrate` and `init`. Attribution is returned as
//! data: the report stage writes its files.

use crate::artifacts::{reference_key, suite_key, Base, BaseProfile, ProfileArtifacts, Runnable};
use crate::attribute;
use crate::build;
use crate::config::{Config, MetricSpec, Profile};
use crate::optimize;
use crate::size;
use crate::summary::ArtifactInfo;
use crate::util::{git, write_atomic};
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What building one profile variant produced: the optimizer's input.
#[derive(Clone)]
pub struct Built {
    /// `input.wasm` in the variant's working directory: cargo's module, or
    /// wasm-bindgen's `_bg.wasm`.
    pub input: PathBuf,
    pub input_len: u64,
    /// The wasm-bindgen JS glue, for wasm-bindgen subjects.
    pub glue: Option<PathBuf>,
    pub build_command: String,
    work: PathBuf,
}

/// A built variant, optimized.
pub struct Optimized {
    pub built: Built,
    pub opt: optimize::Optimized,
}

/// Build one profile (or a variant of it, named `work_name`) of the
/// subject: cargo, then wasm-bindgen for wasm-bindgen subjects.
pub fn build(cfg: &Config, profile: &Profile, work_name: &str) -> Result<Built> {
    eprintln!("budget: [{work_name}] build");
    let built = build::build(cfg, profile)?;
    let work = cfg.root.join("target").join("budget").join(work_name);
    std::fs::create_dir_all(&work)?;
    let input = work.join("input.wasm");
    let cargo_bytes = std::fs::read(&built.wasm)?;
    crate::wasmfile::check_magic(&cargo_bytes, &built.wasm.display().to_string())?;
    // wasm-bindgen subjects: the optimizer's input is the `_bg.wasm`.
    let mut build_command = built.command.clone();
    let (in_bytes, glue) = match crate::bindgen::pinned_version(&cfg.manifest)? {
        None => (cargo_bytes, None),
        Some(version) => {
            eprintln!("budget: [{work_name}] wasm-bindgen {version}");
            // The user-wide tool cache, shared by every subject.
            let cli = crate::bindgen::cli(&version, &crate::util::tool_cache())?;
            let bg = crate::bindgen::run(
                &cli,
                &built.wasm,
                &work.join("bindgen"),
                &cfg.package.replace('-', "_"),
            )?;
            build_command = format!("{build_command} && {}", bg.command);
            (std::fs::read(&bg.wasm)?, Some(bg.glue))
        }
    };
    if std::fs::read(&input).ok().as_deref() != Some(&in_bytes[..]) {
        write_atomic(&input, &in_bytes)?;
    }
    Ok(Built {
        input,
        input_len: in_bytes.len() as u64,
        glue,
        build_command,
        work,
    })
}

/// Optimize a built variant with the profile's wasm-opt settings (cached by
/// input and settings).
pub fn optimize(cfg: &Config, profile: &Profile, built: Built) -> Result<Optimized> {
    eprintln!("budget: [{}] optimize", profile.name);
    let opt = optimize::optimize(
        &built.input,
        &profile.wasm_opt,
        &built.work,
        &build::target_dir(&cfg.root).join("budget").join("cache"),
    )?;
    Ok(Optimized { built, opt })
}

/// Build and optimize one variant. Serves the reference builds, the base
/// and `init`.
fn build_and_optimize(cfg: &Config, profile: &Profile, work_name: &str) -> Result<Optimized> {
    optimize(cfg, profile, build(cfg, profile, work_name)?)
}

/// Build and optimize one profile: the shipped artifact and its wasm-bindgen
/// glue, if any (`init` sizes it and reads its exports).
pub fn shipped(cfg: &Config, profile: &Profile) -> Result<(PathBuf, Option<PathBuf>)> {
    let o = build_and_optimize(cfg, profile, &profile.name)?;
    Ok((o.opt.wasm, o.built.glue))
}

/// The reference builds the selected relative metrics need for a profile:
/// (key, the profile without those features).
fn reference_profiles(
    metrics: &[&MetricSpec],
    profile: &Profile,
    label: &str,
) -> Vec<(String, Profile)> {
    let mut out: Vec<(String, Profile)> = Vec::new();
    for m in metrics {
        let Some(without) = &m.reference_without else {
            continue;
        };
        if !m.caps.contains_key(label) {
            continue;
        }
        let key = reference_key(without);
        if out.iter().any(|(k, _)| k == &key) {
            continue;
        }
        let mut p = profile.clone();
        p.features.retain(|f| !without.contains(f));
        p.name = format!("{}~{key}", profile.name);
        out.push((key, p));
    }
    out
}

/// Build and optimize the reference builds a profile needs (working names
/// prefixed with `prefix`, so the base's never overwrite the candidate's).
fn build_references(
    cfg: &Config,
    metrics: &[&MetricSpec],
    profile: &Profile,
    label: &str,
    prefix: &str,
) -> Result<BTreeMap<String, Runnable>> {
    let mut references = build_suites(cfg, metrics, profile, label, prefix)?;
    for (key, mut p) in reference_profiles(metrics, profile, label) {
        p.name = format!("{prefix}{}", p.name);
        let r = build_and_optimize(cfg, &p, &p.name)?;
        references.insert(
            key,
            Runnable {
                wasm: r.opt.wasm,
                glue: r.built.glue,
            },
        );
    }
    Ok(references)
}

/// The test modules the selected `builtin:tests` metrics run for a profile,
/// by [`suite_key`]: cargo's test module of each target, with the
/// profile's features and cargo profile, through wasm-bindgen like the
/// shipped module. Not optimized: the figure is what the tests do, and
/// wasm-opt's settings are the shipped module's business.
fn build_suites(
    cfg: &Config,
    metrics: &[&MetricSpec],
    profile: &Profile,
    label: &str,
    prefix: &str,
) -> Result<BTreeMap<String, Runnable>> {
    let mut out = BTreeMap::new();
    for m in metrics {
        let Some(target) = m.suite.as_deref() else {
            continue;
        };
        let key = suite_key(target);
        if !m.caps.contains_key(label) || out.contains_key(&key) {
            continue;
        }
        let work_name = format!("{prefix}{}~{key}", profile.name);
        let module = test_module(cfg, profile, target, &work_name)
            .with_context(|| format!("{} (builtin:tests)", m.id))?;
        out.insert(key, module);
    }
    Ok(out)
}

/// One test target's module, ready for a page: cargo's test module of
/// `target` with the profile's features and cargo profile, its libtest
/// `main` export renamed (wasm-bindgen would make it the start function,
/// and libtest cannot run in a page), through the subject's wasm-bindgen.
pub fn test_module(
    cfg: &Config,
    profile: &Profile,
    target: &str,
    work_name: &str,
) -> Result<Runnable> {
    eprintln!("budget: [{work_name}] build the tests of `{target}`");
    let built = build::build_tests(cfg, profile, target)?;
    // After the build, which writes the lockfile a published crate lacks.
    // The tests may be all that uses wasm-bindgen (wasm-bindgen-test).
    let version = crate::bindgen::locked_version(&cfg.manifest)?.ok_or_else(|| {
        anyhow!(
            "#[wasm_bindgen_test] functions run through wasm-bindgen, and {} does not use it",
            cfg.manifest.display()
        )
    })?;
    let work = cfg.root.join("target").join("budget").join(work_name);
    std::fs::create_dir_all(&work)?;
    let mut bytes = std::fs::read(&built.wasm)?;
    crate::wasmfile::check_magic(&bytes, &built.wasm.display().to_string())?;
    crate::wasmfile::rename_export(&mut bytes, "main", "_lt_")?;
    let input = work.join("tests.wasm");
    write_atomic(&input, &bytes)?;
    let cli = crate::bindgen::cli(&version, &crate::util::tool_cache())?;
    let bg = crate::bindgen::run(&cli, &input, &work.join("bindgen"), "tests")?;
    Ok(Runnable {
        wasm: bg.wasm,
        glue: Some(bg.glue),
    })
}

/// The sizes of an optimized variant's shipped module.
pub fn sizes(o: &Optimized) -> Result<size::Sizes> {
    size::measure(
        &std::fs::read(&o.opt.wasm)?,
        &o.opt.wasm.display().to_string(),
    )
}

/// Where the bytes of an optimized profile go, against the base's build of
/// the same profile when there is one. Files are named relative to the
/// project, not by this machine's paths.
pub fn attribute(
    cfg: &Config,
    name: &str,
    o: &Optimized,
    base: Option<&Base>,
) -> Result<attribute::Report> {
    eprintln!("budget: [{name}] attribute");
    let base_pair = base.and_then(|b| b.profiles.get(name)).and_then(|bp| {
        bp.named
            .as_ref()
            .map(|n| (bp.main.wasm.as_path(), n.as_path()))
    });
    let mut report = attribute::for_profile(&o.opt.wasm, &o.opt.named, base_pair)?;
    report.file = relative(cfg, &o.opt.wasm);
    report.names_from = relative(cfg, &o.opt.named);
    if let (Some(d), Some((b, _))) = (report.diff.as_mut(), base_pair) {
        d.against = relative(cfg, b);
    }
    Ok(report)
}

fn relative(cfg: &Config, p: &Path) -> String {
    p.strip_prefix(&cfg.root).unwrap_or(p).display().to_string()
}

/// The size half of one profile, stage by stage: build -> optimize -> size
/// -> attribute -> closure, and the reference builds its relative metrics
/// need; then what the later stages read of it. One function for `budget`,
/// `calibrate` and `bisect`. `name` is the profile the figures are reported
/// under (`profile.name` may be a variant's working name); `reports` is
/// where the report stage will write the attribution.
pub fn profile_artifacts(
    cfg: &Config,
    profile: &Profile,
    name: &str,
    metrics: &[&MetricSpec],
    reports: &Path,
    base: Option<&Base>,
) -> Result<ProfileArtifacts> {
    let built = build(cfg, profile, &profile.name)?;
    let optimized = optimize(cfg, profile, built)?;
    let sizes = sizes(&optimized)?;
    let attribution = attribute(cfg, name, &optimized, base)?;
    let dependencies = dependency_closure(cfg, profile, name, &attribution, base)?;
    let references = build_references(cfg, metrics, profile, name, "")?;
    let files = crate::report::attribution::files(&reports.join("attribution"), name).to_vec();
    let info = artifact_info(cfg, name, &optimized, sizes, &files, dependencies)?;
    Ok(ProfileArtifacts {
        info,
        shipped: optimized.opt.wasm,
        named: optimized.opt.named,
        glue: optimized.built.glue,
        attribution: Some(attribute::Attribution {
            report: attribution,
            files,
        }),
        references,
    })
}

/// What the measure stage needs of a variant that is only timed (advise's
/// `--timing`), reported under `name`: its module, glue and sizes, without
/// attribution, dependency closure or reference builds.
pub fn runnable_artifacts(cfg: &Config, name: &str, o: &Optimized) -> Result<ProfileArtifacts> {
    let info = artifact_info(cfg, name, o, sizes(o)?, &[], None)?;
    Ok(ProfileArtifacts {
        info,
        shipped: o.opt.wasm.clone(),
        named: o.opt.named.clone(),
        glue: o.built.glue.clone(),
        attribution: None,
        references: BTreeMap::new(),
    })
}

/// The summary's account of one profile's artifacts: files named relative
/// to the project, sizes, features, the commands, the toolchain, the glue's
/// sizes and the dependency closure.
fn artifact_info(
    cfg: &Config,
    name: &str,
    o: &Optimized,
    sizes: size::Sizes,
    attribution_files: &[PathBuf],
    dependencies: Option<crate::closure::Closure>,
) -> Result<ArtifactInfo> {
    let js_glue = match &o.built.glue {
        Some(g) => {
            let js = std::fs::read(g)?;
            Some((js.len() as u64, size::gzip_len(&js)?))
        }
        None => None,
    };
    let tc = cfg.toolchain.as_ref();
    Ok(ArtifactInfo {
        profile: name.into(),
        input: relative(cfg, &o.built.input),
        shipped: relative(cfg, &o.opt.wasm),
        named_twin: relative(cfg, &o.opt.named),
        sizes,
        input_raw_bytes: o.built.input_len,
        features: o.opt.features.clone(),
        build_command: o.built.build_command.clone(),
        toolchain: tc
            .map(|t| format!("{} ({})", t.name, t.source))
            .unwrap_or_default(),
        rustc: tc.map(|t| t.rustc.clone()).unwrap_or_default(),
        optimize_command: o.opt.command.clone(),
        optimize_cached: o.opt.cached,
        js_glue,
        attribution: attribution_files.iter().map(|f| relative(cfg, f)).collect(),
        dependencies,
    })
}

/// The profile's wasm dependency closure under the `[dependencies]` policy
/// (None without one), diffed against the base's, each change joined to
/// the crate's bytes in this profile's attribution.
fn dependency_closure(
    cfg: &Config,
    profile: &Profile,
    name: &str,
    report: &attribute::Report,
    base: Option<&Base>,
) -> Result<Option<crate::closure::Closure>> {
    eprintln!("budget: [{name}] dependency closure");
    let Some(mut c) = resolve_closure(cfg, profile, name)? else {
        return Ok(None);
    };
    if let Some((b, closure)) = base.and_then(|b| {
        b.profiles
            .get(name)
            .and_then(|bp| bp.closure.as_ref())
            .map(|c| (b, c))
    }) {
        let bytes: BTreeMap<String, u64> = report
            .crates
            .iter()
            .map(|r| (r.krate.clone(), r.bytes))
            .collect();
        c.diff = Some(crate::closure::diff(
            closure,
            &c.normal,
            &b.origin,
            Some(&bytes),
        ));
    }
    Ok(Some(c))
}

/// The closure of profile `name` of the subject `cfg` names (the candidate,
/// or the base in its worktree) under its policy; None without one.
fn resolve_closure(
    cfg: &Config,
    profile: &Profile,
    name: &str,
) -> Result<Option<crate::closure::Closure>> {
    let Some(policy) = cfg.dependencies.as_ref().and_then(|d| d.get(name)) else {
        return Ok(None);
    };
    let tc = cfg
        .toolchain
        .as_ref()
        .ok_or_else(|| anyhow!("the subject's toolchain was not resolved (a bug in the gate)"))?;
    let mut c =
        crate::closure::resolve(tc, &cfg.manifest, &cfg.package, &profile.features, policy)?;
    // Reports name files relative to the project, not by this machine's paths.
    c.command = c.command.replace(&format!("{}/", cfg.root.display()), "");
    Ok(Some(c))
}

/// A git ref of the subject, checked out in its own worktree (under
/// `target/budget/base/<commit>/`, reused while it holds that commit): the
/// configuration that builds it there, and the full commit hash. The
/// subject's own checkout is never touched. The configuration is this
/// checkout's (profiles, optimizer settings, scenarios), so only the code
/// differs, except the toolchain, which is the one the ref pins (a change
/// may bump it).
pub fn checkout(cfg: &Config, reference: &str) -> Result<(Config, String)> {
    let subject_dir = cfg.manifest.parent().unwrap_or(&cfg.root);
    let top = PathBuf::from(
        git(&["rev-parse", "--show-toplevel"], subject_dir)
            .context("building a git ref needs the subject to be in a git checkout")?,
    );
    let sha = git(&["rev-parse", "--verify", &format!("{reference}^{{commit}}")], &top)
        .with_context(|| format!("{reference} is not a commit of this repository (a shallow CI clone needs `fetch-depth: 0` or a fetch of the base)"))?;
    let manifest = std::fs::canonicalize(&cfg.manifest).unwrap_or(cfg.manifest.clone());
    let top = std::fs::canonicalize(&top).unwrap_or(top);
    let rel = manifest
        .strip_prefix(&top)
        .map(Path::to_path_buf)
        .map_err(|_| {
            anyhow!(
                "the subject manifest {} is not inside its git checkout {}",
                manifest.display(),
                top.display()
            )
        })?;
    let wt = cfg
        .root
        .join("target")
        .join("budget")
        .join("base")
        .join(&sha[..12]);
    let ready = wt.join(&rel).is_file()
        && git(&["rev-parse", "HEAD"], &wt)
            .map(|h| h == sha)
            .unwrap_or(false);
    if !ready {
        let _ = std::fs::remove_dir_all(&wt);
        let _ = git(&["worktree", "prune"], &top);
        eprintln!(
            "budget: checking out {reference} ({}) in {}",
            &sha[..12],
            wt.display()
        );
        git(
            &[
                "worktree",
                "add",
                "--force",
                "--detach",
                &wt.display().to_string(),
                &sha,
            ],
            &top,
        )?;
    }
    let mut at = cfg.clone();
    at.manifest = wt.join(&rel);
    build::prepare_toolchain(&mut at).with_context(|| format!("the subject at {reference}"))?;
    Ok((at, sha))
}

/// The `Budget-Accept:` trailers of the commits after the base's commit up
/// to the subject's HEAD, oldest first, checked against the configuration
/// (`accept.rs`). None without a base, or when the base's commit is not in
/// this history (a blessed baseline from elsewhere), which is said.
pub fn acceptances(
    cfg: &Config,
    base: Option<&Base>,
    profiles: &[String],
) -> Result<Vec<crate::accept::Acceptance>> {
    let Some(b) = base.filter(|b| !b.commit.is_empty() && b.commit != "unknown") else {
        return Ok(vec![]);
    };
    let since = b.commit.trim_end_matches("-dirty");
    let subject_dir = cfg.manifest.parent().unwrap_or(&cfg.root);
    let log = match git(
        &[
            "log",
            "--reverse",
            "--format=%H%x1f%an <%ae>%x1f%B%x1e",
            &format!("{since}..HEAD"),
        ],
        subject_dir,
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("budget: no Budget-Accept trailers read: the base's commit {since} is not in this history ({e:#})");
            return Ok(vec![]);
        }
    };
    let fields: Vec<Vec<&str>> = log
        .split('\x1e')
        .map(|c| {
            c.trim_start_matches('\n')
                .splitn(3, '\x1f')
                .collect::<Vec<_>>()
        })
        .filter(|f| f.len() == 3)
        .collect();
    let commits: Vec<crate::accept::Commit> = fields
        .iter()
        .map(|f| crate::accept::Commit {
            sha: f[0],
            author: f[1],
            message: f[2],
        })
        .collect();
    let all =
        crate::accept::parse(&commits).map_err(|e| anyhow!("a Budget-Accept trailer: {e}"))?;
    crate::accept::check(&all, cfg, profiles)
        .map_err(|e| anyhow!("a Budget-Accept trailer: {e}"))?;
    for a in &all {
        eprintln!(
            "budget: {} {} {}: {}",
            a.metric,
            a.profile,
            a.environment,
            a.text()
        );
    }
    Ok(all)
}

/// `--against REF`: build every selected profile of REF in its worktree
/// ([`checkout`]), with this checkout's profiles and optimizer settings.
pub fn base_from_ref(
    cfg: &Config,
    reference: &str,
    profiles: &[String],
    metrics: &[&MetricSpec],
) -> Result<Base> {
    let (base_cfg, sha) =
        checkout(cfg, reference).with_context(|| format!("--against {reference}"))?;
    let mut out = Base {
        origin: format!("--against {reference} ({})", &sha[..12]),
        commit: sha.clone(),
        profiles: BTreeMap::new(),
    };
    for name in profiles {
        let profile = cfg
            .profile(name)
            .ok_or_else(|| anyhow!("unknown profile {name}"))?;
        let references = build_references(&base_cfg, metrics, profile, name, "base~")?;
        let mut p = profile.clone();
        p.name = format!("base~{name}");
        let o = build_and_optimize(&base_cfg, &p, &p.name)
            .with_context(|| format!("building the base ({reference}) of profile {name}"))?;
        let sizes = sizes(&o)?;
        out.profiles.insert(
            name.clone(),
            BaseProfile {
                main: Runnable {
                    wasm: o.opt.wasm,
                    glue: o.built.glue,
                },
                named: Some(o.opt.named),
                sizes: Some(sizes),
                references,
                closure: resolve_closure(&base_cfg, profile, name)
                    .with_context(|| format!("the base ({reference}) of profile {name}"))?
                    .map(|c| c.normal),
            },
        );
    }
    Ok(out)
}
