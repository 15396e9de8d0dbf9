//! The wasm dependency closure of one profile: which crates the build
//! resolves for `wasm32-unknown-unknown` with the profile's features, which
//! of them are forbidden (with the chain that brings each in), and what
//! changed against the base, joined to the bytes each crate ships.
//!
//! Cargo resolves; the gate only reads. `cargo tree` (cargo's own resolver,
//! feature resolver 2, per package and target, exactly as the build) gives
//! the graph and each crate's enabled features; `cargo metadata` gives the
//! manifests, which say which feature of a parent turned an optional
//! dependency on. (`cargo metadata`'s own resolve unifies features across
//! the whole workspace and its dev-dependencies, so it can list crates the
//! wasm build never compiles: it is not used for the closure.)
//!
//! Normal dependencies are what can ship. Proc-macros, what they pull in,
//! and build-dependencies run on the host only: they are listed apart and
//! never fail the policy.

use crate::config::Profile;
use crate::toolchain::{Toolchain, TARGET};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// The metric id of the dependency record, unless `[dependencies] id` says otherwise.
pub const DEFAULT_ID: &str = "M-DEPS-01";

/// A crate at one version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pkg {
    pub name: String,
    pub version: String,
}

/// One profile's closure, as the summary records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Closure {
    /// The command that resolved it.
    pub command: String,
    /// Crates that can reach the artifact: the subject's normal
    /// dependencies for wasm32, transitively (the subject itself excluded).
    pub normal: Vec<Pkg>,
    /// Crates compiled for the host only: build-dependencies, proc-macros
    /// and what they pull in.
    pub host_only: Vec<Pkg>,
    /// Forbidden crates in the normal closure, allowed or not.
    pub findings: Vec<Finding>,
    /// Against the base, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<Diff>,
}

/// A forbidden crate found in the normal closure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub krate: Pkg,
    /// The `forbidden` entry it matched, as written.
    pub rule: String,
    /// The shortest chain from the subject, with the feature that enabled
    /// each optional edge: `app -> net 0.1.0 (feature "tcp") -> libc 0.2.180`.
    pub chain: String,
    /// `allow`'s reason, when an entry exempts it (then it passes).
    pub allowed: Option<String>,
}

impl Finding {
    /// In words: `forbidden `libc 0.2.180` (rule `libc`): app -> ...`.
    pub fn line(&self) -> String {
        match &self.allowed {
            None => format!("forbidden `{} {}` (rule `{}`): {}", self.krate.name, self.krate.version, self.rule, self.chain),
            Some(why) => format!("allowed `{} {}` ({why}): {}", self.krate.name, self.krate.version, self.chain),
        }
    }
}

/// Crates added, removed and changed in version against the base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub against: String,
    pub added: Vec<Change>,
    pub removed: Vec<Change>,
    pub changed: Vec<Change>,
}

/// One crate's change, with what it ships in the candidate's artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// Bytes attributed to the crate in the candidate's shipped artifact
    /// (None when no attribution ran); 0 is "linked out".
    pub shipped_bytes: Option<u64>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// One line per change: `new: serde_json 1.0.151 (+41.2 KiB shipped)`.
    pub fn lines(&self) -> Vec<String> {
        let bytes = |c: &Change, sign: &str| match c.shipped_bytes {
            None => String::new(),
            Some(0) => " (0 B shipped: linked out)".into(),
            Some(b) if b < 1024 => format!(" ({sign}{b} B shipped)"),
            Some(b) => format!(" ({sign}{} shipped)", crate::util::kib(b)),
        };
        let mut out = Vec::new();
        for c in &self.added {
            out.push(format!("new: `{} {}`{}", c.name, c.new.as_deref().unwrap_or("?"), bytes(c, "+")));
        }
        for c in &self.changed {
            out.push(format!("changed: `{}` {} -> {}{}", c.name, c.old.as_deref().unwrap_or("?"), c.new.as_deref().unwrap_or("?"), bytes(c, "")));
        }
        for c in &self.removed {
            out.push(format!("removed: `{} {}`", c.name, c.old.as_deref().unwrap_or("?")));
        }
        out
    }
}

impl Closure {
    /// Forbidden crates no `allow` entry exempts: the record's value.
    pub fn violations(&self) -> usize {
        self.findings.iter().filter(|f| f.allowed.is_none()).count()
    }

