//! What the subject's own cargo configuration says, read the way cargo
//! reads it, so the gate can *add* to it instead of replacing it:
//!
//! - **rustflags.** Cargo takes extra flags from exactly one source, the
//!   first of: `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, every matching
//!   `target.<triple>.rustflags` / `target.'cfg(..)'.rustflags` joined, then
//!   `build.rustflags`. Config arrays from several sources are joined, and
//!   `cargo --config` counts as one more source. So the gate passes a
//!   profile's flags with `--config` under the key the subject's own flags
//!   live under: joined with them, never substituted.
//! - **profiles.** Only the workspace root manifest's `[profile.*]` tables
//!   count; the gate reads the `inherits` chain to know whether the cargo
//!   profile exists and whether it strips the symbols attribution needs.
//!
//! Pure functions over parsed files, plus `discover` which finds them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the subject's configured rustflags live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagsKey {
    /// `target.<triple>.rustflags` (or a matching cfg entry) is set: cargo
    /// ignores `build.rustflags`, so the gate adds under the target key.
    Target,
    /// Only `build.rustflags` (or nothing) is set.
    Build,
}

/// The subject's configured rustflags for the wasm target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredFlags {
    pub key: FlagsKey,
    /// The flags cargo would use without the gate, in order.
    pub flags: Vec<String>,
    /// The config files they came from.
    pub files: Vec<PathBuf>,
}

