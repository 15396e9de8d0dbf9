//! The ledger: a schema-versioned history of gating runs under `reports/`,
//! feeding escalation (consecutive warns) and the trend in every report.
//!
//! Safety: every write is a temp file + fsync + rename (a crash leaves the
//! old or the new ledger, never a torn one), and the read-modify-write is
//! done under an OS file lock on `ledger.json.lock` (see [`Lock`]), so two
//! gates at once each append their run and neither is lost. A corrupt or future-version ledger stops the run (exit 2); it is
//! never silently reset.

use crate::gate::{Past, Status};
use crate::stats::Interval;
use crate::summary::Fingerprint;
use crate::util::write_atomic;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const LEDGER_SCHEMA: u32 = 3;

/// One metric key's entry in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub value: Option<f64>,
    /// The value's 95 % interval, when it had one: escalation judges past
    /// runs from the value and interval against today's caps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lo: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hi: Option<f64>,
    pub status: Status,
    /// As decided by that run's caps (for reading the history; escalation
    /// recomputes it).
    pub in_warn_band: bool,
    /// What the figure is a function of (`measure::identity`); the store
    /// of figures (`reuse.rs`) keeps those the ledger names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The run this figure was taken from, when it was reused rather than
    /// measured: it is that run's observation, so escalation never counts
    /// it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// A `Budget-Accept:` trailer that covered a regression of this key:
    /// the commit, author, reason and bound, the change it measured, and
    /// whether that was within the bound. The history of what was let
    /// through, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<crate::gate::Applied>,
}

/// One gating run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Unique id: start time and process id.
    pub id: String,
    pub started_unix_s: u64,
    pub commit: String,
    /// Which configuration the run gated (`identity`): runs of another
    /// budgets file never feed this one's escalation. Empty for runs
    /// written before schema 3, which count for any configuration.
    #[serde(default)]
    pub config: String,
    pub status: Status,
    pub fingerprint: Fingerprint,
    /// Key `metric|profile|environment` -> entry.
    pub entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub schema_version: u32,
    /// Oldest first.
    pub runs: Vec<Run>,
}

/// Schema 1 (the first release) kept statuses only, with no warn-band flag;
/// it is read and upgraded: a `warn` then meant "in the warn band".
#[derive(Deserialize)]
struct LedgerV1 {
    runs: Vec<RunV1>,
}
#[derive(Deserialize)]
struct RunV1 {
    id: String,
    started_unix_s: u64,
    commit: String,
    status: Status,
    entries: BTreeMap<String, V1Entry>,
}
#[derive(Deserialize)]
struct V1Entry {
    value: Option<f64>,
    status: Status,
}

pub fn key(metric: &str, profile: &str, environment: &str) -> String {
    format!("{metric}|{profile}|{environment}")
}

impl Ledger {
    pub fn empty() -> Ledger {
        Ledger {
            schema_version: LEDGER_SCHEMA,
            runs: vec![],
        }
    }

    /// Parse ledger text, upgrading older schemas.
    pub fn parse(text: &str, path: &Path) -> Result<Ledger> {
        let recover = format!(
            "to recover: restore {p} from CI's saved copy or version control, or move it aside (`mv {p} {p}.bad`) to start a new history",
            p = path.display()
        );
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| anyhow!("ledger {} is corrupt ({e}); {recover}", path.display()))?;
        let schema = v
            .get("schema_version")
            .and_then(|s| s.as_u64())
            .ok_or_else(|| anyhow!("ledger {} has no schema_version; {recover}", path.display()))?;
        match schema {
            1 => {
                let old: LedgerV1 = serde_json::from_value(v)
                    .map_err(|e| anyhow!("ledger {} (schema 1) is corrupt ({e}); {recover}", path.display()))?;
                Ok(Ledger {
                    schema_version: LEDGER_SCHEMA,
                    runs: old
                        .runs
                        .into_iter()
                        .map(|r| Run {
                            id: r.id,
                            started_unix_s: r.started_unix_s,
                            commit: r.commit,
                            config: String::new(),
                            status: r.status,
                            fingerprint: Fingerprint::default(),
                            entries: r
                                .entries
                                .into_iter()
                                .map(|(k, e)| {
                                    (k, Entry { value: e.value, lo: None, hi: None, status: e.status, in_warn_band: e.status == Status::Warn, identity: None, reused_from: None, accepted: None })
                                })
                                .collect(),
                        })
                        .collect(),
                })
            }
            // Schema 2 lacks intervals and the configuration identity: both
            // default (no interval; counts for any configuration).
            2 | 3 => serde_json::from_value::<Ledger>(v)
                .map(|l| Ledger { schema_version: LEDGER_SCHEMA, ..l })
                .map_err(|e| anyhow!("ledger {} is corrupt ({e}); {recover}", path.display())),
            n => bail!(
                "ledger {} has schema {n}, newer than this gate understands ({LEDGER_SCHEMA}); run a newer gate, or {recover}",
                path.display()
            ),
        }
    }

    pub fn load(path: &Path) -> Result<Ledger> {
        match std::fs::read_to_string(path) {
            Ok(t) => Ledger::parse(&t, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::empty()),
            Err(e) => Err(e).with_context(|| format!("reading ledger {}", path.display())),
        }
    }

    /// For a key, the earlier runs of configuration `config`, oldest
    /// first, as values and intervals (the gate judges them against
    /// today's caps). Reused figures are left out: each is an earlier
    /// run's observation, counted there. With `before`, only the runs
    /// before that run id: the history a reused figure's own run saw.
    pub fn history(&self, key: &str, config: &str, before: Option<&str>) -> Vec<Past> {
        let end = before
            .and_then(|id| self.runs.iter().position(|r| r.id == id))
            .unwrap_or(self.runs.len());
        self.runs[..end]
            .iter()
            .filter(|r| r.config.is_empty() || r.config == config)
            .filter_map(|r| r.entries.get(key))
            .filter(|e| e.reused_from.is_none())
            .map(|e| Past {
                value: e.value,
                ci: match (e.value, e.lo, e.hi) {
                    (Some(point), Some(lo), Some(hi)) => Some(Interval { point, lo, hi }),
                    _ => None,
                },
            })
            .collect()
    }

    /// Add a run and keep, per key, the last `window` runs: a run is kept
    /// while it is among the last `window` runs of any key it holds.
    pub fn append(&mut self, run: Run, window: usize) {
        self.runs.push(run);
        let window = window.max(1);
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut keep = vec![false; self.runs.len()];
        for (i, r) in self.runs.iter().enumerate().rev() {
            for k in r.entries.keys() {
                let c = seen.entry(k.as_str()).or_default();
                if *c < window {
                    keep[i] = true;
                }
                *c += 1;
            }
            if r.entries.is_empty() && seen.is_empty() {
                keep[i] = true;
            }
        }
        let mut i = 0;
        self.runs.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }

    /// The last `n` runs' statuses, oldest first.
    pub fn trend(&self, n: usize) -> Vec<&Run> {
        let skip = self.runs.len().saturating_sub(n);
        self.runs.iter().skip(skip).collect()
    }
}