    /// Why the record is what it is, in words (one line each).
    pub fn reasons(&self) -> Vec<String> {
        let mut out: Vec<String> = self.findings.iter().map(Finding::line).collect();
        if let Some(d) = self.diff.as_ref().filter(|d| !d.is_empty()) {
            out.push(format!("against {}: {}", d.against, d.lines().join("; ")));
        }
        out
    }
}

/// `[dependencies]` of budgets.toml, for one profile (the table's lists
/// with the profile's own entries added).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub id: String,
    pub forbidden: Vec<Rule>,
    pub allow: Vec<Allow>,
}

/// A forbidden crate: `name`, or `name@REQ` with a semver requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub text: String,
    pub name: String,
    pub req: Option<semver::VersionReq>,
}

impl Rule {
    /// Parse `libc` or `nix@<0.27`; the error says what would be valid.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let (name, req) = match text.split_once('@') {
            Some((n, r)) => (n.trim(), Some(semver::VersionReq::parse(r.trim()).map_err(|e| format!("`{r}` is not a version requirement ({e})"))?)),
            None => (text.trim(), None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("`{text}` is not a crate name"));
        }
        Ok(Rule { text: text.to_string(), name: name.to_string(), req })
    }

    fn matches(&self, p: &Pkg) -> bool {
        p.name == self.name && self.req.as_ref().is_none_or(|r| semver::Version::parse(&p.version).is_ok_and(|v| r.matches(&v)))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    #[serde(rename = "crate")]
    pub krate: String,
    pub reason: String,
}

/// The resolved graph of one profile: nodes in the order `cargo tree`
/// first prints them (the subject is node 0), and normal edges.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<BTreeSet<usize>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pkg: Pkg,
    pub proc_macro: bool,
    pub features: Vec<String>,
}

/// The format the gate asks `cargo tree` for: depth prefix, then
/// `name vX.Y.Z [(source)] [(proc-macro)]|feature,feature[ (*)]`.
pub const TREE_FORMAT: &str = "{p}|{f}";

/// Parse `cargo tree --prefix depth --format "{p}|{f}"`. A crate printed
/// again is marked `(*)` and its dependencies are not repeated, so every
/// edge appears exactly once.
pub fn parse_tree(text: &str) -> Result<Graph> {
    let mut g = Graph::default();
    let mut index: BTreeMap<Pkg, usize> = BTreeMap::new();
    let mut stack: Vec<usize> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
        let depth: usize = line[..digits].parse().map_err(|_| anyhow!("cargo tree line {}: no depth prefix in `{line}`", n + 1))?;
        let (package, features) = line[digits..].rsplit_once('|').ok_or_else(|| anyhow!("cargo tree line {}: no `|` in `{line}`", n + 1))?;
        let mut words = package.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else { bail!("cargo tree line {}: no `name vVERSION` in `{line}`", n + 1) };
        let pkg = Pkg { name: name.to_string(), version: version.trim_start_matches('v').to_string() };
        let features: Vec<String> = features.trim().trim_end_matches("(*)").split(',').map(str::trim).filter(|f| !f.is_empty()).map(String::from).collect();
        let id = *index.entry(pkg.clone()).or_insert_with(|| {
            g.nodes.push(Node { pkg, proc_macro: package.contains("(proc-macro)"), features });
            g.edges.push(BTreeSet::new());
            g.nodes.len() - 1
        });
        if depth > stack.len() {
            bail!("cargo tree line {}: depth {depth} after depth {}", n + 1, stack.len().saturating_sub(1));
        }
        stack.truncate(depth);
        if let Some(&parent) = stack.last() {
            g.edges[parent].insert(id);
        }
        stack.push(id);
    }
    if g.nodes.is_empty() {
        bail!("cargo tree printed no crates");
    }
    Ok(g)
}

impl Graph {
    /// Breadth-first from the subject through normal edges, never into a
    /// proc-macro (it runs in the compiler): each shipping node's parent on
    /// a shortest path.
    fn shipping(&self) -> BTreeMap<usize, Option<usize>> {
        let mut parent = BTreeMap::from([(0usize, None)]);
        let mut queue = VecDeque::from([0usize]);
        while let Some(n) = queue.pop_front() {
            for &c in &self.edges[n] {
                if self.nodes[c].proc_macro || parent.contains_key(&c) {
                    continue;
                }
                parent.insert(c, Some(n));
                queue.push_back(c);
            }
        }
        parent
    }

