//! `cargo xtask init`: a working gate configuration for a crate the gate
//! has never seen, without editing the crate.
//!
//! inspect (`cargo metadata`) -> plan three profiles -> build each once for
//! wasm32 (the gate's own build and optimize stages) -> read the exports
//! (the module's, or the `.d.ts` wasm-bindgen emits) -> wire the built-in
//! scenarios to them -> write `budgets.toml` and `profiles/*.toml`.
//!
//! Planning and rendering are pure and tested on fixed input, as are
//! reading the exports and wiring the built-ins to them (`api.rs`); only
//! `run` builds.

use super::args::{Arg, Args};
use crate::api::{self, wire, CallText, Export, Wiring};
use crate::build;
use crate::config;
use crate::size;
use crate::subject;
use crate::wasmfile;
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `cargo xtask init --help` says beyond the usage line.
pub const ABOUT: &str =
    "Writes budgets.toml and profiles/{core-min,core-trace,full-dev}.toml for an
existing crate, next to it (or in --out DIR), without editing the crate:
  --manifest PATH   the crate's Cargo.toml (default: ./Cargo.toml)
  --package NAME    the package, when the manifest is a workspace
  --out DIR         where to write (default: the manifest's directory)
  --force           overwrite files a previous init wrote
  --toolchain NAME  build with this installed rustup toolchain instead of
                    the crate's pinned one (written to [subject] toolchain)
It checks each profile's features with `cargo check` (falling back to
fewer when they do not build for wasm32), builds each profile once, sets
the size caps at the measured size plus 10 %, then, in desktop Chromium,
calls every export it can give literal arguments: the heap soaks all that
ran, the call metric times the slowest that changed the module's memory,
and the timing caps are 3x the p95 of a short run of each.";

/// Size caps: the measured size plus this much headroom.
pub const SIZE_HEADROOM_PCT: f64 = 10.0;

struct Options {
    manifest: PathBuf,
    package: Option<String>,
    out: Option<PathBuf>,
    force: bool,
    toolchain: Option<String>,
}

pub fn cli(args: &[String]) -> Result<u8> {
    let mut o = Options {
        manifest: PathBuf::from("Cargo.toml"),
        package: None,
        out: None,
        force: false,
        toolchain: None,
    };
    let mut a = Args::new("init", args);
    while let Some(arg) = a.next_arg() {
        match arg {
            Arg::Flag("--manifest") => o.manifest = PathBuf::from(a.value("--manifest")?),
            Arg::Flag("--package") => o.package = Some(a.value("--package")?),
            Arg::Flag("--out") => o.out = Some(PathBuf::from(a.value("--out")?)),
            Arg::Flag("--force") => o.force = true,
            Arg::Flag("--toolchain") => o.toolchain = Some(a.value("--toolchain")?),
            Arg::Flag(f) => return Err(a.unknown(f)),
            Arg::Positional(p) => return Err(a.unexpected(p)),
        }
    }
    run(&o)
}

// ---------------------------------------------------------------- inspect

/// What `cargo metadata` says about the crate.
#[derive(Debug, Clone, PartialEq)]
pub struct Crate {
    pub name: String,
    pub version: String,
    pub manifest: PathBuf,
    /// Declared features (without `default`), in name order.
    pub features: Vec<String>,
    pub has_default: bool,
    pub bindgen: bool,
    pub cdylib: bool,
}

/// The package `package` (or the manifest's own, or a workspace's only
/// one) out of `cargo metadata --no-deps` JSON.
pub fn crate_of(
    metadata: &serde_json::Value,
    manifest: &Path,
    package: Option<&str>,
) -> Result<Crate> {
    let pkgs = metadata["packages"]
        .as_array()
        .ok_or_else(|| anyhow!("cargo metadata printed no packages"))?;
    let names: Vec<&str> = pkgs.iter().filter_map(|p| p["name"].as_str()).collect();
    let same = |p: &serde_json::Value| {
        p["manifest_path"]
            .as_str()
            .map(|m| Path::new(m) == manifest)
            .unwrap_or(false)
    };
    let pick = match package {
        Some(name) => pkgs.iter().find(|p| p["name"] == name).ok_or_else(|| {
            anyhow!(
                "no package `{name}` in {}; packages: {}",
                manifest.display(),
                names.join(", ")
            )
        })?,
        None => match pkgs.iter().find(|p| same(p)) {
            Some(p) => p,
            None if pkgs.len() == 1 => &pkgs[0],
            None => bail!(
                "{} is a workspace of {} packages: name one with --package ({})",
                manifest.display(),
                pkgs.len(),
                names.join(", ")
            ),
        },
    };
    let features: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(pick["features"].clone()).unwrap_or_default();
    let deps = pick["dependencies"].as_array().cloned().unwrap_or_default();
    Ok(Crate {
        name: pick["name"].as_str().unwrap_or_default().to_string(),
        version: pick["version"].as_str().unwrap_or_default().to_string(),
        manifest: PathBuf::from(pick["manifest_path"].as_str().unwrap_or_default()),
        has_default: features.contains_key("default"),
        features: features.into_keys().filter(|f| f != "default").collect(),
        bindgen: deps
            .iter()
            .any(|d| d["name"] == "wasm-bindgen" && d["kind"].is_null()),
        cdylib: pick["targets"].as_array().is_some_and(|ts| {
            ts.iter().any(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "cdylib"))
            })
        }),
    })
}

fn inspect(manifest: &Path, package: Option<&str>, toolchain: Option<&str>) -> Result<Crate> {
    let manifest = std::fs::canonicalize(manifest).with_context(|| {
        format!(
            "{}: no such manifest (pass --manifest PATH to a crate's Cargo.toml)",
            manifest.display()
        )
    })?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    // The crate's own toolchain (or --toolchain) runs cargo metadata: a
    // pin that is not installed is one line, with both ways out.
    let tc = crate::toolchain::resolve_or(
        dir,
        toolchain,
        "pass `--toolchain NAME` to init to build with an installed one (`rustup toolchain list`)",
    )?;
    let mut cmd = tc.cargo();
    let out = cmd
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .current_dir(dir)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed on {}:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata printed no JSON")?;
    crate_of(&v, &manifest, package)
}

// ---------------------------------------------------------------- profiles

/// One profile `init` writes.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfilePlan {
    pub name: &'static str,
    pub description: String,
    pub features: Vec<String>,
    /// Why these features (a comment in the file).
    pub why: String,
    /// Feature sets to try, in order, when these do not build for wasm32
    /// (with why): features can exclude each other (one "profile" feature
    /// of several), or pull in a native backend.
    pub fallbacks: Vec<(Vec<String>, String)>,
}

/// Feature names that look like tracing or diagnostics.
fn diagnostic(feature: &str) -> bool {
    let f = feature.to_ascii_lowercase();
    [
        "trace", "tracing", "log", "debug", "diag", "metrics", "profil", "console", "inspect",
    ]
    .iter()
    .any(|w| f.contains(w))
        || f == "dev"
}