/// An exclusive lock on the ledger: an OS file lock (`flock`, through std)
/// on `ledger.json.lock`, which stays in place. The kernel releases the lock
/// when the holder's file is closed, so a gate killed with `kill -9` leaves
/// nothing to clean up, and no process ever decides from pids or ages that
/// a lock is stale.
pub struct Lock {
    _file: std::fs::File,
}

/// Take the ledger lock, waiting up to `wait`.
pub fn lock(ledger: &Path, wait: Duration) -> Result<Lock> {
    let path = PathBuf::from(format!("{}.lock", ledger.display()));
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening the ledger lock {}", path.display()))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                if start.elapsed() > wait {
                    bail!(
                        "ledger {} is locked by another gate for more than {:?} (the lock is held on {}; it is released when that gate exits)",
                        ledger.display(),
                        wait,
                        path.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| {
                    format!(
                        "locking {} (the file system must support file locks)",
                        path.display()
                    )
                })
            }
        }
    }
}

/// The identity of a configuration: the subject's package and the budgets
/// file's path inside its repository (absolute when it is in none), so the
/// same file in another checkout (a CI runner) is the same configuration
/// and a second budgets file beside it is another.
pub fn identity(budgets_file: &Path, package: &str) -> String {
    let abs = std::path::absolute(budgets_file).unwrap_or_else(|_| budgets_file.to_path_buf());
    let dir = abs.parent().unwrap_or(Path::new("."));
    let top = crate::util::git(&["rev-parse", "--show-toplevel"], dir)
        .ok()
        .map(PathBuf::from);
    let canon = abs.canonicalize().unwrap_or(abs);
    let rel = top
        .and_then(|t| t.canonicalize().ok())
        .and_then(|t| canon.strip_prefix(&t).ok().map(Path::to_path_buf))
        .unwrap_or(canon);
    format!("{package}@{}", rel.display())
}

/// The ledger through one run. A gating run holds the lock from reading the
/// history to appending its run, so a run gated at the same time by another
/// gate is never lost; a quick run reads the ledger for the trend, is gated
/// against no history, and appends nothing.
pub struct Session {
    path: PathBuf,
    window: usize,
    /// Held while the session lives (gating runs only).
    _lock: Option<Lock>,
    /// What the run's figures are gated against.
    history: Ledger,
    /// The ledger as it stands (equal to `history` for a gating run).
    current: Ledger,
}

impl Session {
    pub fn open(path: &Path, window: usize, gating: bool) -> Result<Session> {
        let lock = if gating {
            Some(lock(path, Duration::from_secs(600))?)
        } else {
            None
        };
        let current = Ledger::load(path)?;
        let history = if gating {
            current.clone()
        } else {
            Ledger::empty()
        };
        Ok(Session {
            path: path.to_path_buf(),
            window,
            _lock: lock,
            history,
            current,
        })
    }

    /// The history the run's verdicts escalate on.
    pub fn history(&self) -> &Ledger {
        &self.history
    }

