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
    /// The crate's name.
    pub name: String,
    /// Its version, as the lockfile resolved it.
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
    /// The forbidden crate.
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
            None => format!(
                "forbidden `{} {}` (rule `{}`): {}",
                self.krate.name, self.krate.version, self.rule, self.chain
            ),
            Some(why) => format!(
                "allowed `{} {}` ({why}): {}",
                self.krate.name, self.krate.version, self.chain
            ),
        }
    }
}

/// Crates added, removed and changed in version against the base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// The base it was compared with, in words.
    pub against: String,
    /// Crates the candidate resolves and the base does not.
    pub added: Vec<Change>,
    /// Crates the base resolves and the candidate does not.
    pub removed: Vec<Change>,
    /// Crates both resolve, at another version.
    pub changed: Vec<Change>,
}

/// One crate's change, with what it ships in the candidate's artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The crate's name.
    pub name: String,
    /// Its version in the base (None: added).
    pub old: Option<String>,
    /// Its version in the candidate (None: removed).
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
            out.push(format!(
                "new: `{} {}`{}",
                c.name,
                c.new.as_deref().unwrap_or("?"),
                bytes(c, "+")
            ));
        }
        for c in &self.changed {
            out.push(format!(
                "changed: `{}` {} -> {}{}",
                c.name,
                c.old.as_deref().unwrap_or("?"),
                c.new.as_deref().unwrap_or("?"),
                bytes(c, "")
            ));
        }
        for c in &self.removed {
            out.push(format!(
                "removed: `{} {}`",
                c.name,
                c.old.as_deref().unwrap_or("?")
            ));
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
            out.push(format!(
                "against the base, {}: {}",
                d.against,
                d.lines().join("; ")
            ));
        }
        out
    }
}

/// `[dependencies]` of budgets.toml, for one profile (the table's lists
/// with the profile's own entries added).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// The record's metric id (`M-DEPS-01` unless set).
    pub id: String,
    /// Crates that must not ship.
    pub forbidden: Vec<Rule>,
    /// Forbidden crates let through, each with its reason.
    pub allow: Vec<Allow>,
}

/// A forbidden crate: `name`, or `name@REQ` with a semver requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// As written in budgets.toml (`nix@<0.27`).
    pub text: String,
    /// The crate's name.
    pub name: String,
    /// The versions it covers; None: every version.
    pub req: Option<semver::VersionReq>,
}

impl Rule {
    /// Parse `libc` or `nix@<0.27`; the error says what would be valid.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let (name, req) = match text.split_once('@') {
            Some((n, r)) => (
                n.trim(),
                Some(
                    semver::VersionReq::parse(r.trim())
                        .map_err(|e| format!("`{r}` is not a version requirement ({e})"))?,
                ),
            ),
            None => (text.trim(), None),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!("`{text}` is not a crate name"));
        }
        Ok(Rule {
            text: text.to_string(),
            name: name.to_string(),
            req,
        })
    }

    fn matches(&self, p: &Pkg) -> bool {
        p.name == self.name
            && self
                .req
                .as_ref()
                .is_none_or(|r| semver::Version::parse(&p.version).is_ok_and(|v| r.matches(&v)))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    #[serde(rename = "crate")]
    /// The crate let through (a name, or name@REQ).
    pub krate: String,
    /// Why, in words (required).
    pub reason: String,
}

