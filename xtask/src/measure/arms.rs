//! The arms of one task (candidate, base, and their reference builds) and
//! the samples each has gathered: what the schedule fills and the
//! reduction reads.

use super::Task;
use crate::artifacts::{reference_key, suite_key, Base, ProfileArtifacts, Runnable};
use crate::stats;
use anyhow::{anyhow, Result};

/// Who an arm of a comparison is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Candidate,
    /// The candidate's reference build (relative metrics).
    Reference,
    Base,
    BaseReference,
}

impl Role {
    pub(super) fn is_base(self) -> bool {
        matches!(self, Role::Base | Role::BaseReference)
    }
    /// The arm that runs paired with this one, in one block (relative
    /// metrics: a build's reference build).
    pub(super) fn partner(self) -> Option<Role> {
        match self {
            Role::Candidate => Some(Role::Reference),
            Role::Base => Some(Role::BaseReference),
            _ => None,
        }
    }
    /// Does this arm run only as another arm's pair?
    pub(super) fn is_partner(self) -> bool {
        matches!(self, Role::Reference | Role::BaseReference)
    }
    pub(super) fn label(self) -> &'static str {
        match self {
            Role::Candidate => "candidate",
            Role::Reference => "reference",
            Role::Base => "base",
            Role::BaseReference => "base reference",
        }
    }
}

pub(super) struct Arm {
    pub(super) role: Role,
    pub(super) module: Runnable,
    pub(super) samples: stats::ArmSamples,
    /// Batch size (operations per sample) of each block.
    pub(super) ops: Vec<u32>,
    pub(super) note: String,
    /// Heap probes: per seed, the parts of the last block's samples.
    pub(super) parts: Vec<Vec<(String, Vec<f64>)>>,
}

/// One task's arms and what happened to them.
pub(super) struct TaskState<'a> {
    pub(super) task: &'a Task,
    pub(super) index: usize,
    pub(super) arms: Vec<Arm>,
    /// Why the base arms were dropped (the comparison is not comparable).
    pub(super) base_excluded: Option<String>,
    /// Rounds run per seed (the protocol's blocks plus extensions).
    pub(super) rounds: u32,
    pub(super) extended: bool,
    /// Scenario runs that failed on their first try and passed on the
    /// retry: what failed, in words (reported, never hidden by the retry).
    pub(super) retried: Vec<String>,
    pub(super) artifact: String,
    /// The batch size the task's first block calibrated (batched scenarios).
    pub(super) fixed_batch: Option<u32>,
    /// Seconds one block took, measured on the task's first call: sizes
    /// later calls (see `run_rounds`).
    pub(super) block_s: Option<f64>,
    /// The host's speed at each of the task's calls (`ScenarioOutput::host_ms`).
    pub(super) host_ms: Vec<f64>,
    /// What the task's blocks cost: timed-window and page-call seconds.
    pub(super) cost: crate::summary::Cost,
}

impl Arm {
    /// The typical batch size over blocks (calibration may differ a little
    /// from block to block).
    pub(super) fn typical_ops(&self) -> u32 {
        let v: Vec<f64> = self.ops.iter().map(|&o| o as f64).collect();
        stats::median(&v).map(|m| m as u32).unwrap_or(1).max(1)
    }
}

impl TaskState<'_> {
    pub(super) fn arm(&self, role: Role) -> Option<&Arm> {
        self.arms.iter().find(|a| a.role == role)
    }
}

/// The arms of one task: candidate (+ reference), and the base's when the
/// base has this profile (and its reference build, for relative metrics)
/// and its identity differs from the candidate's.
pub(super) type ArmsOf = (Vec<Arm>, Option<String>, String);

pub(super) fn arms_of(
    task: &Task,
    arts: &[ProfileArtifacts],
    base: Option<&Base>,
    seeds: usize,
) -> Result<ArmsOf> {
    let art = arts
        .iter()
        .find(|a| a.info.profile == task.profile)
        .ok_or_else(|| anyhow!("no artifact for profile {}", task.profile))?;
    let arm = |role, module: Runnable| Arm {
        role,
        module,
        samples: stats::ArmSamples::with_seeds(seeds),
        ops: Vec::new(),
        note: String::new(),
        parts: vec![Vec::new(); seeds],
    };
    // A `builtin:tests` metric runs the profile's test module, not the
    // shipped one, on both sides.
    let suite = task.metric.suite.as_deref().map(suite_key);
    let main_of =
        |refs: &std::collections::BTreeMap<String, Runnable>, main: &Runnable| match &suite {
            None => Some(main.clone()),
            Some(k) => refs.get(k).cloned(),
        };
    let candidate = main_of(&art.references, &art.runnable()).ok_or_else(|| {
        anyhow!(
            "profile {} has no test module {}",
            task.profile,
            suite.as_deref().unwrap_or("")
        )
    })?;
    let mut arms = vec![arm(Role::Candidate, candidate)];
    let ref_key = task.metric.reference_without.as_deref().map(reference_key);
    if let Some(k) = &ref_key {
        let r = art
            .references
            .get(k)
            .ok_or_else(|| anyhow!("profile {} has no reference build {k}", task.profile))?;
        arms.push(arm(Role::Reference, r.clone()));
    }
    let mut excluded = None;
    // A base that would run the candidate's very inputs is not run: the
    // comparison is unchanged by construction (`reduce::identical`).
    let identical = task.identity.as_ref().is_some_and(|i| i.identical());
    if let Some(b) = base.filter(|_| !identical) {
        match b.profiles.get(&task.profile) {
            None => {
                excluded = Some(format!(
                    "the base ({}) has no artifact for profile {}",
                    b.origin, task.profile
                ))
            }
            Some(bp) => match &ref_key {
                None => match main_of(&bp.references, &bp.main) {
                    Some(m) => arms.push(arm(Role::Base, m)),
                    None => {
                        excluded = Some(format!(
                            "the base ({}) has no test module {} of {}",
                            b.origin,
                            suite.as_deref().unwrap_or(""),
                            task.profile
                        ))
                    }
                },
                Some(k) => match bp.references.get(k) {
                    Some(r) => {
                        arms.push(arm(Role::Base, bp.main.clone()));
                        arms.push(arm(Role::BaseReference, r.clone()));
                    }
                    None => {
                        excluded = Some(format!(
                            "the base ({}) has no {k} reference build of {}",
                            b.origin, task.profile
                        ))
                    }
                },
            },
        }
    }
    Ok((arms, excluded, art.info.shipped.clone()))
}
