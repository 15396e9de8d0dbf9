//! Stage 2, optimize: run binaryen (the `wasm-opt` crate, as a library) with
//! the profile's settings and the module's real feature set.
//!
//! Results are cached under `target/budget/cache/`, keyed on the input bytes,
//! the settings, the feature set and the binaryen version, so a warm run with
//! nothing changed does not re-optimize.

use crate::util::{content_hash, write_atomic};
use crate::wasmfile;
use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};
use strum::IntoEnumIterator;
use wasm_opt::{Feature, OptimizationOptions, Pass};

/// The wasm-opt settings of one profile (`[wasm_opt]` in its file).
#[derive(Debug, serde::Deserialize, Clone, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WasmOptPosture {
    /// Run wasm-opt at all.
    pub enabled: bool,
    /// Optimization level: 0, 1, 2, 3, 4, s or z.
    #[serde(default = "default_level")]
    pub level: String,
    /// Strip the name section and other debug info.
    #[serde(default)]
    pub strip_debug: bool,
    /// Strip DWARF sections only.
    #[serde(default)]
    pub strip_dwarf: bool,
    /// Strip the producers section.
    #[serde(default)]
    pub strip_producers: bool,
    /// Extra binaryen passes by name, run after the level's default passes.
    #[serde(default)]
    pub passes: Vec<String>,
    /// Run the passes again while the module keeps shrinking (`--converge`).
    /// Left out of the settings' JSON when off, so the optimizer cache of
    /// every profile without it keeps its keys.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub converge: bool,
}

fn default_level() -> String {
    "0".into()
}

/// The optimization levels `level` accepts.
pub const LEVELS: &[&str] = &["0", "1", "2", "3", "4", "s", "z"];

/// Binaryen's version as the linked `wasm-opt` crate carries it (crate
/// 0.116.x wraps binaryen version_116). Read from the crate's own metadata at
/// build time of the xtask, so the cache key changes when binaryen does.
pub fn binaryen_version() -> &'static str {
    env!("XTASK_BINARYEN_VERSION")
}

/// A binaryen pass by its command-line name.
pub fn pass_by_name(name: &str) -> Option<Pass> {
    Pass::iter().find(|p| p.name() == name)
}

/// What `optimize` produced.
#[derive(Debug, Clone)]
pub struct Optimized {
    /// The shipped artifact.
    pub wasm: PathBuf,
    /// The attribution twin: same passes, names kept (only differs from
    /// `wasm` when the profile strips names).
    pub named: PathBuf,
    /// Binaryen feature names enabled.
    pub features: Vec<String>,
    /// True when both outputs came from the cache.
    pub cached: bool,
    /// A command line equivalent to what ran, for the summary.
    pub command: String,
}

fn options(p: &WasmOptPosture, features: &[&str], keep_names: bool) -> Result<OptimizationOptions> {
    let mut o = match p.level.as_str() {
        "0" => OptimizationOptions::new_opt_level_0(),
        "1" => OptimizationOptions::new_opt_level_1(),
        "2" => OptimizationOptions::new_opt_level_2(),
        "3" => OptimizationOptions::new_opt_level_3(),
        "4" => OptimizationOptions::new_opt_level_4(),
        "s" => OptimizationOptions::new_optimize_for_size(),
        "z" => OptimizationOptions::new_optimize_for_size_aggressively(),
        l => return Err(anyhow!("unknown wasm-opt level {l}")),
    };
    o.mvp_features_only();
    for f in features {
        let feat: Feature = f
            .parse()
            .map_err(|_| anyhow!("binaryen does not know feature {f}"))?;
        o.enable_feature(feat);
    }
    // Names survive only when debug info is on; the twin keeps them, the
    // shipped file keeps them unless the profile strips debug info.
    o.debug_info(keep_names || !p.strip_debug);
    if !keep_names {
        if p.strip_debug {
            o.add_pass(Pass::StripDebug);
        }
        if p.strip_producers {
            o.add_pass(Pass::StripProducers);
        }
    }
    if p.strip_dwarf {
        o.add_pass(Pass::StripDwarf);
    }
    for name in &p.passes {
        o.add_pass(pass_by_name(name).ok_or_else(|| anyhow!("unknown binaryen pass {name}"))?);
    }
    if p.converge {
        o.converge = true;
    }
    Ok(o)
}

/// A wasm-opt command line equivalent to the library call.
fn command_line(p: &WasmOptPosture, features: &[&str]) -> String {
    let mut c = format!("wasm-opt -O{} --mvp-features", p.level);
    for f in features {
        c.push_str(&format!(" --enable-{f}"));
    }
    if !p.strip_debug {
        c.push_str(" -g");
    }
    if p.strip_debug {
        c.push_str(" --strip-debug");
    }
    if p.strip_producers {
        c.push_str(" --strip-producers");
    }
    if p.converge {
        c.push_str(" --converge");
    }
    if p.strip_dwarf {
        c.push_str(" --strip-dwarf");
    }
    for pass in &p.passes {
        c.push_str(&format!(" --{pass}"));
    }
    c
}

/// Optimize `input` for a profile into `out_dir/{shipped,named}.wasm`.
pub fn optimize(
    input: &Path,
    posture: &WasmOptPosture,
    out_dir: &Path,
    cache_dir: &Path,
) -> Result<Optimized> {
    let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let what = input.display().to_string();
    let feats = wasmfile::features(&bytes, &what)?;
    let feats: Vec<&str> = feats.into_iter().collect();
    let shipped = out_dir.join("shipped.wasm");
    let named = out_dir.join("named.wasm");
    std::fs::create_dir_all(out_dir)?;

    if !posture.enabled {
        write_atomic(&shipped, &bytes)?;
        write_atomic(&named, &bytes)?;
        return Ok(Optimized {
            wasm: shipped,
            named,
            features: feats.iter().map(|s| s.to_string()).collect(),
            cached: false,
            command: "(wasm-opt disabled by profile)".into(),
        });
    }

    let settings = serde_json::to_vec(posture)?;
    let key = content_hash(&[
        &bytes,
        &settings,
        feats.join(",").as_bytes(),
        binaryen_version().as_bytes(),
    ]);
    let mut all_cached = true;
    for (out, keep_names, tag) in [(&shipped, false, "shipped"), (&named, true, "named")] {
        let cached = cache_dir.join(format!("{key}.{tag}.wasm"));
        if !cached.is_file() {
            all_cached = false;
            std::fs::create_dir_all(cache_dir)?;
            let tmp = cache_dir.join(format!(".{key}.{tag}.{}.tmp.wasm", std::process::id()));
            options(posture, &feats, keep_names)?
                .run(input, &tmp)
                .map_err(|e| {
                    let mut msg = format!("wasm-opt failed on {what}: {e}");
                    let mut src = std::error::Error::source(&e);
                    while let Some(s) = src {
                        msg.push_str(&format!(": {s}"));
                        src = s.source();
                    }
                    anyhow!("{msg} (features enabled: {})", feats.join(", "))
                })?;
            std::fs::rename(&tmp, &cached)?;
        }
        let data = std::fs::read(&cached)?;
        // Copy only when the content differs, so the file's mtime (and any
        // watcher's view) stays put on a warm run.
        if std::fs::read(out).ok().as_deref() != Some(&data[..]) {
            write_atomic(out, &data)?;
        }
    }
    Ok(Optimized {
        wasm: shipped,
        named,
        features: feats.iter().map(|s| s.to_string()).collect(),
        cached: all_cached,
        command: command_line(posture, &feats),
    })
}