/// The resolved graph of one profile: nodes in the order `cargo tree`
/// first prints them (the subject is node 0), and normal edges.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Every package of the resolved graph.
    pub nodes: Vec<Node>,
    /// Per node, the nodes it depends on (normal edges, the wasm target's).
    pub edges: Vec<BTreeSet<usize>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The package.
    pub pkg: Pkg,
    /// A proc-macro: compiled for the host, never shipped.
    pub proc_macro: bool,
    /// The features the resolve enabled on it.
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
        let depth: usize = line[..digits]
            .parse()
            .map_err(|_| anyhow!("cargo tree line {}: no depth prefix in `{line}`", n + 1))?;
        let (package, features) = line[digits..]
            .rsplit_once('|')
            .ok_or_else(|| anyhow!("cargo tree line {}: no `|` in `{line}`", n + 1))?;
        let mut words = package.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            bail!("cargo tree line {}: no `name vVERSION` in `{line}`", n + 1)
        };
        let pkg = Pkg {
            name: name.to_string(),
            version: version.trim_start_matches('v').to_string(),
        };
        let features: Vec<String> = features
            .trim()
            .trim_end_matches("(*)")
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(String::from)
            .collect();
        let id = *index.entry(pkg.clone()).or_insert_with(|| {
            g.nodes.push(Node {
                pkg,
                proc_macro: package.contains("(proc-macro)"),
                features,
            });
            g.edges.push(BTreeSet::new());
            g.nodes.len() - 1
        });
        if depth > stack.len() {
            bail!(
                "cargo tree line {}: depth {depth} after depth {}",
                n + 1,
                stack.len().saturating_sub(1)
            );
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
    fn chain(
        &self,
        parents: &BTreeMap<usize, Option<usize>>,
        target: usize,
        manifests: &Manifests,
    ) -> String {
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
    packages: BTreeMap<Pkg, Manifest>,
}

/// What one package's manifest says: its normal dependencies and features.
#[derive(Debug, Default)]
struct Manifest {
    deps: Vec<DepDecl>,
    features: BTreeMap<String, Vec<String>>,
}

/// One normal dependency: the package's name, the name features use for
/// it (its `rename`, if any), and whether it is optional.
#[derive(Debug)]
struct DepDecl {
    package: String,
    key: String,
    optional: bool,
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
            let deps = p
                .dependencies
                .into_iter()
                .filter(|d| d.kind.is_none())
                .map(|d| DepDecl {
                    package: d.name.clone(),
                    key: d.rename.unwrap_or(d.name),
                    optional: d.optional,
                })
                .collect();
            packages.insert(
                Pkg {
                    name: p.name,
                    version: p.version,
                },
                Manifest {
                    deps,
                    features: p.features,
                },
            );
        }
        Ok(Manifests { packages })
    }

    /// The enabled feature of `parent` that turned on its optional
    /// dependency `child` (None for a plain dependency, or when unknown).
    fn enabling_feature(&self, parent: &Node, child: &str) -> Option<String> {
        let m = self.packages.get(&parent.pkg)?;
        let table = &m.features;
        let key = m
            .deps
            .iter()
            .find(|d| d.package == child)
            .filter(|d| d.optional)
            .map(|d| d.key.clone())?;
        // `dep:key` and `key/feature` turn the dependency on; a bare `key`
        // does too, unless a feature of that name exists (then it names it).
        let names = |v: &String| {
            v == &format!("dep:{key}")
                || v.starts_with(&format!("{key}/"))
                || (v == &key && !table.contains_key(&key))
        };
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
pub fn evaluate(
    g: &Graph,
    also_host: &Graph,
    manifests: &Manifests,
    policy: &Policy,
    command: String,
) -> Closure {
    let parents = g.shipping();
    let normal: BTreeSet<Pkg> = parents
        .keys()
        .filter(|&&n| n != 0)
        .map(|&n| g.nodes[n].pkg.clone())
        .collect();
    let root = &g.nodes[0].pkg;
    let host_only: BTreeSet<Pkg> = g
        .nodes
        .iter()
        .chain(also_host.nodes.iter())
        .map(|n| n.pkg.clone())
        .filter(|p| p != root && !normal.contains(p))
        .collect();
    let mut findings = Vec::new();
    for (&n, _) in parents.iter().filter(|(&n, _)| n != 0) {
        let pkg = &g.nodes[n].pkg;
        let Some(rule) = policy.forbidden.iter().find(|r| r.matches(pkg)) else {
            continue;
        };
        findings.push(Finding {
            krate: pkg.clone(),
            rule: rule.text.clone(),
            chain: g.chain(&parents, n, manifests),
            allowed: policy
                .allow
                .iter()
                .find(|a| a.krate == pkg.name)
                .map(|a| a.reason.clone()),
        });
    }
    findings.sort_by(|a, b| a.krate.cmp(&b.krate));
    Closure {
        command,
        normal: normal.into_iter().collect(),
        host_only: host_only.into_iter().collect(),
        findings,
        diff: None,
    }
}

/// Crates added, removed and changed in version between two normal
/// closures, each joined to its bytes in the candidate's artifact
/// (`shipped_bytes` by crate name as attribution spells it).
pub fn diff(
    base: &[Pkg],
    candidate: &[Pkg],
    against: &str,
    shipped_bytes: Option<&BTreeMap<String, u64>>,
) -> Diff {
    let versions = |ps: &[Pkg]| -> BTreeMap<String, BTreeSet<String>> {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in ps {
            m.entry(p.name.clone())
                .or_default()
                .insert(p.version.clone());
        }
        m
    };
    let (old, new) = (versions(base), versions(candidate));
    let join = |v: &BTreeSet<String>| v.iter().cloned().collect::<Vec<_>>().join(", ");
    let bytes =
        |name: &str| shipped_bytes.map(|b| b.get(&name.replace('-', "_")).copied().unwrap_or(0));
    let mut d = Diff {
        against: against.to_string(),
        ..Diff::default()
    };
    for (name, nv) in &new {
        match old.get(name) {
            None => d.added.push(Change {
                name: name.clone(),
                old: None,
                new: Some(join(nv)),
                shipped_bytes: bytes(name),
            }),
            Some(ov) if ov != nv => d.changed.push(Change {
                name: name.clone(),
                old: Some(join(ov)),
                new: Some(join(nv)),
                shipped_bytes: bytes(name),
            }),
            Some(_) => {}
        }
    }
    for (name, ov) in old.iter().filter(|(n, _)| !new.contains_key(*n)) {
        d.removed.push(Change {
            name: name.clone(),
            old: Some(join(ov)),
            new: None,
            shipped_bytes: None,
        });
    }
    d
}

/// `cargo tree` of one profile, as the build resolves it: the subject's
/// package, the wasm target, `--no-default-features` and the profile's
/// `features`. `edges` is cargo tree's `-e` value.
fn tree(
    tc: &Toolchain,
    manifest: &Path,
    package: &str,
    features: &[String],
    edges: &str,
) -> Result<(String, String)> {
    let mut cmd = tc.cargo();
    cmd.args(["tree", "--manifest-path"]).arg(manifest).args([
        "--package",
        package,
        "--target",
        TARGET,
        "-e",
        edges,
        "--prefix",
        "depth",
        "--charset",
        "ascii",
        "--format",
        TREE_FORMAT,
        "--no-default-features",
    ]);
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    let words = format!(
        "{} tree --manifest-path {} --package {package} --target {TARGET} -e {edges} --no-default-features{}",
        tc.cargo_words(),
        manifest.display(),
        if features.is_empty() { String::new() } else { format!(" --features {}", features.join(",")) }
    );
    let out = crate::util::run_captured(&mut cmd).with_context(|| format!("running {words}"))?;
    if !out.status.success() {
        bail!(
            "resolving the dependency closure failed ({words}):\n{}",
            out.stderr.trim()
        );
    }
    Ok((out.stdout, words))
}

/// Resolve one profile's closure with cargo and check it against `policy`.
pub fn resolve(
    tc: &Toolchain,
    manifest: &Path,
    package: &str,
    features: &[String],
    policy: &Policy,
) -> Result<Closure> {
    let (normal, command) = tree(tc, manifest, package, features, "normal")?;
    let (all, _) = tree(tc, manifest, package, features, "normal,build")?;
    Ok(evaluate(
        &parse_tree(&normal)?,
        &parse_tree(&all)?,
        &manifests(tc, manifest)?,
        policy,
        command,
    ))
}

/// The manifests of every package, from `cargo metadata`.
fn manifests(tc: &Toolchain, manifest: &Path) -> Result<Manifests> {
    let mut cmd = tc.cargo();
    cmd.args([
        "metadata",
        "--format-version",
        "1",
        "--filter-platform",
        TARGET,
        "--manifest-path",
    ])
    .arg(manifest);
    let meta = crate::util::run_captured(&mut cmd).context("running cargo metadata")?;
    if !meta.status.success() {
        bail!(
            "cargo metadata --manifest-path {} failed:\n{}",
            manifest.display(),
            meta.stderr.trim()
        );
    }
    Manifests::from_metadata(&meta.stdout)
}

/// For a failed build: the chain from the subject to the crate that did
/// not compile, when it is in the profile's closure.
pub fn chain_to(
    tc: &Toolchain,
    manifest: &Path,
    package: &str,
    features: &[String],
    krate: &str,
) -> Option<String> {
    let (text, _) = tree(tc, manifest, package, features, "normal").ok()?;
    let g = parse_tree(&text).ok()?;
    let parents = g.shipping();
    let target = parents
        .keys()
        .copied()
        .find(|&n| g.nodes[n].pkg.name == krate)?;
    // Without the manifests the chain still holds; it names no features.
    Some(g.chain(
        &parents,
        target,
        &manifests(tc, manifest).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `app` turns on `net` with its feature "net"; `net` turns on
    /// `polling` with "tcp"; `log` reaches `libc` in fewer steps than
    /// polling does. `serde_derive` is a proc-macro (host only).
    const TREE: &str = "0app v0.1.0 (/src/app)|default,net
1log v0.4.22|std
2libc v0.2.180|
1net v0.2.0|tcp
2polling v3.7.4|
3libc v0.2.180| (*)
2serde_derive v1.0.210 (proc-macro)|default
3proc-macro2 v1.0.86|proc-macro
1serde v1.0.210|derive,serde_derive
2serde_derive v1.0.210 (proc-macro)|default (*)
";
    /// The same with build-dependencies: `cc` builds something of `net`.
    const TREE_ALL: &str = "0app v0.1.0 (/src/app)|default,net
1net v0.2.0|tcp
2cc v1.1.0|
";
    const METADATA: &str = r#"{"packages": [
      {"name": "app", "version": "0.1.0", "features": {"default": ["net"], "net": ["dep:net"]},
       "dependencies": [{"name": "net", "rename": null, "optional": true, "kind": null},
                        {"name": "log", "rename": null, "optional": false, "kind": null},
                        {"name": "serde", "rename": null, "optional": false, "kind": null},
                        {"name": "tempfile", "rename": null, "optional": false, "kind": "dev"}]},
      {"name": "net", "version": "0.2.0", "features": {"tcp": ["dep:poll", "serde_derive?/default"]},
       "dependencies": [{"name": "polling", "rename": "poll", "optional": true, "kind": null}]},
      {"name": "log", "version": "0.4.22", "features": {"std": []},
       "dependencies": [{"name": "libc", "rename": null, "optional": false, "kind": null}]}
    ]}"#;

    fn policy(forbidden: &[&str], allow: &[(&str, &str)]) -> Policy {
        Policy {
            id: DEFAULT_ID.into(),
            forbidden: forbidden.iter().map(|r| Rule::parse(r).unwrap()).collect(),
            allow: allow
                .iter()
                .map(|(k, r)| Allow {
                    krate: k.to_string(),
                    reason: r.to_string(),
                })
                .collect(),
        }
    }

    fn closure(p: &Policy) -> Closure {
        let m = Manifests::from_metadata(METADATA).unwrap();
        evaluate(
            &parse_tree(TREE).unwrap(),
            &parse_tree(TREE_ALL).unwrap(),
            &m,
            p,
            "cargo tree".into(),
        )
    }

    fn names(ps: &[Pkg]) -> Vec<String> {
        ps.iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect()
    }

    #[test]
    fn what_ships_and_what_stays_on_the_host() {
        let c = closure(&policy(&[], &[]));
        assert_eq!(
            names(&c.normal),
            [
                "libc 0.2.180",
                "log 0.4.22",
                "net 0.2.0",
                "polling 3.7.4",
                "serde 1.0.210"
            ]
        );
        assert_eq!(
            names(&c.host_only),
            ["cc 1.1.0", "proc-macro2 1.0.86", "serde_derive 1.0.210"]
        );
        assert!(c.findings.is_empty());
        assert_eq!(c.violations(), 0);
    }

    #[test]
    fn a_forbidden_crate_fails_with_its_shortest_chain_and_the_features_that_enabled_it() {
        let c = closure(&policy(&["libc", "polling", "socket2"], &[]));
        assert_eq!(c.violations(), 2);
        let chains: Vec<&str> = c.findings.iter().map(|f| f.chain.as_str()).collect();
        assert_eq!(
            chains,
            [
                "app -> log 0.4.22 -> libc 0.2.180",
                "app (feature \"net\") -> net 0.2.0 (feature \"tcp\") -> polling 3.7.4"
            ]
        );
        assert_eq!(c.reasons()[1], "forbidden `polling 3.7.4` (rule `polling`): app (feature \"net\") -> net 0.2.0 (feature \"tcp\") -> polling 3.7.4");
    }

    #[test]
    fn proc_macros_and_build_dependencies_never_fail() {
        let c = closure(&policy(&["serde_derive", "proc-macro2", "cc"], &[]));
        assert_eq!(c.violations(), 0, "{:?}", c.findings);
    }

    #[test]
    fn an_allowed_crate_passes_and_says_why() {
        let c = closure(&policy(&["libc"], &[("libc", "types only, linked out")]));
        assert_eq!(c.violations(), 0);
        assert_eq!(c.reasons(), ["allowed `libc 0.2.180` (types only, linked out): app -> log 0.4.22 -> libc 0.2.180"]);
    }

    #[test]
    fn a_version_requirement_limits_a_rule() {
        assert_eq!(closure(&policy(&["libc@<0.2"], &[])).violations(), 0);
        assert_eq!(closure(&policy(&["libc@0.2"], &[])).violations(), 1);
        assert_eq!(
            closure(&policy(&["polling@>=3, <4"], &[])).findings[0].rule,
            "polling@>=3, <4"
        );
        assert!(Rule::parse("libc@banana")
            .unwrap_err()
            .contains("not a version requirement"));
        assert!(Rule::parse("lib c")
            .unwrap_err()
            .contains("not a crate name"));
        assert!(Rule::parse("").is_err());
    }

    #[test]
    fn the_diff_names_each_change_with_the_bytes_it_ships() {
        let pkg = |n: &str, v: &str| Pkg {
            name: n.into(),
            version: v.into(),
        };
        let base = [
            pkg("itoa", "1.0.10"),
            pkg("log", "0.4.20"),
            pkg("memchr", "2.7.0"),
        ];
        let cand = [
            pkg("itoa", "1.0.10"),
            pkg("log", "0.4.22"),
            pkg("serde-json", "1.0.128"),
            pkg("tempfile", "3.25.0"),
        ];
        let bytes = BTreeMap::from([
            ("serde_json".to_string(), 42_189u64),
            ("log".to_string(), 300),
        ]);
        let d = diff(&base, &cand, "--against main (3f2a)", Some(&bytes));
        assert_eq!(
            d.lines(),
            [
                "new: `serde-json 1.0.128` (+41.2 KiB shipped)",
                "new: `tempfile 3.25.0` (0 B shipped: linked out)",
                "changed: `log` 0.4.20 -> 0.4.22 (300 B shipped)",
                "removed: `memchr 2.7.0`",
            ]
        );
        assert!(diff(&base, &base, "x", None).is_empty());
        assert_eq!(
            diff(&base, &cand, "x", None).added[0].shipped_bytes,
            None,
            "no attribution: bytes unknown, not zero"
        );
    }

    #[test]
    fn two_versions_of_one_crate_diff_as_a_set() {
        let pkg = |n: &str, v: &str| Pkg {
            name: n.into(),
            version: v.into(),
        };
        let d = diff(
            &[pkg("getrandom", "0.2.15")],
            &[pkg("getrandom", "0.2.15"), pkg("getrandom", "0.3.1")],
            "b",
            None,
        );
        assert_eq!(d.lines(), ["changed: `getrandom` 0.2.15 -> 0.2.15, 0.3.1"]);
    }

    #[test]
    fn a_malformed_tree_is_an_error_not_an_empty_closure() {
        assert!(parse_tree("").is_err());
        assert!(parse_tree("app v0.1.0|\n")
            .unwrap_err()
            .to_string()
            .contains("no depth prefix"));
        assert!(parse_tree("0app v0.1.0|\n2libc v0.2.0|\n")
            .unwrap_err()
            .to_string()
            .contains("depth 2"));
        assert!(parse_tree("0app\n").is_err());
    }
}
