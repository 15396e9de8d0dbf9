//! Stage 1, build: compile the subject to `wasm32-unknown-unknown` for one
//! profile, with the subject's own toolchain (`toolchain`) and on top of its
//! own cargo configuration (`cargoconf`): the profile's rustflags and cargo
//! settings are *added* with `cargo --config`, and whatever the gate
//! overrides or drops is said out loud.

use crate::cargoconf::{self, ConfiguredFlags, FlagsKey};
use crate::config::{Config, Profile};
use crate::toolchain::Toolchain;
use crate::util::run_captured;
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::toolchain::TARGET;

/// Resolve the toolchain that builds the subject (its own, or `[subject]
/// toolchain`), make sure it has the wasm target, and say which it is.
pub fn prepare_toolchain(cfg: &mut Config) -> Result<()> {
    let dir = cfg
        .manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cfg.root.clone());
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let tc = crate::toolchain::resolve(&dir, cfg.toolchain_override.as_deref())?;
    tc.ensure_target()?;
    eprintln!(
        "budget: subject toolchain {} ({}): {}",
        if tc.name.is_empty() {
            "cargo on PATH"
        } else {
            &tc.name
        },
        tc.source,
        tc.rustc
    );
    cfg.toolchain = Some(tc);
    Ok(())
}

/// The result of building one profile.
#[derive(Debug, Clone)]
pub struct Built {
    /// The `.wasm` cargo produced.
    pub wasm: PathBuf,
    /// The exact command, for the summary's `commands`.
    pub command: String,
}

/// The target directory the gate's builds and caches live under:
/// `$CARGO_TARGET_DIR`, else `target/` next to the budgets file. The
/// end-to-end tests point every scratch project at the workspace's, so the
/// suite builds each subject configuration once.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// What the gate adds to the subject's cargo command for one profile: the
/// `--config` values, and the notes that say what they change.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CargoAdditions {
    pub config: Vec<String>,
    pub notes: Vec<String>,
}

fn toml_array(flags: &[String]) -> String {
    toml::Value::Array(
        flags
            .iter()
            .map(|f| toml::Value::String(f.clone()))
            .collect(),
    )
    .to_string()
}

/// What the checkout's directory is called inside every build: the same
/// source then builds the same bytes from any directory. Without it, a
/// build with debug info (full-dev) names its checkout in the DWARF it
/// compiles from, and LLVM's names for promoted local symbols, which the
/// shipped name section keeps, follow: the base built in its worktree and
/// the candidate in the checkout differed in those names alone (measured on
/// this repository's full-dev, 79,865 bytes each), so a pull request that
/// changed no code would not have identical inputs.
pub const REMAP_TO: &str = "/subject";