    /// Append a gating run and write the ledger atomically, then let go of
    /// the lock; a quick run's session writes nothing. The ledger as it
    /// now stands, for the reports' trend.
    pub fn append(mut self, run: Run) -> Result<Ledger> {
        if self._lock.is_none() {
            return Ok(self.current);
        }
        self.current.append(run, self.window);
        write_atomic(
            &self.path,
            serde_json::to_string_pretty(&self.current)?.as_bytes(),
        )?;
        Ok(self.current)
    }
}

/// Read-modify-write the ledger under its lock: load, let `f` compute the
/// run from the history it sees, append, write atomically.
pub fn update<T>(
    path: &Path,
    window: usize,
    f: impl FnOnce(&Ledger) -> Result<(Run, T)>,
) -> Result<(Ledger, T)> {
    let session = Session::open(path, window, true)?;
    let (run, out) = f(session.history())?;
    Ok((session.append(run)?, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, keys: &[(&str, bool)]) -> Run {
        Run {
            id: id.into(),
            started_unix_s: 0,
            commit: "c".into(),
            config: "rt@budgets.toml".into(),
            status: Status::Pass,
            fingerprint: Fingerprint::default(),
            entries: keys
                .iter()
                .map(|(k, band)| {
                    (
                        k.to_string(),
                        Entry {
                            value: Some(if *band { 9.0 } else { 1.0 }),
                            lo: None,
                            hi: None,
                            status: Status::Pass,
                            in_warn_band: *band,
                            identity: None,
                            reused_from: None,
                            accepted: None,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn window_trims_per_key() {
        let mut l = Ledger::empty();
        for i in 0..12 {
            l.append(run(&i.to_string(), &[("a", false)]), 8);
        }
        assert_eq!(l.runs.len(), 8);
        assert_eq!(l.runs[0].id, "4");
        // A run of another key (a shard) keeps its own window.
        l.append(run("b0", &[("b", true)]), 8);
        for i in 12..20 {
            l.append(run(&i.to_string(), &[("a", false)]), 8);
        }
        assert!(l.runs.iter().any(|r| r.id == "b0"), "b's only run is kept");
        assert_eq!(
            l.history("b", "rt@budgets.toml", None)
                .iter()
                .map(|p| p.value)
                .collect::<Vec<_>>(),
            vec![Some(9.0)]
        );
    }

    #[test]
    fn reads_schema_1_and_upgrades() {
        let v1 = r#"{"schema_version":1,"runs":[{"id":"r1","started_unix_s":5,"commit":"abc","status":"warn",
            "entries":{"M|p|desktop":{"value":9.0,"status":"warn"},"N|p|size":{"value":1.0,"status":"pass"}}}]}"#;
        let l = Ledger::parse(v1, Path::new("ledger.json")).unwrap();
        assert_eq!(l.schema_version, LEDGER_SCHEMA);
        assert_eq!(
            l.history("M|p|desktop", "any@budgets.toml", None)[0].value,
            Some(9.0)
        );
        assert_eq!(
            l.history("N|p|size", "any@budgets.toml", None)[0].value,
            Some(1.0)
        );
        assert_eq!(
            l.runs[0].config, "",
            "a run from before schema 3 counts for any configuration"
        );
    }

    #[test]
    fn history_keeps_configurations_apart() {
        let mut l = Ledger::empty();
        let mut a = run("a", &[("k", true)]);
        a.config = "rt@budgets.toml".into();
        let mut b = run("b", &[("k", true)]);
        b.config = "rt@other/budgets.toml".into();
        l.append(a, 8);
        l.append(b, 8);
        assert_eq!(l.history("k", "rt@budgets.toml", None).len(), 1);
        assert_eq!(l.history("k", "rt@other/budgets.toml", None).len(), 1);
        assert_eq!(l.history("k", "rt@third.toml", None).len(), 0);
    }

    #[test]
    fn the_lock_excludes_a_second_holder_and_ignores_leftover_lock_files() {
        let dir = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ledger = dir.join("ledger.json");
        // A lock file left behind, naming a process that is alive (pid 1):
        // a pid heuristic waits for it forever; a file lock is free.
        std::fs::write(dir.join("ledger.json.lock"), "1").unwrap();
        let held = lock(&ledger, Duration::from_millis(200))
            .expect("a leftover lock file does not hold the lock");
        let e = lock(&ledger, Duration::from_millis(200))
            .err()
            .expect("a second holder must wait")
            .to_string();
        assert!(e.contains("locked by another gate"), "{e}");
        drop(held);
        assert!(
            dir.join("ledger.json.lock").exists(),
            "the lock file stays in place"
        );
        lock(&ledger, Duration::from_millis(200)).expect("free again once the holder is gone");
    }

    #[test]
    fn corrupt_or_future_is_an_error_that_says_how_to_recover() {
        let e = Ledger::parse("{not json", Path::new("l.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("corrupt") && e.contains("to recover"), "{e}");
        let e = Ledger::parse(r#"{"schema_version":99,"runs":[]}"#, Path::new("l.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("newer") && e.contains("to recover"), "{e}");
    }
}
