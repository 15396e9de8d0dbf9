//! The docs name the code as it is: docs/ARCHITECTURE.md's module map lists
//! every module of the crate and no module that is gone, and every file it
//! names exists.

use super::common::root;
use std::path::{Path, PathBuf};

/// Every file and directory of the repository, as paths relative to it
/// (`target/` and `.git/` left out).
fn repository_paths() -> Vec<String> {
    let top = root();
    let mut out = Vec::new();
    let mut stack = vec![top.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(&top).unwrap().display().to_string();
            if rel == "target" || rel == ".git" || rel.ends_with("/target") {
                continue;
            }
            if p.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(p);
            } else {
                out.push(rel);
            }
        }
    }
    out
}

/// `a/{b,c}.rs` -> `a/b.rs`, `a/c.rs`.
fn expand(name: &str) -> Vec<String> {
    match (name.find('{'), name.find('}')) {
        (Some(i), Some(j)) if i < j => name[i + 1..j]
            .split(',')
            .map(|alt| format!("{}{alt}{}", &name[..i], &name[j + 1..]))
            .collect(),
        _ => vec![name.to_string()],
    }
}

fn module_exists(src: &Path, m: &str) -> bool {
    let m = m.trim_end_matches('/');
    src.join(format!("{m}.rs")).is_file() || src.join(m).join("mod.rs").is_file()
}

#[test]
fn the_architecture_names_every_module_and_only_files_that_exist() {
    let text = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let src: PathBuf = root().join("xtask/src");

    // The layer diagram: per line, the modules, then their description
    // (columns are two or more spaces apart).
    let start = text.find("## Module map").unwrap();
    let block = text[start..].split("```").nth(1).unwrap();
    let mut mapped = Vec::new();
    for line in block.lines() {
        for part in line.split("  ").map(str::trim).filter(|p| !p.is_empty()) {
            for m in part.split(", ").flat_map(expand) {
                let m = m.trim_end_matches(".rs");
                if m.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '/')
                {
                    mapped.push(m.to_string());
                }
            }
        }
    }
    for m in &mapped {
        assert!(
            module_exists(&src, m),
            "the module map names `{m}`, which is not a module"
        );
    }
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for m in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
        let m = m.trim_end_matches(';');
        assert!(
            mapped
                .iter()
                .any(|x| x.trim_end_matches('/') == m || x.starts_with(&format!("{m}/"))),
            "module `{m}` is missing from docs/ARCHITECTURE.md's module map"
        );
    }

    // Every file it names (`x.rs`, `dir/`, `a/{b,c}.js`) is in the
    // repository; output files (reports/, report.html) are not.
    let paths = repository_paths();
    let mut names = 0;
    for name in text.split('`').skip(1).step_by(2) {
        let file_like = [".rs", ".js", ".html", "/"]
            .iter()
            .any(|s| name.ends_with(s));
        if !file_like || name.contains(' ') || name.starts_with("reports/") || name == "report.html"
        {
            continue;
        }
        for n in expand(name) {
            let n = n.trim_start_matches("./");
            let found = if n.contains('*') {
                let (head, tail) = n.split_once('*').unwrap();
                paths
                    .iter()
                    .any(|p| p.starts_with(head) && p.ends_with(tail))
            } else {
                paths
                    .iter()
                    .any(|p| p == n || p.ends_with(&format!("/{n}")))
            };
            assert!(
                found,
                "docs/ARCHITECTURE.md names `{n}`, which is not in the repository"
            );
            names += 1;
        }
    }
    assert!(
        names > 40,
        "only {names} file names read: the parse is wrong"
    );
}