/// The three profiles: size-optimized default features; optimized with the
/// crate's tracing or diagnostic features (only when it has some); and a
/// debug-friendly build of every feature.
pub fn plan_profiles(c: &Crate) -> Vec<ProfilePlan> {
    let default: Vec<String> = if c.has_default {
        vec!["default".into()]
    } else {
        vec![]
    };
    let diag: Vec<String> = c
        .features
        .iter()
        .filter(|f| diagnostic(f))
        .cloned()
        .collect();
    let with_diag: Vec<String> = default.iter().chain(&diag).cloned().collect();
    let defaults = (default.clone(), "the default features".to_string());
    let alone = (
        diag.clone(),
        "the tracing/diagnostic features without the defaults".to_string(),
    );
    let mut out = vec![ProfilePlan {
        name: "core-min",
        description: "size-optimized build of the default features".into(),
        features: default.clone(),
        why: "the crate's default features".into(),
        fallbacks: vec![],
    }];
    if !diag.is_empty() {
        out.push(ProfilePlan {
            name: "core-trace",
            description: format!(
                "optimized build with the tracing/diagnostic features ({})",
                diag.join(", ")
            ),
            features: with_diag.clone(),
            why: "default features plus the ones whose names say tracing or diagnostics".into(),
            fallbacks: vec![alone.clone(), defaults.clone()],
        });
    }
    out.push(ProfilePlan {
        name: "full-dev",
        description: "debug-friendly build of all features".into(),
        features: default.iter().chain(&c.features).cloned().collect(),
        why: "every feature the crate declares".into(),
        fallbacks: [(
            with_diag,
            "the default and the tracing/diagnostic features".to_string(),
        )]
        .into_iter()
        .chain((!diag.is_empty()).then_some(alone))
        .chain([defaults])
        .collect(),
    });
    for p in &mut out {
        // Only sets that differ from what was tried before them.
        let mut seen = vec![p.features.clone()];
        p.fallbacks.retain(|(f, _)| {
            let new = !seen.contains(f);
            seen.push(f.clone());
            new
        });
    }
    out
}

/// A profile file's text.
pub fn render_profile(p: &ProfilePlan) -> String {
    let list = |v: &[String]| {
        v.iter()
            .map(|f| format!("{f:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (cargo, settings, wasm_opt) = match p.name {
        "core-min" => (
            "gate-min",
            "inherits = \"release\"\nopt-level = \"z\"\nlto = \"fat\"\ncodegen-units = 1\npanic = \"abort\"\ndebug = false\n",
            "enabled = true\nlevel = \"z\"\nstrip_debug = true\nstrip_dwarf = true\nstrip_producers = true\npasses = [\"vacuum\"]\n",
        ),
        "core-trace" => (
            "gate-trace",
            "inherits = \"release\"\nopt-level = \"s\"\nlto = \"thin\"\ncodegen-units = 1\npanic = \"abort\"\ndebug = false\n",
            "enabled = true\nlevel = \"2\"\nstrip_dwarf = true\n",
        ),
        _ => ("gate-dev", "inherits = \"dev\"\nopt-level = 1\ndebug = 1\npanic = \"abort\"\n", "enabled = true\nlevel = \"1\"\n# Keep the name section (readable stacks), not the DWARF line tables.\nstrip_dwarf = true\n"),
    };
    format!(
        "# Written by `cargo xtask init`. Edit freely: the gate reads it on every run.\ndescription = {:?}\n\n[cargo]\n# {}\nfeatures = [{}]\n# The cargo profile's settings live below ([cargo.settings], passed with\n# `cargo --config`), so the crate's manifest needs no [profile.{cargo}].\nprofile = \"{cargo}\"\n\n[cargo.settings]\n{settings}\n[wasm_opt]\n{wasm_opt}",
        p.description,
        p.why,
        list(&p.features)
    )
}

// ---------------------------------------------------------------- budgets.toml

/// Sizes of one profile's shipped artifact, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub raw: u64,
    pub gzip: u64,
}

/// A cap `headroom_pct` above `bytes`, in KiB, rounded up to 0.1 KiB.
pub fn size_cap_kib(bytes: u64, headroom_pct: f64) -> f64 {
    (bytes as f64 / 1024.0 * (1.0 + headroom_pct / 100.0) * 10.0).ceil() / 10.0
}

/// The WebKit environment init writes where WebKit is installed.
const WEBKIT_ENV: &str = "\n[environment.webkit-desktop]\n\
# JavaScriptCore (Safari's engine) in WebKitGTK on Linux, over WebDriver;\n\
# not a measurement of Safari on iOS. No throttling, no gc(), no JS heap figure.\n\
browser = \"webkit\"\ncpu_throttle = 1.0\n";

/// What init says where WebKit is not installed.
const WEBKIT_ABSENT: &str =
    "\n# WebKit (JavaScriptCore, Safari's engine) was not found on this machine.\n\
# With it (Debian: apt-get install webkit2gtk-driver xvfb), `init --force`\n\
# adds a webkit-desktop environment with cold init and wasm memory there.\n";

/// Everything `render_budgets` needs.
#[derive(Clone)]
pub struct Plan<'a> {
    pub krate: &'a Crate,
    /// `[subject] manifest`, relative to the budgets file where it can be.
    pub manifest: String,
    pub profiles: &'a [ProfilePlan],
    pub sizes: &'a BTreeMap<String, Measured>,
    pub exports: &'a [Export],
    pub wiring: &'a Wiring,
    /// Raw-export crates: (import, provider) for each imported function.
    pub imports: &'a [(String, String)],
    /// Why the scenario metrics cannot run at all (a non-function import).
    pub unrunnable: Option<String>,
    /// `--toolchain`, written to `[subject] toolchain`.
    pub toolchain: Option<String>,
    /// The timing caps init measured (else the starting points).
    pub caps: &'a Caps,
    /// WebKit (its driver and Xvfb) is on this machine: the draft measures
    /// cold init and the wasm memory there too.
    pub webkit: bool,
    /// The crate's own tests, when init could run them.
    pub suite: Option<&'a SuitePlan>,
}

/// What init wires of the crate's `#[wasm_bindgen_test]` functions.
#[derive(Debug, Clone, PartialEq)]
pub struct SuitePlan {
    /// The test target (`lib`, or a file under `tests/`).
    pub target: String,
    /// The profile whose features and cargo profile build the tests.
    pub profile: String,
    pub choice: crate::suite::Choice,
    /// The timed pass's cap in ms, and where it came from.
    pub cap: Option<(f64, String)>,
    /// Test targets not used, each with why.
    pub skipped: Vec<(String, String)>,
}

/// Timing caps init measured: per metric id (`INIT`, `CALL`), the cap per
/// profile in the metric's unit, and where they came from (a comment).
pub type Caps = BTreeMap<&'static str, (BTreeMap<String, f64>, String)>;

/// A timing metric's `hard = {...}`: measured where init measured it, else
/// the starting point, with the comment that says which.
fn timing_caps(p: &Plan, id: &str, min: f64, trace: f64, dev: f64) -> (String, String) {
    let measured = p.caps.get(id);
    let caps = per_profile(p.profiles, |n| {
        measured
            .and_then(|(c, _)| c.get(n))
            .map(|v| v.to_string())
            .unwrap_or_else(|| timing_cap(n, min, trace, dev))
    });
    let why = match measured {
        Some((_, why)) => format!("# {why}\n"),
        None => "# A starting point: tighten it after the first run.\n".into(),
    };
    (caps, why)
}