    /// The shortest chain from the subject to `target`, each optional edge
    /// with the feature of its parent that turned it on.
    fn chain(&self, parents: &BTreeMap<usize, Option<usize>>, target: usize, manifests: &Manifests) -> String {
        let mut path = vec![target];
        while let Some(Some(p)) = parents.get(path.last().unwrap()) {
            path.push(*p);
        }
        path.reverse();
        let mut out = self.nodes[path[0]].pkg.name.clone();
        for w in path.windows(2) {
            let (parent, child) = (&self.nodes[w[0]], &self.nodes[w[1]]);
            if let Some(f) = manifests.enabling_feature(parent, &child.pkg.name) {
                out.push_str(&format!(" (feature \"{f}\")"));
            }
            out.push_str(&format!(" -> {} {}", child.pkg.name, child.pkg.version));
        }
        out
    }
}

/// What the manifests say about optional dependencies: per package, its
/// dependencies' names (as features refer to them) and whether optional,
/// and its feature table.
#[derive(Debug, Default)]
pub struct Manifests {
    packages: BTreeMap<Pkg, (Vec<(String, String, bool)>, BTreeMap<String, Vec<String>>)>,
}

impl Manifests {
    /// From `cargo metadata --format-version 1` JSON.
    pub fn from_metadata(json: &str) -> Result<Manifests> {
        #[derive(Deserialize)]
        struct Meta {
            packages: Vec<Package>,
        }
        #[derive(Deserialize)]
        struct Package {
            name: String,
            version: String,
            #[serde(default)]
            dependencies: Vec<Dep>,
            #[serde(default)]
            features: BTreeMap<String, Vec<String>>,
        }
        #[derive(Deserialize)]
        struct Dep {
            name: String,
            rename: Option<String>,
            #[serde(default)]
            optional: bool,
            kind: Option<String>,
        }
        let meta: Meta = serde_json::from_str(json).context("reading cargo metadata's JSON")?;
        let mut packages = BTreeMap::new();
        for p in meta.packages {
            let deps = p.dependencies.into_iter().filter(|d| d.kind.is_none()).map(|d| (d.name.clone(), d.rename.unwrap_or(d.name), d.optional)).collect();
            packages.insert(Pkg { name: p.name, version: p.version }, (deps, p.features));
        }
        Ok(Manifests { packages })
    }

    /// The enabled feature of `parent` that turned on its optional
    /// dependency `child` (None for a plain dependency, or when unknown).
    fn enabling_feature(&self, parent: &Node, child: &str) -> Option<String> {
        let (deps, table) = self.packages.get(&parent.pkg)?;
        let key = deps.iter().find(|(name, _, _)| name == child).filter(|d| d.2).map(|d| d.1.clone())?;
        let names = |v: &String| v == &key || v == &format!("dep:{key}") || v.starts_with(&format!("{key}/"));
        parent
            .features
            .iter()
            .find(|f| table.get(*f).is_some_and(|vals| vals.iter().any(names)))
            .or_else(|| parent.features.iter().find(|f| **f == key))
            .cloned()
    }
}

/// The closure of a resolved graph: shipping crates, host-only crates (of
/// the normal tree behind proc-macros, and of `also_host`, the crates of the
/// tree with build-dependencies), and the policy's findings.
pub fn evaluate(g: &Graph, also_host: &Graph, manifests: &Manifests, policy: &Policy, command: String) -> Closure {
    let parents = g.shipping();
    let normal: BTreeSet<Pkg> = parents.keys().filter(|&&n| n != 0).map(|&n| g.nodes[n].pkg.clone()).collect();
    let root = &g.nodes[0].pkg;
    let host_only: BTreeSet<Pkg> = g.nodes.iter().chain(also_host.nodes.iter()).map(|n| n.pkg.clone()).filter(|p| p != root && !normal.contains(p)).collect();
    let mut findings = Vec::new();
    for (&n, _) in parents.iter().filter(|(&n, _)| n != 0) {
        let pkg = &g.nodes[n].pkg;
        let Some(rule) = policy.forbidden.iter().find(|r| r.matches(pkg)) else { continue };
        findings.push(Finding {
            krate: pkg.clone(),
            rule: rule.text.clone(),
            chain: g.chain(&parents, n, manifests),
            allowed: policy.allow.iter().find(|a| a.krate == pkg.name).map(|a| a.reason.clone()),
        });
    }
    findings.sort_by(|a, b| a.krate.cmp(&b.krate));
    Closure { command, normal: normal.into_iter().collect(), host_only: host_only.into_iter().collect(), findings, diff: None }
}

