//! What the size half hands the later stages: the artifacts of each profile,
//! and the base a change is measured against. A low module: measure, report
//! and the commands read it; it reads none of them.

use crate::size::Sizes;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A module the browser can run: the wasm, plus its wasm-bindgen glue.
#[derive(Debug, Clone, PartialEq)]
pub struct Runnable {
    pub wasm: PathBuf,
    pub glue: Option<PathBuf>,
}

/// Everything the size half produced for one profile.
pub struct ProfileArtifacts {
    pub info: crate::summary::ArtifactInfo,
    pub shipped: PathBuf,
    pub named: PathBuf,
    /// The wasm-bindgen JS glue, for wasm-bindgen subjects.
    pub glue: Option<PathBuf>,
    pub attribution: Option<crate::attribute::Attribution>,
    /// Reference builds of relative metrics, by [`reference_key`]: the same
    /// profile without some features, optimized alike.
    pub references: BTreeMap<String, Runnable>,
}

impl ProfileArtifacts {
    pub fn runnable(&self) -> Runnable {
        Runnable {
            wasm: self.shipped.clone(),
            glue: self.glue.clone(),
        }
    }
}

/// The name of a test-module build (`builtin:tests`): `tests-web`.
pub fn suite_key(target: &str) -> String {
    format!("tests-{target}")
}

/// The name of a reference build: `without-trace`, `without-a+b`.
pub fn reference_key(without: &[String]) -> String {
    format!("without-{}", without.join("+"))
}

/// The base of a comparison: a git ref built alike (`--against`), or the
/// blessed baseline's stored artifacts.
#[derive(Debug, Clone, Default)]
pub struct Base {
    /// In words, for the report: `--against main (3f2a...)`.
    pub origin: String,
    pub commit: String,
    pub profiles: BTreeMap<String, BaseProfile>,
}

impl Base {
    /// Artifacts of this run as a base (calibration's A/A, tests).
    pub fn of(arts: &[ProfileArtifacts], origin: &str) -> Base {
        let profiles = arts
            .iter()
            .map(|a| {
                let bp = BaseProfile {
                    main: a.runnable(),
                    named: Some(a.named.clone()),
                    sizes: Some(a.info.sizes),
                    references: a.references.clone(),
                    closure: a.info.dependencies.as_ref().map(|c| c.normal.clone()),
                };
                (a.info.profile.clone(), bp)
            })
            .collect();
        Base {
            origin: origin.into(),
            commit: String::new(),
            profiles,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BaseProfile {
    pub main: Runnable,
    /// The named twin, for attribution diffs.
    pub named: Option<PathBuf>,
    pub sizes: Option<Sizes>,
    pub references: BTreeMap<String, Runnable>,
    /// The base's normal dependency closure, for the dependency diff.
    pub closure: Option<Vec<crate::closure::Pkg>>,
}