/// Cargo's config files for a build run in `dir`, deepest first (highest
/// precedence first): `dir/.cargo/config.toml` and every parent's, then
/// `$CARGO_HOME/config.toml`.
pub fn discover(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut d = Some(dir);
    while let Some(x) = d {
        for name in ["config.toml", "config"] {
            let f = x.join(".cargo").join(name);
            if f.is_file() {
                out.push(f);
                break;
            }
        }
        d = x.parent();
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(h) = home {
        for name in ["config.toml", "config"] {
            let f = h.join(name);
            if f.is_file() && !out.contains(&f) {
                out.push(f);
                break;
            }
        }
    }
    out
}

/// `rustflags` as cargo accepts it: an array, or one space-separated string.
fn flag_list(v: &toml::Value) -> Vec<String> {
    match v {
        toml::Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        toml::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The configured rustflags for `target`, given the parsed config files
/// (deepest first) and the target's cfg set (`rustc --print cfg`).
pub fn configured_flags(
    files: &[(PathBuf, toml::Table)],
    target: &str,
    cfgs: &[(String, Option<String>)],
) -> ConfiguredFlags {
    let mut target_flags = Vec::new();
    let mut target_files = Vec::new();
    let mut build_flags = Vec::new();
    let mut build_files = Vec::new();
    // Joined with higher precedence later: walk from the lowest.
    for (path, t) in files.iter().rev() {
        if let Some(targets) = t.get("target").and_then(|v| v.as_table()) {
            for (k, v) in targets {
                let applies = k == target
                    || k.strip_prefix("cfg(")
                        .and_then(|r| r.strip_suffix(')'))
                        .map(|e| cfg_matches(e, cfgs))
                        .unwrap_or(false);
                if let (true, Some(f)) = (applies, v.get("rustflags")) {
                    target_flags.extend(flag_list(f));
                    target_files.push(path.clone());
                }
            }
        }
        if let Some(f) = t.get("build").and_then(|b| b.get("rustflags")) {
            build_flags.extend(flag_list(f));
            build_files.push(path.clone());
        }
    }
    if !target_files.is_empty() {
        ConfiguredFlags {
            key: FlagsKey::Target,
            flags: target_flags,
            files: target_files,
        }
    } else {
        ConfiguredFlags {
            key: FlagsKey::Build,
            flags: build_flags,
            files: build_files,
        }
    }
}

/// Evaluate a cfg expression (`all(..)`, `any(..)`, `not(..)`, `name`,
/// `name = "value"`) against a cfg set. Unparseable input never matches.
pub fn cfg_matches(expr: &str, cfgs: &[(String, Option<String>)]) -> bool {
    fn eval(s: &str, cfgs: &[(String, Option<String>)]) -> Option<bool> {
        let s = s.trim();
        for (op, all) in [("all(", true), ("any(", false)] {
            if let Some(inner) = s.strip_prefix(op).and_then(|r| r.strip_suffix(')')) {
                let parts = split_top(inner);
                let vals: Option<Vec<bool>> = parts
                    .iter()
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| eval(p, cfgs))
                    .collect();
                let vals = vals?;
                return Some(if all {
                    vals.iter().all(|&v| v)
                } else {
                    vals.iter().any(|&v| v)
                });
            }
        }
        if let Some(inner) = s.strip_prefix("not(").and_then(|r| r.strip_suffix(')')) {
            return eval(inner, cfgs).map(|v| !v);
        }
        match s.split_once('=') {
            Some((k, v)) => {
                let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
                Some(
                    cfgs.iter()
                        .any(|(ck, cv)| ck == k.trim() && cv.as_deref() == Some(v)),
                )
            }
            None => Some(cfgs.iter().any(|(ck, cv)| ck == s && cv.is_none())),
        }
    }
    fn split_top(s: &str) -> Vec<&str> {
        let (mut depth, mut start, mut out, mut quoted) = (0, 0, Vec::new(), false);
        for (i, c) in s.char_indices() {
            match c {
                '"' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => depth -= 1,
                ',' if !quoted && depth == 0 => {
                    out.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.push(&s[start..]);
        out
    }
    eval(expr, cfgs).unwrap_or(false)
}

/// Parse `rustc --print cfg` output.
pub fn parse_cfgs(text: &str) -> Vec<(String, Option<String>)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (
                k.trim().to_string(),
                Some(v.trim().trim_matches('"').to_string()),
            ),
            None => (l.trim().to_string(), None),
        })
        .collect()
}

/// The `[profile.*]` tables of a workspace root manifest.
pub fn manifest_profiles(manifest: &toml::Table) -> BTreeMap<String, toml::Table> {
    manifest
        .get("profile")
        .and_then(|p| p.as_table())
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| v.as_table().map(|v| (k.clone(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// Cargo's built-in profiles (defined without a manifest entry).
pub const BUILTIN_PROFILES: &[&str] = &["dev", "release", "test", "bench"];

/// Follow `inherits` from `name` through the manifest's profiles and
/// return the first value of `key`, with the profile that set it. `extra`
/// (the gate's own `--config` settings for `name`) wins over the manifest.
pub fn inherited<'a>(
    profiles: &'a BTreeMap<String, toml::Table>,
    extra: &'a BTreeMap<String, toml::Value>,
    name: &str,
    key: &str,
) -> Option<(String, &'a toml::Value)> {
    if let Some(v) = extra.get(key) {
        return Some((name.to_string(), v));
    }
    let mut cur = name.to_string();
    let mut inherits_from_extra = extra
        .get("inherits")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    for _ in 0..16 {
        let t = profiles.get(&cur);
        if let Some(v) = t.and_then(|t| t.get(key)) {
            return Some((cur, v));
        }
        let next = inherits_from_extra
            .take()
            .or_else(|| {
                t.and_then(|t| t.get("inherits"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
            .or_else(|| match cur.as_str() {
                "test" => Some("dev".to_string()),
                "bench" => Some("release".to_string()),
                _ => None,
            })?;
        cur = next;
    }
    None
}

/// Does a `strip` value remove the name section?
pub fn strips_symbols(v: &toml::Value) -> bool {
    matches!(v, toml::Value::Boolean(true)) || v.as_str() == Some("symbols")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wasm_cfgs() -> Vec<(String, Option<String>)> {
        parse_cfgs("panic=\"abort\"\ntarget_arch=\"wasm32\"\ntarget_family=\"wasm\"\ntarget_os=\"unknown\"\ntarget_pointer_width=\"32\"\n")
    }

    fn table(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn cfg_expressions() {
        let c = wasm_cfgs();
        assert!(cfg_matches("target_arch = \"wasm32\"", &c));
        assert!(cfg_matches(
            "all(target_family = \"wasm\", not(target_os = \"linux\"))",
            &c
        ));
        assert!(!cfg_matches("target_os = \"linux\"", &c));
        assert!(cfg_matches("any(unix, target_arch=\"wasm32\")", &c));
        assert!(!cfg_matches("unix", &c));
        assert!(!cfg_matches("all(", &c));
    }

    #[test]
    fn flags_join_under_the_key_cargo_uses() {
        let c = wasm_cfgs();
        let deep = (
            PathBuf::from("/p/sub/.cargo/config.toml"),
            table("[build]\nrustflags = [\"--cfg\", \"deep\"]\n"),
        );
        let top = (
            PathBuf::from("/p/.cargo/config.toml"),
            table("[build]\nrustflags = \"-C opt\"\n"),
        );
        let got = configured_flags(&[deep.clone(), top.clone()], "wasm32-unknown-unknown", &c);
        assert_eq!(got.key, FlagsKey::Build);
        // Lower precedence first, as cargo joins them.
        assert_eq!(got.flags, ["-C", "opt", "--cfg", "deep"]);
        // A matching target entry wins over build.rustflags altogether.
        let tgt = (PathBuf::from("/p/.cargo/config.toml"), table("[target.'cfg(target_arch = \"wasm32\")']\nrustflags = [\"--cfg\", \"t\"]\n[target.x86_64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"native\"]\n"));
        let got = configured_flags(&[deep.clone(), tgt], "wasm32-unknown-unknown", &c);
        assert_eq!(
            (got.key, got.flags),
            (FlagsKey::Target, vec!["--cfg".to_string(), "t".to_string()])
        );
        // An entry for another target leaves build.rustflags in charge.
        let native = (
            PathBuf::from("/p/.cargo/config.toml"),
            table("[target.'cfg(target_os = \"linux\")']\nrustflags = [\"--cfg\", \"native\"]\n"),
        );
        let got = configured_flags(&[deep, native], "wasm32-unknown-unknown", &c);
        assert_eq!(
            (got.key, got.flags),
            (
                FlagsKey::Build,
                vec!["--cfg".to_string(), "deep".to_string()]
            )
        );
    }

    #[test]
    fn inherited_strip_is_found_through_the_chain() {
        let m = table("[profile.release]\nstrip = \"symbols\"\n[profile.wasm-min]\ninherits = \"release\"\nopt-level = \"z\"\n");
        let profiles = manifest_profiles(&m);
        let none = BTreeMap::new();
        let (from, v) = inherited(&profiles, &none, "wasm-min", "strip").unwrap();
        assert_eq!(from, "release");
        assert!(strips_symbols(v));
        // The gate's own settings win; an undefined profile inherits what
        // they name.
        let extra: BTreeMap<String, toml::Value> = [(
            "inherits".to_string(),
            toml::Value::String("release".into()),
        )]
        .into();
        assert_eq!(
            inherited(&profiles, &extra, "gate-only", "strip")
                .unwrap()
                .0,
            "release"
        );
        assert!(inherited(&profiles, &none, "wasm-min", "lto").is_none());
    }
}