fn per_profile(profiles: &[ProfilePlan], f: impl Fn(&str) -> String) -> String {
    format!(
        "{{ {} }}",
        profiles
            .iter()
            .map(|p| format!("{} = {}", p.name, f(p.name)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn timing_cap(profile: &str, min: f64, trace: f64, dev: f64) -> String {
    match profile {
        "core-min" => min,
        "core-trace" => trace,
        _ => dev,
    }
    .to_string()
}

/// The budgets.toml `init` writes.
///
/// Long by design: the file a user reads, written top to bottom in its own order, each block with the comment that explains it.
pub fn render_budgets(p: &Plan) -> String {
    let k = p.krate;
    let mut s = String::new();
    let names = p
        .profiles
        .iter()
        .map(|x| format!("{:?}", x.name))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(
        s,
        "# Budgets for `{} {}` ({}), written by `cargo xtask init`.\n\
         # Size caps are the sizes init measured plus {SIZE_HEADROOM_PCT} % headroom; each timing\n\
         # cap says where it came from; the heap cap is a starting point. A change is\n\
         # also compared with its base (`--against REF`, or `--bless`ed artifacts):\n\
         # more than 10 % worse fails, whatever the cap.\n\
         schema = 1\n\n\
         [subject]\nmanifest = {:?}\npackage = {:?}\n{}profiles_dir = \"profiles\"\nprofiles = [{names}]\n\
         # Hand-written scenarios (ES modules, see SCENARIOS.md) go here; the\n# built-in ones below need none.\nscenarios = \"scenarios\"\n\n\
         {}\n{}\n\
         # Crates that need an OS the browser lacks: one in the wasm build's\n\
         # closure fails M-DEPS-01, with the chain that brings it in. Exempt one\n\
         # with allow = [{{ crate = \"libc\", reason = \"...\" }}].\n\
         [dependencies]\nforbidden = [\"libc\", \"nix\", \"polling\", \"signal-hook\", \"signal-hook-registry\", \"socket2\"]\n\n\
         [environment.desktop]\ncpu_throttle = 1.0\n{}",
        k.name,
        k.version,
        if k.bindgen { "wasm-bindgen" } else { "raw wasm exports" },
        p.manifest,
        k.name,
        p.toolchain
            .as_ref()
            .map(|t| format!("# init --toolchain: the crate's pinned one is not used.\ntoolchain = {t:?}\n"))
            .unwrap_or_default(),
        crate::config::Protocol::default().toml(),
        crate::config::Escalation::default().toml(),
        if p.webkit {
            WEBKIT_ENV
        } else {
            WEBKIT_ABSENT
        },
    );
    let kib = |f: fn(&Measured) -> u64| {
        per_profile(p.profiles, |n| {
            p.sizes
                .get(n)
                .map(|m| size_cap_kib(f(m), SIZE_HEADROOM_PCT).to_string())
                .unwrap_or_else(|| "0".into())
        })
    };
    let measured = |f: fn(&Measured) -> u64| {
        p.profiles
            .iter()
            .filter_map(|x| {
                p.sizes
                    .get(x.name)
                    .map(|m| format!("{} {:.1} KiB", x.name, f(m) as f64 / 1024.0))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = write!(
        s,
        "\n[[metric]]\nid = \"SIZE-RAW\"\nname = \"wasm size, raw\"\nunit = \"KiB\"\nkind = \"hard\"\nsource = \"size.raw\"\n# measured by init: {}\nhard = {}\n\n\
         [[metric]]\nid = \"SIZE-GZIP\"\nname = \"wasm size, gzip\"\nunit = \"KiB\"\nkind = \"hard\"\nsource = \"size.gzip\"\n# measured by init: {}\nhard = {}\n",
        measured(|m| m.raw),
        kib(|m| m.raw),
        measured(|m| m.gzip),
        kib(|m| m.gzip)
    );
    let found = if p.exports.is_empty() {
        "(none)".to_string()
    } else {
        p.exports
            .iter()
            .map(Export::spelled)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let imports = if p.imports.is_empty() {
        String::new()
    } else {
        format!(
            "# The module's imported functions: `now` is performance.now(), `zero` returns 0.\nimports = {{ {} }}\n",
            p.imports.iter().map(|(k, v)| format!("{k:?} = {v:?}")).collect::<Vec<_>>().join(", ")
        )
    };
    let block = |commented: bool, body: String| -> String {
        if commented {
            body.lines().map(|l| format!("# {l}\n")).collect()
        } else {
            body
        }
    };
    let cold_call = p
        .wiring
        .cold
        .as_ref()
        .map(|c| format!("call = {}\n", c.0))
        .unwrap_or_default();
    let _ = write!(
        s,
        "\n# Cold init: fresh bytes (module cache defeated), compile, instantiate{}.\n",
        if p.wiring.cold.is_some() {
            ", then the call"
        } else {
            ""
        }
    );
    if let Some(why) = &p.unrunnable {
        let _ = writeln!(
            s,
            "# The built-ins cannot run this module: {why}. Write a scenario (SCENARIOS.md)."
        );
    }
    let (caps, why) = timing_caps(p, "INIT", 60.0, 85.0, 130.0);
    s += &block(
        p.unrunnable.is_some(),
        format!(
            "[[metric]]\nid = \"INIT\"\nname = \"cold init p95, desktop Chromium\"\nunit = \"ms\"\nkind = \"hard\"\nsource = \"builtin:cold-init\"\nenvironment = \"desktop\"\n{cold_call}{imports}{why}hard = {caps}\n"
        ),
    );
    let (setup, call, teardown) = match &p.wiring.call {
        Some((s, c, t)) => (s.clone(), c.clone(), t.clone()),
        None => (
            None,
            CallText("{ export = \"NAME\", args = [] }".into()),
            None,
        ),
    };
    let unwired = p.wiring.call.is_none() || p.unrunnable.is_some();
    if p.wiring.call.is_none() {
        let _ = write!(s, "\n# init found no export it could call with literal arguments (numbers, strings,\n# booleans). Exports found: {found}.\n# Name one and its arguments, then uncomment the two metrics below.\n");
    }
    let handle = setup
        .as_ref()
        .map(|c| format!("setup = {}\n", c.0))
        .unwrap_or_default()
        + &format!("call = {}\n", call.0)
        + &teardown
            .as_ref()
            .map(|c| format!("teardown = {}\n", c.0))
            .unwrap_or_default();
    let _ = write!(s, "\n# One call's latency, warm; a batch of calls per sample when one call is\n# below the clock (the report says how many).\n");
    for n in &p.wiring.notes {
        s += &format!("# {n}\n");
    }
    let (caps, why) = timing_caps(p, "CALL", 1000.0, 2000.0, 5000.0);
    s += &block(
        unwired,
        format!(
            "[[metric]]\nid = \"CALL\"\nname = \"one call p95, desktop Chromium\"\nunit = \"us\"\nkind = \"hard\"\nsource = \"builtin:call\"\nenvironment = \"desktop\"\n{handle}{imports}{why}hard = {caps}\n"
        ),
    );
    let (ops, heap_calls) = match &p.wiring.soak {
        Some((setup, entries)) => (
            format!(
                "operations (each calls the {} exports below once, in a seeded order)",
                entries.len()
            ),
            setup
                .as_ref()
                .map(|c| format!("setup = {}\n", c.0))
                .unwrap_or_default()
                + &format!(
                    "soak = [\n{}]\n",
                    entries
                        .iter()
                        .map(|e| format!("  {},\n", e.0))
                        .collect::<String>()
                ),
        ),
        None => ("calls".to_string(), handle),
    };
    let _ = write!(
        s,
        "\n# Steady-state heap (JS heap + wasm memory) over 500 {ops}\n# after 200 warm-up ones. Fails if it keeps growing, whatever its p95.\n"
    );
    s += &block(
        p.unrunnable.is_some() || (p.wiring.call.is_none() && p.wiring.soak.is_none()),
        format!(
            "[[metric]]\nid = \"HEAP\"\nname = \"steady-state heap p95, desktop Chromium\"\nunit = \"MiB\"\nkind = \"hard\"\nsource = \"builtin:heap\"\nenvironment = \"desktop\"\n{heap_calls}{imports}hard = {}\n",
            per_profile(p.profiles, |_| "64".into())
        ),
    );
    if let Some(su) = p.suite {
        s += &render_suite(su);
    }
    if p.webkit {
        let _ = write!(s, "\n# The same cold init and soak in WebKit (JavaScriptCore). WebKit forces no\n# GC and gives no JS heap figure: the heap covers the wasm memory alone.\n");
        let (caps, why) = timing_caps(p, "INIT-webkit", 60.0, 85.0, 130.0);
        s += &block(
            p.unrunnable.is_some(),
            format!(
                "[[metric]]\nid = \"INIT-webkit\"\nname = \"cold init p95, desktop WebKit\"\nunit = \"ms\"\nkind = \"hard\"\nsource = \"builtin:cold-init\"\nenvironment = \"webkit-desktop\"\n{cold_call}{imports}{why}hard = {caps}\n"
            ),
        );
        s += &block(
            p.unrunnable.is_some() || (p.wiring.call.is_none() && p.wiring.soak.is_none()),
            format!(
                "[[metric]]\nid = \"HEAP-webkit\"\nname = \"steady-state wasm memory p95, desktop WebKit\"\nunit = \"MiB\"\nkind = \"hard\"\nsource = \"builtin:heap\"\nenvironment = \"webkit-desktop\"\ncovers = \"wasm-memory\"\n{heap_calls}{imports}hard = {}\n",
                per_profile(p.profiles, |_| "64".into())
            ),
        );
    }
    s
}

/// The two metrics of the crate's own tests: one timed pass, and the heap
/// over passes. Their test lists go in a `[metric.tests]` table, the last
/// of each metric, one name per line.
pub fn render_suite(su: &SuitePlan) -> String {
    let c = &su.choice;
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("  {n:?},\n"))
            .collect::<String>()
    };
    let tests = |names: &[String]| {
        format!(
            "[metric.tests]\ntarget = {:?}\nonly = [\n{}]\n",
            su.target,
            list(names)
        )
    };
    let mut s = format!(
        "\n# The crate's own #[wasm_bindgen_test] functions (test target `{}`), run as\n\
         # wasm-bindgen-test runs them, a fresh test context per pass. The test module\n\
         # is `cargo test --no-run` with profile {}'s features and cargo profile, through\n\
         # wasm-bindgen; only that profile is measured.\n",
        su.target, su.profile
    );
    for (name, why) in &c.left_out {
        let _ = writeln!(s, "# Left out: {name} ({why}).");
    }
    for (target, why) in &su.skipped {
        let _ = writeln!(s, "# Test target `{target}` is not measured: {why}.");
    }
    if let Some(w) = &c.warning {
        let _ = writeln!(s, "# Warning: {w}.");
    }
    if c.timed.is_empty() {
        s += "# No test passed in the browser: nothing to time.\n";
    } else {
        let (cap, why) = su.cap.clone().unwrap_or((
            crate::exercise::cap_from(c.timed_ms, 10.0),
            "A starting point: 10x the probed pass; tighten it after the first run.".into(),
        ));
        let _ = write!(
            s,
            "\n# One pass over the heaviest tests that ran under {} ms together ({:.2} ms\n# when init probed them). The median pass: a pass's p95 is the passes a\n# garbage collection lands in (A/A half-width 7-13 % on url's tests, against\n# 2-4 % for the median; docs/measurements.md, \"A crate's own tests\").\n\
             [[metric]]\nid = \"TESTS\"\nname = \"one pass of the crate's tests, median, desktop Chromium\"\nunit = \"ms\"\nkind = \"hard\"\nsource = \"builtin:tests\"\nenvironment = \"desktop\"\nstatistic = \"median\"\nprofiles = [{:?}]\n# {why}\nhard = {{ {} = {cap} }}\n{}",
            crate::suite::TIMED_PASS_MS,
            c.timed_ms,
            su.profile,
            su.profile,
            tests(&c.timed)
        );
    }
    if !c.soaked.is_empty() {
        let _ = write!(
            s,
            "\n# The heap (JS heap + wasm memory) over 500 passes of the tests that ran under\n# {} ms together, after 200 warm-up passes. Fails if it keeps growing.\n\
             [[metric]]\nid = \"TESTS-HEAP\"\nname = \"steady-state heap over the crate's tests p95, desktop Chromium\"\nunit = \"MiB\"\nkind = \"hard\"\nsource = \"builtin:tests\"\nenvironment = \"desktop\"\nprofiles = [{:?}]\nhard = {{ {} = 64 }}\n{}",
            crate::suite::SOAK_PASS_MS,
            su.profile,
            su.profile,
            tests(&c.soaked)
        );
    }
    s
}

/// The crate's `#[wasm_bindgen_test]` functions as metrics: the first test
/// target a page can run, built with the first profile whose tests build,
/// each test probed alone in desktop Chromium (`suite::choose` decides
/// from that), then a short run of the timed pass for its cap.
fn suite_in_browser(
    cfg: &config::Config,
    crate_dir: &Path,
    profiles: &[ProfilePlan],
) -> Result<Option<SuitePlan>> {
    use crate::suite::Runs;
    let mut skipped = Vec::new();
    let mut chosen = None;
    for (target, runs) in crate::suite::targets(crate_dir) {
        match runs {
            Runs::Elsewhere(w) => skipped.push((
                target,
                format!("its tests are configured to run in {w}, not in a page"),
            )),
            Runs::Page if chosen.is_none() => chosen = Some(target),
            Runs::Page => skipped.push((
                target,
                "init wires one test target; copy the two metrics for it".into(),
            )),
        }
    }
    let Some(target) = chosen else {
        for (t, why) in &skipped {
            eprintln!("init: test target `{t}`: {why}");
        }
        return Ok(None);
    };
    eprintln!("init: the crate has #[wasm_bindgen_test] functions in `{target}`: building them");
    let mut module = None;
    for p in profiles {
        let profile = cfg
            .profile(p.name)
            .cloned()
            .ok_or_else(|| anyhow!("profile {} not loaded", p.name))?;
        let work = format!("init~{}~tests-{target}", p.name);
        match subject::test_module(cfg, &profile, &target, &work) {
            Ok(r) => {
                module = Some((p.name, r));
                break;
            }
            Err(e) => {
                let text = format!("{e:#}");
                eprintln!(
                    "init: the tests of `{target}` do not build with profile {} ({}); trying the next",
                    p.name,
                    first_error(&text).unwrap_or("the build failed")
                );
            }
        }
    }
    let Some((profile, module)) = module else {
        bail!("the tests of `{target}` build with no profile");
    };
    let (env, mut m) = desktop(cfg)?;
    let t = super::probe::Target {
        profile,
        environment: env,
        wasm: module.wasm.clone(),
        glue: module.glue.clone(),
        imports: &[],
        timeout: std::time::Duration::from_secs(cfg.protocol.scenario_timeout_s),
    };
    let (found, tick) = super::probe::tests(&mut m, &t, &target)?;
    let choice = crate::suite::choose(&found, tick);
    let cap = if choice.timed.is_empty() {
        None
    } else {
        let params = serde_json::json!({
            "kind": "tests",
            "heap": false,
            "tests": { "target": target, "only": choice.timed },
        });
        let (p95, n) = super::probe::p95_ms(&mut m, &t, "tests", params, CAP_SAMPLES)?;
        Some((
            crate::exercise::cap_from(p95, CAP_FACTOR),
            format!(
                "{CAP_FACTOR}x the p95 init measured in desktop Chromium ({n} samples): {profile} {}",
                fmt_sig(p95, "ms")
            ),
        ))
    };
    Ok(Some(SuitePlan {
        target,
        profile: profile.to_string(),
        choice,
        cap,
        skipped,
    }))
}

/// A provider for a raw module's imported function: the clock for names
/// that say time, else zero.
pub fn provider_for(import: &str) -> &'static str {
    let n = import
        .rsplit('.')
        .next()
        .unwrap_or(import)
        .to_ascii_lowercase();
    if ["now", "time", "clock"].iter().any(|w| n.contains(w)) {
        "now"
    } else {
        "zero"
    }
}

// ---------------------------------------------------------------- run

/// The first line of a compiler error in build output, if any.
fn first_error(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| l.starts_with("error"))
}

fn relative_to(path: &Path, base: &Path) -> String {
    // `a/b/Cargo.toml` from `a/gate`: `../b/Cargo.toml`.
    let (p, b) = (
        std::path::absolute(path).unwrap_or(path.into()),
        std::path::absolute(base).unwrap_or(base.into()),
    );
    let common = p
        .components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .count();
    if common <= 1 {
        return p.display().to_string();
    }
    let ups = b.components().count() - common;
    let mut r = PathBuf::new();
    for _ in 0..ups {
        r.push("..");
    }
    for c in p.components().skip(common) {
        r.push(c);
    }
    r.display().to_string()
}

/// One profile's shipped build and its sizes.
struct Shipped {
    sizes: Measured,
    wasm: PathBuf,
    glue: Option<PathBuf>,
}

/// What init's builds and browser runs found, before the final
/// budgets.toml is written.
struct Findings {
    builds: BTreeMap<String, Shipped>,
    api: Api,
    wiring: Wiring,
    caps: Caps,
    suite: Option<SuitePlan>,
}

// Longer than most: the steps that write files share one closure, so a
// failure anywhere removes everything init wrote, in one place.
fn run(o: &Options) -> Result<u8> {
    let krate = inspect(&o.manifest, o.package.as_deref(), o.toolchain.as_deref())?;
    let crate_dir = krate
        .manifest
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let out = o.out.clone().unwrap_or_else(|| crate_dir.clone());
    announce(&krate, &crate_dir);
    let mut profiles = plan_profiles(&krate);
    let budgets = out.join("budgets.toml");
    let profile_file = |p: &ProfilePlan| out.join("profiles").join(format!("{}.toml", p.name));
    let mut files: Vec<PathBuf> = vec![budgets.clone()];
    files.extend(plan_profiles(&krate).iter().map(profile_file));
    let existing: Vec<String> = files
        .iter()
        .filter(|f| f.exists())
        .map(|f| f.display().to_string())
        .collect();
    if !existing.is_empty() && !o.force {
        bail!("init would overwrite {}: pass --force to replace them, or --out DIR to write elsewhere", existing.join(", "));
    }
    std::fs::create_dir_all(out.join("profiles"))
        .with_context(|| format!("creating {}", out.join("profiles").display()))?;
    let manifest_rel = relative_to(&krate.manifest, &out);
    let written = std::cell::RefCell::new(Vec::<PathBuf>::new());
    let write = |path: &Path, text: &str| -> Result<()> {
        crate::util::write_atomic(path, text.as_bytes())?;
        written.borrow_mut().push(path.to_path_buf());
        Ok(())
    };
    let no_caps = Caps::new();
    // Offered where installed: init installs no browser of its own accord.
    let webkit = crate::browser::webkit::available();
    let (no_sizes, no_wiring) = (BTreeMap::new(), Wiring::default());
    let plan_of = |profiles: &'_ [ProfilePlan]| {
        render_budgets(&Plan {
            krate: &krate,
            manifest: manifest_rel.clone(),
            profiles,
            sizes: &no_sizes,
            exports: &[],
            wiring: &no_wiring,
            imports: &[],
            unrunnable: None,
            toolchain: o.toolchain.clone(),
            caps: &no_caps,
            webkit,
            suite: None,
        })
    };
    let result = (|| -> Result<Findings> {
        for p in &profiles {
            write(&profile_file(p), &render_profile(p))?;
        }
        // A draft with the size metrics only: the gate's own config loader
        // and build stages then build exactly what `budget` will.
        let draft = |profiles: &[ProfilePlan]| {
            plan_of(profiles)
                .split("\n# Cold init")
                .next()
                .unwrap_or_default()
                .to_string()
        };
        write(&budgets, &draft(&profiles))?;
        let rewrite = |plan: &ProfilePlan| write(&profile_file(plan), &render_profile(plan));
        let (cfg, builds) = build_profiles(&budgets, &mut profiles, &krate.name, &rewrite)?;
        let first = builds
            .values()
            .next()
            .ok_or_else(|| anyhow!("no profile built"))?;
        let api = read_api(&first.wasm, first.glue.as_deref())?;
        let mut wiring = wire(&api.0);
        let mut caps = Caps::new();
        if api.2.is_none() {
            match exercise_in_browser(&cfg, &builds, &api, &mut wiring) {
                Ok(c) => caps = c,
                Err(e) => eprintln!(
                    "init: could not exercise the API in a browser ({e:#}); the call and heap are wired to the first \
                     callable export, untried, and the timing caps are starting points"
                ),
            }
        }
        // Raw-export crates too: their tests run through wasm-bindgen-test.
        let suite = suite_in_browser(&cfg, &crate_dir, &profiles).unwrap_or_else(|e| {
            eprintln!("init: could not run the crate's #[wasm_bindgen_test] functions ({e:#}); no tests metric");
            None
        });
        Ok(Findings {
            builds,
            api,
            wiring,
            caps,
            suite,
        })
    })();
    let Findings {
        builds,
        api: (exports, imports, unrunnable),
        wiring,
        caps,
        suite,
    } = match result {
        Ok(r) => r,
        Err(e) => {
            // Leave nothing half-written behind.
            for f in written.borrow().iter() {
                let _ = std::fs::remove_file(f);
            }
            return Err(e);
        }
    };
    let sizes: BTreeMap<String, Measured> =
        builds.iter().map(|(k, b)| (k.clone(), b.sizes)).collect();
    let plan = Plan {
        krate: &krate,
        manifest: manifest_rel.clone(),
        profiles: &profiles,
        sizes: &sizes,
        exports: &exports,
        wiring: &wiring,
        imports: &imports,
        unrunnable,
        toolchain: o.toolchain.clone(),
        caps: &caps,
        webkit,
        suite: suite.as_ref(),
    };
    write(&budgets, &render_budgets(&plan))?;
    print_summary(&written.borrow(), &profiles, &sizes, &wiring, &exports);
    if let Some(su) = &suite {
        println!(
            "  the crate's tests (`{}`, built with {}): {} timed per pass, {} soaked for the heap, {} left out",
            su.target,
            su.profile,
            su.choice.timed.len(),
            su.choice.soaked.len(),
            su.choice.left_out.len()
        );
        if let Some(w) = &su.choice.warning {
            println!("  warning: {w}");
        }
    }
    println!("next: cargo xtask budget --budgets {}", budgets.display());
    Ok(0)
}

/// What init is looking at, on the terminal.
fn announce(krate: &Crate, crate_dir: &Path) {
    eprintln!(
        "init: {} {} at {} ({}{})",
        krate.name,
        krate.version,
        krate.manifest.display(),
        if krate.bindgen {
            "wasm-bindgen"
        } else {
            "raw wasm exports"
        },
        if krate.features.is_empty() {
            String::new()
        } else {
            format!("; features: {}", krate.features.join(", "))
        }
    );
    if !krate.cdylib {
        eprintln!("init: `{}` has no cdylib target: the gate builds it as one (`cargo rustc --crate-type cdylib`), without editing it", krate.name);
    }
    for f in [
        "rust-toolchain.toml",
        "rust-toolchain",
        ".cargo/config.toml",
        ".cargo/config",
    ] {
        if crate_dir.join(f).is_file() {
            eprintln!("init: the crate's {f} is used as it is (the gate builds with the crate's own toolchain and keeps its rustflags)");
        }
    }
}

/// Find each profile's features with `cargo check` (a feature set that
/// does not build for wasm32 falls back to the next, at the cost of a
/// check, not a build), then build each profile once. Profiles that end
/// with the same features are said to differ in their cargo profile only.
fn build_profiles(
    budgets: &Path,
    profiles: &mut [ProfilePlan],
    crate_name: &str,
    rewrite: &dyn Fn(&ProfilePlan) -> Result<()>,
) -> Result<(config::Config, BTreeMap<String, Shipped>)> {
    let load = || -> Result<config::Config> {
        let mut cfg = config::load(budgets).map_err(|e| anyhow!("{e}"))?;
        build::prepare_toolchain(&mut cfg)?;
        Ok(cfg)
    };
    let mut cfg = load()?;
    // Feature sets already taken: another profile with one of them needs
    // no check. A set with no fallback after it needs none either: its
    // build says the same, at no extra cost.
    let mut taken: Vec<Vec<String>> = Vec::new();
    for plan in profiles.iter_mut() {
        let name = plan.name;
        let mut tries = plan.fallbacks.clone().into_iter().peekable();
        loop {
            let profile = cfg
                .profile(name)
                .cloned()
                .ok_or_else(|| anyhow!("profile {name} not loaded"))?;
            if taken.contains(&plan.features) || tries.peek().is_none() {
                break;
            }
            let e = match build::check(&cfg, &profile) {
                Ok(()) => break,
                Err(e) => e,
            };
            let text = format!("{e:#}");
            let first = first_error(&text).unwrap_or("the build failed").to_string();
            let Some((features, why)) = tries.next() else {
                return Err(anyhow!("`{crate_name}` does not build for wasm32-unknown-unknown (profile {name}): {first}\n{text}"));
            };
            // Features can exclude each other, or need a native
            // backend: the next set, said out loud and in the file.
            eprintln!(
                "init: {name} with features [{}] does not check for wasm32 ({first}); trying [{}]",
                plan.features.join(", "),
                features.join(", ")
            );
            plan.why = format!(
                "{why}: [{}] did not build for wasm32 ({first})",
                plan.features.join(", ")
            );
            plan.description = format!(
                "{} ({why}; [{}] did not build for wasm32)",
                plan.description.split(" (").next().unwrap_or_default(),
                plan.features.join(", ")
            );
            plan.features = features;
            rewrite(plan)?;
            cfg = load()?;
        }
        taken.push(plan.features.clone());
    }
    for (a, b) in same_features(profiles) {
        eprintln!("init: {a} and {b} build the same features; they differ in their cargo profile and wasm-opt settings only");
        let p = profiles.iter_mut().find(|p| p.name == b).expect("named");
        p.description += &format!(" (the same features as {a}: it differs in its cargo profile and wasm-opt settings only)");
        rewrite(p)?;
    }
    let mut builds = BTreeMap::new();
    for plan in profiles.iter() {
        let profile = cfg
            .profile(plan.name)
            .cloned()
            .ok_or_else(|| anyhow!("profile {} not loaded", plan.name))?;
        let (wasm, glue) = subject::shipped(&cfg, &profile).map_err(|e| {
            let text = format!("{e:#}");
            let first = first_error(&text).unwrap_or("the build failed").to_string();
            anyhow!(
                "`{crate_name}` does not build for wasm32-unknown-unknown (profile {}): {first}\n{text}",
                plan.name
            )
        })?;
        let m = size::measure(&std::fs::read(&wasm)?, &wasm.display().to_string())?;
        let sizes = Measured {
            raw: m.raw_bytes,
            gzip: m.gzip_bytes,
        };
        builds.insert(plan.name.to_string(), Shipped { sizes, wasm, glue });
    }
    Ok((cfg, builds))
}

/// Pairs of profiles (earlier, later) that ended with the same features.
pub fn same_features(profiles: &[ProfilePlan]) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for (i, b) in profiles.iter().enumerate() {
        if let Some(a) = profiles[..i].iter().find(|a| a.features == b.features) {
            out.push((a.name, b.name));
        }
    }
    out
}

/// Samples of the short runs that set the timing caps.
const CAP_SAMPLES: u32 = 40;
/// The same in WebKit, which collects garbage on its own schedule: a short
/// run misses the collections a full run's p95 holds. On one crate, 400
/// samples read p95 1.68 ms where the quick budget run that followed read
/// 3.90 ms (40 samples read 1.30 ms), hence more samples and a wider factor.
const WEBKIT_CAP_SAMPLES: u32 = 400;
const WEBKIT_CAP_FACTOR: f64 = 5.0;
/// A timing cap is this many times the p95 init measured.
pub const CAP_FACTOR: f64 = 3.0;

/// The environment init measures in (the draft's desktop Chromium), its
/// browser prepared.
fn desktop(cfg: &config::Config) -> Result<(&'static str, crate::engines::Engines)> {
    use crate::measure::Measurer;
    let env = "desktop";
    let mut m = crate::engines::Engines::new(cfg, Default::default());
    let configured = cfg
        .environments
        .get(env)
        .ok_or_else(|| anyhow!("the draft has no [environment.{env}]"))?;
    m.prepare_environment(env, configured)?;
    Ok((env, m))
}

/// Call every export init can give literal arguments in desktop Chromium
/// (`exercise.rs` decides from what the probe found): the heap soaks all
/// that ran, the call metric times the slowest that changed the module's
/// memory. Then a short run of cold init and of the call on each profile
/// sets their caps. Rewrites `wiring`; returns the caps.
fn exercise_in_browser(
    cfg: &config::Config,
    builds: &BTreeMap<String, Shipped>,
    api: &Api,
    wiring: &mut Wiring,
) -> Result<Caps> {
    let (exports, imports, _) = api;
    let (env, mut m) = desktop(cfg)?;
    let targets: Vec<super::probe::Target> = builds
        .iter()
        .map(|(name, b)| super::probe::Target {
            profile: name,
            environment: env,
            wasm: b.wasm.clone(),
            glue: b.glue.clone(),
            imports,
            timeout: std::time::Duration::from_secs(cfg.protocol.scenario_timeout_s),
        })
        .collect();
    let first = targets.first().ok_or_else(|| anyhow!("no profile built"))?;
    wire_by_probe(&mut m, first, exports, wiring)?;
    let mut caps = Caps::new();
    for t in &targets {
        measure_caps(&mut m, t, wiring, &mut caps)?;
    }
    if let Some(configured) = cfg.environments.get(WEBKIT) {
        if let Err(e) = webkit_caps(&mut m, configured, &targets, wiring, &mut caps) {
            eprintln!(
                "init: could not measure cold init in WebKit ({e:#}); its cap is a starting point"
            );
        }
    }
    Ok(caps)
}

/// The environment init writes for WebKit.
const WEBKIT: &str = "webkit-desktop";

/// Cold init's caps in WebKit, as in Chromium (a short run per profile).
fn webkit_caps(
    m: &mut crate::engines::Engines,
    configured: &config::Environment,
    targets: &[super::probe::Target],
    wiring: &Wiring,
    caps: &mut Caps,
) -> Result<()> {
    use crate::measure::Measurer;
    m.prepare_environment(WEBKIT, configured)?;
    let cold: Vec<(&str, &str)> = wiring.cold.iter().map(|c| ("call", c.0.as_str())).collect();
    for t in targets {
        let t = super::probe::Target {
            profile: t.profile,
            environment: WEBKIT,
            wasm: t.wasm.clone(),
            glue: t.glue.clone(),
            imports: t.imports,
            timeout: t.timeout,
        };
        let params = super::probe::params("cold-init", "ms", &cold, t.imports)?;
        let (p95, n) = super::probe::p95_ms(m, &t, "cold-init", params, WEBKIT_CAP_SAMPLES)?;
        note_cap(
            caps,
            "INIT-webkit",
            ("desktop WebKit", WEBKIT_CAP_FACTOR),
            t.profile,
            p95,
            n,
            "ms",
        );
    }
    Ok(())
}

/// Probe every candidate call on one build and rewrite `wiring` from what
/// ran: the soak, the timed call, and the notes that say what was left out.
fn wire_by_probe(
    m: &mut dyn crate::measure::Measurer,
    t: &super::probe::Target,
    exports: &[Export],
    wiring: &mut Wiring,
) -> Result<()> {
    use crate::exercise::{self, Call, How};
    let c = exercise::candidates(exports);
    if c.calls.is_empty() {
        return Ok(());
    }
    let found = super::probe::candidates(m, t, &c)?;
    let x = exercise::choose(&c, &found);
    let kept: Vec<Call> = x.kept.iter().map(|k| k.0.clone()).collect();
    let (soak, dropped) = super::probe::soak(m, t, c.setup.as_ref(), exercise::soak(&c, &kept))?;
    wiring.notes.clear();
    for (call, why) in x.dropped.iter().chain(&dropped) {
        let why: String = why
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(140)
            .collect();
        wiring.notes.push(format!(
            "init left out {}: it threw ({why})",
            call.spelled()
        ));
    }
    wiring.notes.extend(x.warning.clone());
    let text = |c: &Call| api::CallText(c.toml(false));
    if let Some((call, f)) = &x.timed {
        wiring.notes.push(format!(
            "init timed every call it could make; {} took the longest of those that change the module's memory ({:.2} us a call)",
            call.spelled(),
            f.ms.unwrap_or_default() * 1000.0
        ));
        wiring.call = Some(match (&call.how, &call.on) {
            (How::Method, Some(class)) => (
                Some(text(&c.classes[class])),
                text(call),
                Some(api::CallText("{ method = \"free\" }".into())),
            ),
            _ => (c.setup.as_ref().map(text), text(call), None),
        });
    }
    let entries: Vec<api::CallText> = soak.iter().map(|e| api::CallText(e.toml(true))).collect();
    wiring.soak = (!entries.is_empty()).then(|| (c.setup.as_ref().map(text), entries));
    Ok(())
}

/// A short run of cold init and of the wired call on one build: their
/// p95s set the timing caps (`CAP_FACTOR` times, in two digits).
fn measure_caps(
    m: &mut dyn crate::measure::Measurer,
    t: &super::probe::Target,
    wiring: &Wiring,
    caps: &mut Caps,
) -> Result<()> {
    let cold: Vec<(&str, &str)> = wiring.cold.iter().map(|c| ("call", c.0.as_str())).collect();
    let params = super::probe::params("cold-init", "ms", &cold, t.imports)?;
    let (p95, n) = super::probe::p95_ms(m, t, "cold-init", params, CAP_SAMPLES)?;
    note_cap(
        caps,
        "INIT",
        ("desktop Chromium", CAP_FACTOR),
        t.profile,
        p95,
        n,
        "ms",
    );
    if let Some((setup, call, teardown)) = &wiring.call {
        let calls: Vec<(&str, &str)> = [
            ("setup", setup.as_ref()),
            ("call", Some(call)),
            ("teardown", teardown.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?.0.as_str())))
        .collect();
        let params = super::probe::params("call", "us", &calls, t.imports)?;
        let (p95, n) = super::probe::p95_ms(m, t, "call", params, CAP_SAMPLES)?;
        note_cap(
            caps,
            "CALL",
            ("desktop Chromium", CAP_FACTOR),
            t.profile,
            p95 * 1000.0,
            n,
            "us",
        );
    }
    Ok(())
}

/// Record one measured cap, and the words of where the metric's caps came from.
fn note_cap(
    caps: &mut Caps,
    id: &'static str,
    (engine, factor): (&str, f64),
    profile: &str,
    p95: f64,
    n: usize,
    unit: &str,
) {
    let e = caps.entry(id).or_insert_with(|| {
        (
            BTreeMap::new(),
            format!("{factor}x the p95 init measured in {engine} ({n} samples):"),
        )
    });
    e.0.insert(profile.to_string(), crate::exercise::cap_from(p95, factor));
    let sep = if e.0.len() > 1 { "," } else { "" };
    e.1 += &format!("{sep} {profile} {}", fmt_sig(p95, unit));
}

fn fmt_sig(v: f64, unit: &str) -> String {
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else if v >= 1.0 {
        2
    } else {
        3
    };
    format!("{v:.digits$} {unit}")
}

/// A crate's exports; for a raw module, its imported functions with a
/// provider each; and why the built-ins cannot run it, if they cannot.
pub type Api = (Vec<Export>, Vec<(String, String)>, Option<String>);

/// The exports of the first profile's build, and for a raw module its
/// imported functions (with a provider each) and why the built-ins cannot
/// run it, if they cannot (an import that is not a function).
fn read_api(wasm: &Path, glue: Option<&Path>) -> Result<Api> {
    if let Some(g) = glue {
        let dts = g.with_extension("d.ts");
        let text = std::fs::read_to_string(&dts).with_context(|| {
            format!("reading the API wasm-bindgen declared ({})", dts.display())
        })?;
        return Ok((api::dts_exports(&text), vec![], None));
    }
    let interface = wasmfile::interface(&std::fs::read(wasm)?, &wasm.display().to_string())?;
    let odd = interface
        .imports
        .iter()
        .find(|(_, k)| *k != "function")
        .map(|(n, k)| format!("it imports a {k} ({n})"));
    let imports = interface
        .imports
        .iter()
        .filter(|(_, k)| *k == "function")
        .map(|(n, _)| (n.clone(), provider_for(n).to_string()))
        .collect();
    Ok((api::raw_exports(&interface), imports, odd))
}

/// What init wrote and wired, for the terminal.
fn print_summary(
    written: &[PathBuf],
    profiles: &[ProfilePlan],
    sizes: &BTreeMap<String, Measured>,
    wiring: &Wiring,
    exports: &[Export],
) {
    println!("init: wrote");
    for f in written.iter().collect::<std::collections::BTreeSet<_>>() {
        println!("  {}", f.display());
    }
    for p in profiles {
        if let Some(m) = sizes.get(p.name) {
            println!(
                "  {}: {} ({:.1} KiB raw, {:.1} KiB gzip)",
                p.name,
                p.description,
                m.raw as f64 / 1024.0,
                m.gzip as f64 / 1024.0
            );
        }
    }
    match &wiring.cold {
        Some(c) => println!("  cold init calls {}", c.0),
        None => println!("  cold init: instantiate only (no init function or constructor found)"),
    }
    match &wiring.call {
        Some((s, c, _)) => println!(
            "  one call and heap: {}{}",
            c.0,
            s.as_ref()
                .map(|s| format!(" after the setup {}", s.0))
                .unwrap_or_default()
        ),
        None => println!(
            "  one call and heap: not wired (see the comment in budgets.toml); exports: {}",
            exports
                .iter()
                .map(Export::spelled)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(features: &[&str], default: bool, bindgen: bool) -> Crate {
        Crate {
            name: "demo".into(),
            version: "0.1.0".into(),
            manifest: "/c/Cargo.toml".into(),
            features: features.iter().map(|s| s.to_string()).collect(),
            has_default: default,
            bindgen,
            cdylib: true,
        }
    }

    #[test]
    fn profiles_take_diagnostic_features_only_when_the_crate_has_some() {
        let p = plan_profiles(&krate(&["serde", "tracing"], true, false));
        let got: Vec<(&str, Vec<String>)> =
            p.iter().map(|p| (p.name, p.features.clone())).collect();
        assert_eq!(
            got,
            [
                ("core-min", vec!["default".to_string()]),
                ("core-trace", vec!["default".into(), "tracing".into()]),
                (
                    "full-dev",
                    vec!["default".into(), "serde".into(), "tracing".into()]
                )
            ]
        );
        // When a set does not build, the next: diagnostics alone (features
        // that exclude each other), then the defaults.
        let fallbacks = |p: &ProfilePlan| {
            p.fallbacks
                .iter()
                .map(|(f, _)| f.join("+"))
                .collect::<Vec<_>>()
        };
        assert_eq!(fallbacks(&p[1]), ["tracing", "default"]);
        assert_eq!(fallbacks(&p[2]), ["default+tracing", "tracing", "default"]);
        let p = plan_profiles(&krate(&["serde"], false, false));
        assert_eq!(
            p.iter().map(|p| p.name).collect::<Vec<_>>(),
            ["core-min", "full-dev"]
        );
        // Each renders as a profile file the config loader accepts.
        let dir = std::env::temp_dir().join(format!("xtask-init-profiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for plan in &p {
            let f = dir.join(format!("{}.toml", plan.name));
            std::fs::write(&f, render_profile(plan)).unwrap();
            let loaded = config::load_profile(&f, plan.name, &["serde".to_string()]).unwrap();
            assert_eq!(loaded.features, plan.features);
            assert!(!loaded.cargo_settings.is_empty());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn metadata_picks_the_package_and_reads_features_bindgen_and_cdylib() {
        let v = serde_json::json!({"packages": [
            {"name": "a", "version": "1.0.0", "manifest_path": "/w/a/Cargo.toml", "features": {"default": ["x"], "x": []},
             "dependencies": [{"name": "wasm-bindgen", "kind": null}], "targets": [{"kind": ["cdylib", "rlib"]}]},
            {"name": "b", "version": "2.0.0", "manifest_path": "/w/b/Cargo.toml", "features": {}, "dependencies": [{"name": "wasm-bindgen", "kind": "dev"}], "targets": [{"kind": ["lib"]}]}
        ]});
        let a = crate_of(&v, Path::new("/w/a/Cargo.toml"), None).unwrap();
        assert_eq!(
            (
                a.name.as_str(),
                a.has_default,
                a.features.clone(),
                a.bindgen,
                a.cdylib
            ),
            ("a", true, vec!["x".to_string()], true, true)
        );
        let b = crate_of(&v, Path::new("/w/Cargo.toml"), Some("b")).unwrap();
        assert!(!b.bindgen && !b.cdylib);
        let e = crate_of(&v, Path::new("/w/Cargo.toml"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("workspace of 2 packages") && e.contains("--package (a, b)"),
            "{e}"
        );
    }

    #[test]
    fn budgets_carry_measured_size_caps_and_comment_out_what_init_could_not_wire() {
        let k = krate(&[], false, false);
        let profiles = plan_profiles(&k);
        let sizes: BTreeMap<String, Measured> = [
            (
                "core-min".to_string(),
                Measured {
                    raw: 10_240,
                    gzip: 4096,
                },
            ),
            (
                "full-dev".to_string(),
                Measured {
                    raw: 20_480,
                    gzip: 8192,
                },
            ),
        ]
        .into();
        let exports = api::raw_exports(&wasmfile::Interface {
            functions: vec![wasmfile::ExportedFn {
                name: "wide".into(),
                params: vec!["i64".into()],
            }],
            imports: vec![],
        });
        let wiring = wire(&exports);
        let imports = vec![
            (
                "env.now_ms".to_string(),
                provider_for("env.now_ms").to_string(),
            ),
            ("env.log".to_string(), provider_for("env.log").to_string()),
        ];
        let plan = Plan {
            krate: &k,
            manifest: "../demo/Cargo.toml".into(),
            profiles: &profiles,
            sizes: &sizes,
            exports: &exports,
            wiring: &wiring,
            imports: &imports,
            unrunnable: None,
            toolchain: None,
            caps: &Caps::new(),
            webkit: false,
            suite: None,
        };
        let text = render_budgets(&plan);
        assert!(
            text.contains("hard = { core-min = 11, full-dev = 22 }"),
            "{text}"
        );
        assert!(
            text.contains("hard = { core-min = 4.4, full-dev = 8.8 }"),
            "{text}"
        );
        assert!(
            text.contains("imports = { \"env.now_ms\" = \"now\", \"env.log\" = \"zero\" }"),
            "{text}"
        );
        assert!(
            text.contains("Exports found: wide(p0: i64)")
                && text.contains("# source = \"builtin:call\""),
            "{text}"
        );
        // What init writes is a budgets file the gate loads (the commented
        // metrics stay comments).
        let dir = std::env::temp_dir().join(format!("xtask-init-budgets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("profiles")).unwrap();
        std::fs::create_dir_all(dir.join("demo")).unwrap();
        std::fs::write(
            dir.join("demo/Cargo.toml"),
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        let gate = dir.join("gate");
        std::fs::create_dir_all(gate.join("profiles")).unwrap();
        for p in &profiles {
            std::fs::write(
                gate.join(format!("profiles/{}.toml", p.name)),
                render_profile(p),
            )
            .unwrap();
        }
        std::fs::write(gate.join("budgets.toml"), &text).unwrap();
        let cfg = config::load(&gate.join("budgets.toml")).unwrap();
        assert_eq!(
            cfg.metrics
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
            ["SIZE-RAW", "SIZE-GZIP", "INIT"]
        );
        assert!(
            text.contains("WebKit (JavaScriptCore, Safari's engine) was not found"),
            "{text}"
        );
        // The crate's own tests: a timed pass and a soak, on the profile
        // that built them, each with its list of tests.
        let found = |name: &str, ms: f64, passes: bool| crate::suite::TestFound {
            name: name.into(),
            ignored: false,
            passes,
            ms,
            error: (!passes).then(|| "RuntimeError: unreachable".into()),
        };
        let su = SuitePlan {
            target: "web".into(),
            profile: "core-min".into(),
            choice: crate::suite::choose(
                &[
                    found("a::heavy", 1.2, true),
                    found("a::light", 0.1, true),
                    found("b::broken", 0.0, false),
                ],
                0.005,
            ),
            cap: Some((4.5, "3x the p95 init measured".into())),
            skipped: vec![(
                "node".into(),
                "its tests are configured to run in Node.js, not in a page".into(),
            )],
        };
        let text = render_budgets(&Plan {
            suite: Some(&su),
            ..plan.clone()
        });
        assert!(
            text.contains(
                "# Left out: b::broken (fails in the browser: RuntimeError: unreachable)."
            ) && text.contains("# Test target `node` is not measured"),
            "{text}"
        );
        std::fs::write(gate.join("budgets.toml"), &text).unwrap();
        let cfg = config::load(&gate.join("budgets.toml")).unwrap();
        let tests: Vec<_> = cfg.metrics.iter().filter(|m| m.suite.is_some()).collect();
        assert_eq!(
            tests
                .iter()
                .map(|m| (
                    m.id.as_str(),
                    m.unit.as_str(),
                    m.caps.keys().cloned().collect::<Vec<_>>(),
                    m.params.as_ref().unwrap()["tests"]["only"].clone()
                ))
                .collect::<Vec<_>>(),
            [
                (
                    "TESTS",
                    "ms",
                    vec!["core-min".to_string()],
                    serde_json::json!(["a::heavy", "a::light"])
                ),
                (
                    "TESTS-HEAP",
                    "MiB",
                    vec!["core-min".to_string()],
                    serde_json::json!(["a::light", "a::heavy"])
                ),
            ]
        );
        assert_eq!(tests[0].caps["core-min"].hard, 4.5);
        assert_eq!(tests[0].statistic, crate::stats::Statistic::Median);
        // Where WebKit is installed, cold init is measured there too.
        let text = render_budgets(&Plan {
            webkit: true,
            suite: None,
            ..plan
        });
        std::fs::write(gate.join("budgets.toml"), &text).unwrap();
        let cfg = config::load(&gate.join("budgets.toml")).unwrap();
        assert_eq!(
            cfg.metrics
                .iter()
                .map(|m| (m.id.as_str(), m.environment.as_str()))
                .collect::<Vec<_>>(),
            [
                ("SIZE-RAW", "size"),
                ("SIZE-GZIP", "size"),
                ("INIT", "desktop"),
                ("INIT-webkit", "webkit-desktop")
            ]
        );
        assert_eq!(
            cfg.environments["webkit-desktop"].browser,
            config::BrowserKind::Webkit
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn profiles_that_end_with_the_same_features_are_named() {
        let mut p = plan_profiles(&krate(&["dev", "prod"], true, true));
        assert!(same_features(&p).is_empty());
        // Both fell back to [dev] (as on a crate whose features exclude
        // each other): full-dev differs from core-trace in settings only.
        p[1].features = vec!["dev".into()];
        p[2].features = vec!["dev".into()];
        assert_eq!(same_features(&p), [("core-trace", "full-dev")]);
    }

    #[test]
    fn caps_and_paths() {
        assert_eq!(size_cap_kib(1024, 10.0), 1.1);
        assert_eq!(
            relative_to(Path::new("/a/b/Cargo.toml"), Path::new("/a/gate")),
            "../b/Cargo.toml"
        );
        assert_eq!(
            first_error("warning: x\nerror[E0425]: cannot find\n  --> src"),
            Some("error[E0425]: cannot find")
        );
    }
}
