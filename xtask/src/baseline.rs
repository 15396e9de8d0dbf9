//! The blessed baseline: `reports/baseline.json` (size values compared
//! exactly) and the artifacts under `reports/baseline/` that later runs
//! measure live as the base of their timing comparisons and diff their
//! attribution against. Written atomically by `--bless`.

use crate::artifacts::{Base, BaseProfile, ProfileArtifacts, Runnable};
use crate::gate::BaselinePoint;
use crate::ledger;
use crate::size;
use crate::summary::Summary;
use crate::util::write_atomic;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `reports/baseline.json`: blessed values per key, plus the artifacts under
/// `reports/baseline/` that later runs measure live as their base.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    pub commit: String,
    pub blessed_unix_s: u64,
    pub points: BTreeMap<String, BaselinePoint>,
    /// profile -> shipped artifact path relative to reports/ (the named
    /// twin sits beside it as `<profile>.named.wasm`).
    pub artifacts: BTreeMap<String, String>,
    /// profile -> wasm-bindgen glue relative to reports/.
    #[serde(default)]
    pub glue: BTreeMap<String, String>,
    /// profile -> reference key -> shipped reference build.
    #[serde(default)]
    pub references: BTreeMap<String, BTreeMap<String, String>>,
    /// profile -> the normal dependency closure blessed with it.
    #[serde(default)]
    pub dependencies: BTreeMap<String, Vec<crate::closure::Pkg>>,
}

impl Baseline {
    /// The blessed artifacts as the base of a live comparison.
    pub fn as_base(&self, reports: &Path) -> Base {
        let mut profiles = BTreeMap::new();
        for (profile, rel) in &self.artifacts {
            let shipped = reports.join(rel);
            if !shipped.is_file() {
                continue;
            }
            let named = PathBuf::from(
                shipped
                    .display()
                    .to_string()
                    .replace(".shipped.wasm", ".named.wasm"),
            );
            let sizes = std::fs::read(&shipped)
                .ok()
                .and_then(|b| size::measure(&b, &shipped.display().to_string()).ok());
            let references = self
                .references
                .get(profile)
                .map(|m| {
                    m.iter()
                        .filter(|(_, r)| reports.join(r).is_file())
                        .map(|(k, r)| {
                            (
                                k.clone(),
                                Runnable {
                                    wasm: reports.join(r),
                                    glue: None,
                                },
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            profiles.insert(
                profile.clone(),
                BaseProfile {
                    main: Runnable {
                        wasm: shipped,
                        glue: self.glue.get(profile).map(|g| reports.join(g)),
                    },
                    named: named.is_file().then_some(named),
                    sizes,
                    references,
                    closure: self.dependencies.get(profile).cloned(),
                },
            );
        }
        Base {
            origin: format!(
                "the blessed baseline ({})",
                crate::util::short(&self.commit)
            ),
            commit: self.commit.clone(),
            profiles,
        }
    }
}

/// The baseline under `reports`, if one was blessed.
pub fn load(reports: &Path) -> Result<Option<Baseline>> {
    let p = reports.join("baseline.json");
    match std::fs::read_to_string(&p) {
        Ok(t) => {
            let b: Baseline = serde_json::from_str(&t).with_context(|| {
                format!("baseline {} is corrupt; restore it or re-bless with `cargo xtask budget --bless`", p.display())
            })?;
            if b.schema_version != 1 {
                bail!("baseline {} has schema {}; this gate reads 1. Re-bless with `cargo xtask budget --bless`", p.display(), b.schema_version);
            }
            Ok(Some(b))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// Write the baseline from this run: values per key and the artifacts a
/// later run measures live (shipped, named twin, glue, reference builds).
/// Updates keys this run measured and keeps the others.
pub fn bless(summary: &Summary, arts: &[ProfileArtifacts], reports: &Path) -> Result<()> {
    if summary.quick {
        bail!("--quick runs never bless a baseline");
    }
    let mut b = load(reports)?.unwrap_or(Baseline {
        schema_version: 1,
        commit: String::new(),
        blessed_unix_s: 0,
        points: BTreeMap::new(),
        artifacts: BTreeMap::new(),
        glue: BTreeMap::new(),
        references: BTreeMap::new(),
        dependencies: BTreeMap::new(),
    });
    b.commit = summary.commit.clone();
    b.blessed_unix_s = crate::util::now_s();
    for r in &summary.records {
        if let Some(v) = r.value {
            b.points.insert(
                ledger::key(&r.metric_id, &r.profile, &r.environment),
                BaselinePoint {
                    value: v,
                    per_seed: r.per_seed.iter().map(|s| s.value).collect(),
                },
            );
        }
    }
    let copy = |src: &Path, rel: String| -> Result<String> {
        write_atomic(
            &reports.join(&rel),
            &std::fs::read(src).with_context(|| format!("reading {}", src.display()))?,
        )?;
        Ok(rel)
    };
    for a in arts {
        let p = &a.info.profile;
        let shipped = copy(&a.shipped, format!("baseline/{p}.shipped.wasm"))?;
        copy(&a.named, format!("baseline/{p}.named.wasm"))?;
        b.artifacts.insert(p.clone(), shipped);
        if let Some(g) = &a.glue {
            b.glue
                .insert(p.clone(), copy(g, format!("baseline/{p}.glue.js"))?);
        }
        let mut refs = BTreeMap::new();
        for (k, r) in &a.references {
            refs.insert(
                k.clone(),
                copy(&r.wasm, format!("baseline/{p}.{k}.shipped.wasm"))?,
            );
        }
        b.references.insert(p.clone(), refs);
        if let Some(c) = &a.info.dependencies {
            b.dependencies.insert(p.clone(), c.normal.clone());
        }
    }
    write_atomic(
        &reports.join("baseline.json"),
        serde_json::to_string_pretty(&b)?.as_bytes(),
    )?;
    eprintln!(
        "budget: blessed {} as the baseline ({} figures)",
        reports.join("baseline.json").display(),
        b.points.len()
    );
    Ok(())
}