/// The `--config` values for one profile (pure). `configured` is the
/// subject's own rustflags, `profiles` its workspace manifest's
/// `[profile.*]` tables, `env_flags` rustflags the gate's environment
/// carried (never passed on), `manifest` the workspace manifest (for words).
/// `remap`: the directory of the checkout being built, which the build
/// names `/subject` (see [`REMAP_TO`]).
pub fn additions(
    profile: &Profile,
    configured: &ConfiguredFlags,
    profiles: &BTreeMap<String, toml::Table>,
    env_flags: Option<&str>,
    manifest: &Path,
    remap: Option<&Path>,
) -> Result<CargoAdditions> {
    let mut a = CargoAdditions::default();
    let p = &profile.cargo_profile;
    let file = profile.file.display();
    // Rustflags: joined with the subject's, under the key cargo reads.
    let mut rustflags = profile.rustflags.clone();
    if let Some(dir) = remap {
        rustflags.push(format!("--remap-path-prefix={}={REMAP_TO}", dir.display()));
    }
    if !rustflags.is_empty() {
        let key = match configured.key {
            FlagsKey::Target => format!("target.{}.rustflags", crate::toolchain::TARGET),
            FlagsKey::Build => "build.rustflags".to_string(),
        };
        a.config.push(format!("{key}={}", toml_array(&rustflags)));
    }
    if !configured.flags.is_empty() {
        let from: Vec<String> = configured
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        a.notes.push(format!(
            "rustflags: the subject's own `{}` (from {}){}",
            configured.flags.join(" "),
            from.join(", "),
            if profile.rustflags.is_empty() {
                String::new()
            } else {
                format!(", plus the profile's `{}`", profile.rustflags.join(" "))
            }
        ));
    }
    if let Some(e) = env_flags.filter(|e| !e.trim().is_empty()) {
        a.notes.push(format!(
            "rustflags `{e}` from the gate's environment (RUSTFLAGS / CARGO_ENCODED_RUSTFLAGS) are not passed to the subject: they would replace its configured flags. Put flags the subject needs in its .cargo/config.toml or in `rustflags` of {file}"
        ));
    }
    // Cargo profile settings from the profile file.
    let defined = cargoconf::BUILTIN_PROFILES.contains(&p.as_str()) || profiles.contains_key(p);
    let mut settings = profile.cargo_settings.clone();
    if !defined {
        if settings.is_empty() {
            bail!(
                "the cargo profile `{p}` ({file}, [cargo] profile) is not defined in {}. Either put its settings in {file} under [cargo.settings] (for example inherits = \"release\", opt-level = \"z\", lto = \"fat\", codegen-units = 1, panic = \"abort\"); the gate passes them with `cargo --config`, so the manifest needs no edit. Or add [profile.{p}] with inherits = \"release\" to {}",
                manifest.display(),
                manifest.display()
            );
        }
        if !settings.contains_key("inherits") {
            settings.insert("inherits".into(), toml::Value::String("release".into()));
            a.notes.push(format!("cargo profile `{p}` is not in {}: defined from {file} [cargo.settings], inheriting `release`", manifest.display()));
        }
    }
    for (k, v) in &settings {
        a.config.push(format!("profile.{p}.{k}={v}"));
    }
    // The named twin needs the name section: an inherited `strip = symbols`
    // (a team's release profile, say) is overridden.
    if !settings.contains_key("strip") {
        if let Some((from, v)) = cargoconf::inherited(profiles, &settings, p, "strip") {
            if cargoconf::strips_symbols(v) {
                a.config.push(format!("profile.{p}.strip=\"debuginfo\""));
                a.notes.push(format!(
                    "cargo profile `{from}` sets strip = {v}{}, which removes the names attribution needs: the gate builds `{p}` with strip = \"debuginfo\" (the shipped file is still stripped, by wasm-opt)",
                    if &from == p { String::new() } else { format!(" (inherited by `{p}`)") }
                ));
            }
        }
    }
    Ok(a)
}