/// Crates added, removed and changed in version between two normal
/// closures, each joined to its bytes in the candidate's artifact
/// (`shipped_bytes` by crate name as attribution spells it).
pub fn diff(base: &[Pkg], candidate: &[Pkg], against: &str, shipped_bytes: Option<&BTreeMap<String, u64>>) -> Diff {
    let versions = |ps: &[Pkg]| -> BTreeMap<String, BTreeSet<String>> {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in ps {
            m.entry(p.name.clone()).or_default().insert(p.version.clone());
        }
        m
    };
    let (old, new) = (versions(base), versions(candidate));
    let join = |v: &BTreeSet<String>| v.iter().cloned().collect::<Vec<_>>().join(", ");
    let bytes = |name: &str| shipped_bytes.map(|b| b.get(&name.replace('-', "_")).copied().unwrap_or(0));
    let mut d = Diff { against: against.to_string(), ..Diff::default() };
    for (name, nv) in &new {
        match old.get(name) {
            None => d.added.push(Change { name: name.clone(), old: None, new: Some(join(nv)), shipped_bytes: bytes(name) }),
            Some(ov) if ov != nv => d.changed.push(Change { name: name.clone(), old: Some(join(ov)), new: Some(join(nv)), shipped_bytes: bytes(name) }),
            Some(_) => {}
        }
    }
    for (name, ov) in old.iter().filter(|(n, _)| !new.contains_key(*n)) {
        d.removed.push(Change { name: name.clone(), old: Some(join(ov)), new: None, shipped_bytes: None });
    }
    d
}

/// `cargo tree` of one profile, as the build resolves it: the subject's
/// package, the wasm target, `--no-default-features` and the profile's
/// features. `edges` is cargo tree's `-e` value.
fn tree(tc: &Toolchain, manifest: &Path, package: &str, profile: &Profile, edges: &str) -> Result<(String, String)> {
    let mut cmd = tc.cargo();
    cmd.args(["tree", "--manifest-path"]).arg(manifest).args(["--package", package, "--target", TARGET, "-e", edges, "--prefix", "depth", "--charset", "ascii", "--format", TREE_FORMAT, "--no-default-features"]);
    if !profile.features.is_empty() {
        cmd.arg("--features").arg(profile.features.join(","));
    }
    let words = format!(
        "{} tree --manifest-path {} --package {package} --target {TARGET} -e {edges} --no-default-features{}",
        tc.cargo_words(),
        manifest.display(),
        if profile.features.is_empty() { String::new() } else { format!(" --features {}", profile.features.join(",")) }
    );
    let out = crate::util::run_captured(&mut cmd).with_context(|| format!("running {words}"))?;
    if !out.status.success() {
        bail!("resolving the dependency closure failed ({words}):\n{}", out.stderr.trim());
    }
    Ok((out.stdout, words))
}

/// Resolve one profile's closure with cargo and check it against `policy`.
pub fn resolve(tc: &Toolchain, manifest: &Path, package: &str, profile: &Profile, policy: &Policy) -> Result<Closure> {
    let (normal, command) = tree(tc, manifest, package, profile, "normal")?;
    let (all, _) = tree(tc, manifest, package, profile, "normal,build")?;
    let mut cmd = tc.cargo();
    cmd.args(["metadata", "--format-version", "1", "--filter-platform", TARGET, "--manifest-path"]).arg(manifest);
    let meta = crate::util::run_captured(&mut cmd).context("running cargo metadata")?;
    if !meta.status.success() {
        bail!("cargo metadata --manifest-path {} failed:\n{}", manifest.display(), meta.stderr.trim());
    }
    let manifests = Manifests::from_metadata(&meta.stdout)?;
    Ok(evaluate(&parse_tree(&normal)?, &parse_tree(&all)?, &manifests, policy, command))
}

/// For a failed build: the chain from the subject to the crate that did
/// not compile, when it is in the profile's closure.
pub fn chain_to(tc: &Toolchain, manifest: &Path, package: &str, profile: &Profile, krate: &str) -> Option<String> {
    let (text, _) = tree(tc, manifest, package, profile, "normal").ok()?;
    let g = parse_tree(&text).ok()?;
    let parents = g.shipping();
    let target = parents.keys().copied().find(|&n| g.nodes[n].pkg.name == krate)?;
    let mut cmd = tc.cargo();
    cmd.args(["metadata", "--format-version", "1", "--filter-platform", TARGET, "--manifest-path"]).arg(manifest);
    let manifests = crate::util::run_captured(&mut cmd).ok().and_then(|m| Manifests::from_metadata(&m.stdout).ok()).unwrap_or_default();
    Some(g.chain(&parents, target, &manifests))
}