/// The subject's workspace manifest and its `[profile.*]` tables.
fn workspace_profiles(tc: &Toolchain, manifest: &Path) -> (PathBuf, BTreeMap<String, toml::Table>) {
    let located = tc
        .cargo()
        .args([
            "locate-project",
            "--workspace",
            "--message-format",
            "plain",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let ws = located.unwrap_or_else(|| manifest.to_path_buf());
    let profiles = std::fs::read_to_string(&ws)
        .ok()
        .and_then(|s| s.parse::<toml::Table>().ok())
        .map(|t| cargoconf::manifest_profiles(&t))
        .unwrap_or_default();
    (ws, profiles)
}

/// The subject's configured rustflags for the wasm target.
fn subject_flags(tc: &Toolchain) -> ConfiguredFlags {
    let files: Vec<(PathBuf, toml::Table)> = cargoconf::discover(&tc.dir)
        .into_iter()
        .filter_map(|f| {
            std::fs::read_to_string(&f)
                .ok()
                .and_then(|s| s.parse::<toml::Table>().ok())
                .map(|t| (f, t))
        })
        .collect();
    let cfgs = tc
        .rustc()
        .args(["--print", "cfg", "--target", crate::toolchain::TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| cargoconf::parse_cfgs(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or_default();
    cargoconf::configured_flags(&files, crate::toolchain::TARGET, &cfgs)
}

/// The crate cargo names in `error: could not compile `NAME` (lib) ...`.
pub fn failed_dependency(stderr: &str) -> Option<String> {
    let rest = stderr
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("error: could not compile `"))?;
    Some(rest.split('`').next()?.to_string())
}

/// `cargo build` one profile of the subject. Each profile configuration
/// (toolchain, manifest, cargo profile and settings, features, flags, build
/// environment) gets its own cargo target directory, so switching profiles
/// never invalidates another's incremental state, a warm run is a true
/// no-op for cargo, and two gates sharing a target directory never
/// overwrite each other's `.wasm` between one's build and its read.
pub fn build(cfg: &Config, profile: &Profile) -> Result<Built> {
    cargo_run(cfg, profile, Goal::Build)?
        .ok_or_else(|| anyhow!("build of profile `{}` produced nothing", profile.name))
}

/// `cargo test --no-run` of one profile for wasm32: the test module of the
/// crate's `#[wasm_bindgen_test]` functions in test target `target`
/// (`lib` for the library's own unit tests), with the profile's features
/// and cargo profile, in the profile's target directory.
pub fn build_tests(cfg: &Config, profile: &Profile, target: &str) -> Result<Built> {
    cargo_run(cfg, profile, Goal::Tests(target))?
        .ok_or_else(|| anyhow!("the tests of profile `{}` built nothing", profile.name))
}

/// What one cargo run is for.
#[derive(Clone, Copy, PartialEq)]
enum Goal<'a> {
    /// Whether the features compile (`cargo check`, no code generation).
    Check,
    /// The library as the page loads it (`cargo build`, or `cargo rustc
    /// --crate-type cdylib`).
    Build,
    /// A test target's module (`cargo test --no-run`).
    Tests(&'a str),
}

/// The value cargo will use for profile setting `key` of `profile` (the
/// gate's `[cargo.settings]` first, then the workspace manifest's
/// `[profile.*]` through `inherits`); None: cargo's default.
pub fn effective_setting(cfg: &Config, profile: &Profile, key: &str) -> Option<toml::Value> {
    let tc = cfg.toolchain.as_ref()?;
    let (_, profiles) = workspace_profiles(tc, &cfg.manifest);
    cargoconf::inherited(
        &profiles,
        &profile.cargo_settings,
        &profile.cargo_profile,
        key,
    )
    .map(|(_, v)| v.clone())
}

/// `cargo check` one profile for wasm32 (no code generation): whether its
/// features build at all, for a fraction of a build's time. Same command
/// line, target directory and errors as [`build`].
pub fn check(cfg: &Config, profile: &Profile) -> Result<()> {
    cargo_run(cfg, profile, Goal::Check).map(|_| ())
}

/// `cargo build` (or `check`) of one profile: [`build`] and [`check`].
///
/// Long by design: the cargo command line assembled flag by flag, each with the reason it is there.
fn cargo_run(cfg: &Config, profile: &Profile, goal: Goal) -> Result<Option<Built>> {
    let check_only = goal == Goal::Check;
    let tc = cfg.toolchain.as_ref().ok_or_else(|| {
        anyhow!("the subject's toolchain was not resolved before the build (a bug in the gate)")
    })?;
    let (ws, profiles) = workspace_profiles(tc, &cfg.manifest);
    let env_flags = std::env::var("CARGO_ENCODED_RUSTFLAGS")
        .ok()
        .map(|f| f.replace('\x1f', " "))
        .or_else(|| std::env::var("RUSTFLAGS").ok());
    let configured = subject_flags(tc);
    let checkout = ws.parent().filter(|d| d.is_absolute());
    let add = additions(
        profile,
        &configured,
        &profiles,
        env_flags.as_deref(),
        &ws,
        checkout,
    )?;
    for n in add.notes.iter().filter(|_| !check_only) {
        eprintln!("budget: [{}] {n}", profile.name);
    }
    let configuration = format!(
        "{}\n{}\n{}\n{}\n{:?}\n{:?}\n{:?}\n{:?}",
        tc.name,
        tc.rustc,
        cfg.manifest.display(),
        profile.cargo_profile,
        profile.features,
        add.config,
        configured.flags,
        profile.build_env
    );
    let key = crate::util::content_hash(&[configuration.as_bytes()]);
    // A check asks whether a feature set compiles, which does not depend on
    // the profile's optimization settings: every check shares one target
    // directory and the dev profile, so the dependencies are checked once
    // for every profile and feature set init tries.
    let cargo_profile = if check_only {
        "dev"
    } else {
        profile.cargo_profile.as_str()
    };
    let tdir = target_dir(&cfg.root)
        .join("budget")
        .join("cargo")
        .join(if check_only {
            "check".to_string()
        } else {
            format!("{}-{}", profile.name, &key[..key.len().min(12)])
        });
    // `cargo build`, or for a library without a cdylib target (most crates
    // published to crates.io) `cargo rustc --crate-type cdylib`: the same
    // build, linked as the module a page loads, with no edit to the crate.
    let cargo = |sub: &str| {
        let mut cmd = tc.cargo();
        for c in &add.config {
            cmd.arg("--config").arg(c);
        }
        cmd.arg(sub)
            .arg("--manifest-path")
            .arg(&cfg.manifest)
            .args(["--package", &cfg.package]);
        match goal {
            Goal::Tests("lib") => cmd.arg("--lib"),
            Goal::Tests(t) => cmd.args(["--test", t]),
            Goal::Check | Goal::Build => cmd.arg("--lib"),
        };
        if let Goal::Tests(_) = goal {
            // The test module's path is in cargo's messages only.
            cmd.args(["--no-run", "--message-format=json-render-diagnostics"]);
        }
        cmd.args(["--target", TARGET])
            .arg("--profile")
            .arg(cargo_profile)
            .arg("--target-dir")
            .arg(&tdir)
            .arg("--no-default-features");
        if !profile.features.is_empty() {
            cmd.arg("--features").arg(profile.features.join(","));
        }
        if sub == "rustc" {
            cmd.args(["--crate-type", "cdylib"]);
        }
        // The gate's own rustflags (from the xtask's environment) would replace
        // the subject's configured ones; they are dropped (and said, above).
        cmd.env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        for (k, v) in &profile.build_env {
            cmd.env(k, v);
        }
        let selects = match goal {
            Goal::Tests("lib") => "--lib --no-run".to_string(),
            Goal::Tests(t) => format!("--test {t} --no-run"),
            _ => "--lib".to_string(),
        };
        let words = format!(
            "{}{} {sub} --manifest-path {} --package {} {selects} --target {TARGET} --profile {} --no-default-features{}{}",
            tc.cargo_words(),
            add.config.iter().map(|c| format!(" --config '{c}'")).collect::<String>(),
            cfg.manifest.strip_prefix(&cfg.root).unwrap_or(&cfg.manifest).display(),
            cfg.package,
            cargo_profile,
            if profile.features.is_empty() { String::new() } else { format!(" --features {}", profile.features.join(",")) },
            if sub == "rustc" { " --crate-type cdylib" } else { "" },
        ) + &profile.build_env.iter().map(|(k, v)| format!(" ({k}={v})")).collect::<String>();
        (cmd, words)
    };
    let run = |sub: &str| -> Result<(String, String)> {
        let (mut cmd, command) = cargo(sub);
        let out = run_captured(&mut cmd).with_context(|| format!("running {command}"))?;
        if !out.status.success() {
            let tail: Vec<&str> = out
                .stderr
                .lines()
                .rev()
                .take(25)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let hint = if out.stderr.contains(&format!(
                "profile `{}` is not defined",
                profile.cargo_profile
            )) {
                format!(
                    "\nhint: put the cargo profile's settings in {} under [cargo.settings] (with inherits = \"release\"), or add [profile.{}] to {}",
                    profile.file.display(),
                    profile.cargo_profile,
                    ws.display()
                )
            } else {
                String::new()
            };
            // The compiler's first error leads: with a long dependency
            // tree, the tail alone may not show which crate failed.
            let first = out
                .stderr
                .lines()
                .find(|l| l.starts_with("error"))
                .map(|l| format!("first error: {l}\n"))
                .unwrap_or_default();
            let chain = failed_dependency(&out.stderr)
                .filter(|k| k.replace('-', "_") != cfg.package.replace('-', "_"))
                .and_then(|k| {
                    crate::closure::chain_to(tc, &cfg.manifest, &cfg.package, &profile.features, &k)
                        .map(|c| format!("`{k}` is a dependency of the wasm build: {c}\n"))
                })
                .unwrap_or_default();
            return Err(anyhow!(format!(
                "build of profile `{}` failed ({command}):\n{first}{chain}{}{hint}",
                profile.name,
                tail.join("\n")
            )));
        }
        Ok((command, out.stdout))
    };
    // Cargo's output directory for a custom profile is named after it, except
    // `dev` -> debug and `release` -> release.
    let dir = match profile.cargo_profile.as_str() {
        "dev" | "test" => "debug",
        "release" | "bench" => "release",
        p => p,
    };
    let wasm = tdir
        .join(TARGET)
        .join(dir)
        .join(format!("{}.wasm", cfg.package.replace('-', "_")));
    match goal {
        Goal::Check => {
            run("check")?;
            return Ok(None);
        }
        Goal::Tests(target) => {
            let (command, stdout) = run("test")?;
            let wasm = test_executable(&stdout, target).ok_or_else(|| {
                anyhow!(
                    "`{command}` built no test module for target `{target}` (a test target of {}: `lib`, or a file under tests/)",
                    cfg.package
                )
            })?;
            return Ok(Some(Built { wasm, command }));
        }
        Goal::Build => {}
    }
    let cdylib = declares_cdylib(&cfg.manifest);
    if !cdylib {
        eprintln!("budget: [{}] {} has no cdylib target: building it as one with `cargo rustc --crate-type cdylib` (the crate is not edited)", profile.name, cfg.package);
    }
    let (command, _) = run(if cdylib { "build" } else { "rustc" })?;
    if !wasm.is_file() {
        return Err(anyhow!(format!(
            "build of profile `{}` produced no {}",
            profile.name,
            wasm.display()
        )));
    }
    Ok(Some(Built { wasm, command }))
}

/// The test module cargo's JSON messages name for test target `target`
/// (`lib`: the library's unit tests): the `executable` of its
/// compiler-artifact built as a test.
pub fn test_executable(messages: &str, target: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["profile"]["test"] == true)
        .find(|m| {
            let kinds = m["target"]["kind"].as_array().cloned().unwrap_or_default();
            let is_lib = kinds
                .iter()
                .any(|k| k.as_str().is_some_and(|k| k.ends_with("lib")));
            match target {
                "lib" => is_lib,
                t => !is_lib && m["target"]["name"] == t,
            }
        })
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
}

/// Whether the manifest's `[lib]` is a cdylib (`crate-type`, or the old
/// `crate_type`). Decided from the manifest, not from a `.wasm` being
/// there, which an earlier build may have left.
pub fn declares_cdylib(manifest: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return false;
    };
    let Ok(v) = text.parse::<toml::Table>() else {
        return false;
    };
    let lib = v.get("lib");
    ["crate-type", "crate_type"]
        .iter()
        .filter_map(|k| lib.and_then(|l| l.get(*k)).and_then(|t| t.as_array()))
        .any(|a| a.iter().any(|t| t.as_str() == Some("cdylib")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_module_is_found_in_cargos_messages() {
        let msgs = [
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"url"},"profile":{"test":false},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"url"},"profile":{"test":true},"executable":"/t/deps/url-1.wasm"}"#,
            r#"{"reason":"compiler-artifact","target":{"kind":["test"],"name":"unit"},"profile":{"test":true},"executable":"/t/deps/unit-2.wasm"}"#,
            r#"{"reason":"build-finished","success":true}"#,
            "not json",
        ]
        .join("\n");
        let found = |t| test_executable(&msgs, t).map(|p| p.display().to_string());
        assert_eq!(found("unit").as_deref(), Some("/t/deps/unit-2.wasm"));
        assert_eq!(found("lib").as_deref(), Some("/t/deps/url-1.wasm"));
        assert_eq!(found("wpt"), None);
    }

    fn profile(cargo_profile: &str, rustflags: &[&str], settings: &str) -> Profile {
        let settings: toml::Table = settings.parse().unwrap();
        Profile {
            name: "core-min".into(),
            file: PathBuf::from("profiles/core-min.toml"),
            description: String::new(),
            features: vec![],
            cargo_profile: cargo_profile.into(),
            rustflags: rustflags.iter().map(|s| s.to_string()).collect(),
            cargo_settings: settings.into_iter().collect(),
            wasm_opt: toml::from_str("enabled = true\nlevel = \"z\"\n").unwrap(),
            build_env: vec![],
        }
    }

    fn profiles(manifest: &str) -> BTreeMap<String, toml::Table> {
        cargoconf::manifest_profiles(&manifest.parse().unwrap())
    }

    fn flags(key: FlagsKey, f: &[&str]) -> ConfiguredFlags {
        ConfiguredFlags {
            key,
            flags: f.iter().map(|s| s.to_string()).collect(),
            files: vec![PathBuf::from("/s/.cargo/config.toml")],
        }
    }

    const WS: &str = "/s/Cargo.toml";

    #[test]
    fn a_cdylib_is_read_from_the_manifest() {
        let dir = std::env::temp_dir().join(format!("xtask-cdylib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = dir.join("Cargo.toml");
        for (text, want) in [
            ("[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n", true),
            ("[lib]\ncrate_type = [\"cdylib\"]\n", true),
            ("[lib]\nname = \"x\"\n", false),
            ("[package]\nname = \"x\"\n", false),
        ] {
            std::fs::write(&m, text).unwrap();
            assert_eq!(declares_cdylib(&m), want, "{text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn profile_flags_join_the_subjects_under_its_key() {
        let p = profile("release", &["-C", "target-cpu=mvp"], "");
        let a = additions(
            &p,
            &flags(FlagsKey::Build, &["--cfg", "team"]),
            &profiles(""),
            None,
            Path::new(WS),
            None,
        )
        .unwrap();
        assert_eq!(a.config, [r#"build.rustflags=["-C", "target-cpu=mvp"]"#]);
        assert!(a.notes[0].contains("the subject's own `--cfg team` (from /s/.cargo/config.toml), plus the profile's `-C target-cpu=mvp`"), "{:?}", a.notes);
        let a = additions(
            &p,
            &flags(FlagsKey::Target, &["--cfg", "team"]),
            &profiles(""),
            None,
            Path::new(WS),
            None,
        )
        .unwrap();
        assert_eq!(
            a.config,
            [r#"target.wasm32-unknown-unknown.rustflags=["-C", "target-cpu=mvp"]"#]
        );
        // Flags from the gate's environment are dropped, in words.
        let a = additions(
            &p,
            &flags(FlagsKey::Build, &[]),
            &profiles(""),
            Some("-C lto"),
            Path::new(WS),
            None,
        )
        .unwrap();
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("`-C lto` from the gate's environment")
                    && n.contains("not passed")),
            "{:?}",
            a.notes
        );
    }

    /// The checkout's directory is renamed in every build, after the
    /// profile's own flags, so two checkouts of one commit build one module.
    #[test]
    fn the_checkout_is_remapped_so_any_directory_builds_the_same_bytes() {
        let none = flags(FlagsKey::Build, &[]);
        let a = additions(
            &profile("release", &["-C", "target-cpu=mvp"], ""),
            &none,
            &profiles(""),
            None,
            Path::new(WS),
            Some(Path::new("/work/checkout")),
        )
        .unwrap();
        assert_eq!(
            a.config,
            [
                r#"build.rustflags=["-C", "target-cpu=mvp", "--remap-path-prefix=/work/checkout=/subject"]"#
            ]
        );
        let a = additions(
            &profile("release", &[], ""),
            &none,
            &profiles(""),
            None,
            Path::new(WS),
            Some(Path::new("/tmp/base-worktree")),
        )
        .unwrap();
        assert_eq!(
            a.config,
            [r#"build.rustflags=["--remap-path-prefix=/tmp/base-worktree=/subject"]"#]
        );
    }

    #[test]
    fn an_undefined_cargo_profile_comes_from_the_profile_file_or_says_how() {
        let none = flags(FlagsKey::Build, &[]);
        let err = additions(
            &profile("wasm-min", &[], ""),
            &none,
            &profiles(""),
            None,
            Path::new(WS),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`wasm-min`")
                && err.contains("[cargo.settings]")
                && err.contains("[profile.wasm-min]")
                && err.contains(WS),
            "{err}"
        );
        let a = additions(
            &profile("wasm-min", &[], "opt-level = \"z\"\nlto = \"fat\"\n"),
            &none,
            &profiles(""),
            None,
            Path::new(WS),
            None,
        )
        .unwrap();
        assert_eq!(
            a.config,
            [
                r#"profile.wasm-min.inherits="release""#,
                r#"profile.wasm-min.lto="fat""#,
                r#"profile.wasm-min.opt-level="z""#
            ]
        );
        // Naming a profile the manifest defines still works, with no settings.
        let a = additions(
            &profile("wasm-min", &[], ""),
            &none,
            &profiles("[profile.wasm-min]\ninherits = \"release\"\n"),
            None,
            Path::new(WS),
            None,
        )
        .unwrap();
        assert!(a.config.is_empty(), "{:?}", a.config);
    }

    #[test]
    fn an_inherited_strip_of_symbols_is_overridden_in_words() {
        let none = flags(FlagsKey::Build, &[]);
        let m = profiles("[profile.release]\nstrip = \"symbols\"\n");
        let a = additions(
            &profile("wasm-min", &[], "inherits = \"release\"\n"),
            &none,
            &m,
            None,
            Path::new(WS),
            None,
        )
        .unwrap();
        assert!(
            a.config
                .contains(&r#"profile.wasm-min.strip="debuginfo""#.to_string()),
            "{:?}",
            a.config
        );
        assert!(a.notes.iter().any(|n| n.contains("`release` sets strip = \"symbols\" (inherited by `wasm-min`)")), "{:?}", a.notes);
        // The release profile itself, named directly.
        let a = additions(
            &profile("release", &[], ""),
            &none,
            &m,
            None,
            Path::new(WS),
            None,
        )
        .unwrap();
        assert_eq!(a.config, [r#"profile.release.strip="debuginfo""#]);
        // A profile that keeps symbols gets no override.
        let a = additions(
            &profile("release", &[], ""),
            &none,
            &profiles("[profile.release]\nstrip = \"debuginfo\"\n"),
            None,
            Path::new(WS),
            None,
        )
        .unwrap();
        assert!(a.config.is_empty() && a.notes.is_empty());
    }
}
