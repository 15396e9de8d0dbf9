//! Built-in scenarios: the three measurements most crates would otherwise
//! write the same JavaScript for (cold init, one call's latency, the heap
//! after N calls), driven by data in `budgets.toml` instead of code.
//!
//! A metric with `source = "builtin:<kind>"` names the exports to call:
//!
//! ```toml
//! source = "builtin:call"
//! setup = { new = "Store", args = [16] }      # untimed; its result is the handle
//! call = { method = "insert", args = ["$i", "budget"] }
//! teardown = { method = "free" }
//! ```
//!
//! A call names exactly one of `export` (a function of the module, or of
//! the wasm-bindgen glue), `method` (a method of the handle the setup call
//! returned) or `new` (a wasm-bindgen class to construct). Arguments are
//! data; four strings are replaced per call: `"$seed"` (the run's seed),
//! `"$i"` (the call's index in the run), `"$handle"` (what the setup call
//! returned, for an API of free functions over a handle) and, in
//! `builtin:call` only, `"$n"`: the export runs `$n` operations itself, so
//! one sample times one call of it and records the mean per operation.
//!
//! This module validates that data into the JSON the harness hands the
//! built-in's ES module as `h.params`, and holds the modules themselves
//! (`xtask/harness/builtin/*.js`). It has no dependency on the rest of the
//! gate: `config` calls it and turns its errors into located ones.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// The built-in kinds, as `source = "builtin:<name>"` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    ColdInit,
    Call,
    Heap,
    /// The crate's own `#[wasm_bindgen_test]` functions, run as written:
    /// a timing times one pass over them, a heap metric soaks passes.
    Tests,
}

impl Builtin {
    pub const ALL: [Builtin; 4] = [
        Builtin::ColdInit,
        Builtin::Call,
        Builtin::Heap,
        Builtin::Tests,
    ];

    /// As `builtin:<name>` spells it (and the module's file name).
    pub fn name(self) -> &'static str {
        match self {
            Builtin::ColdInit => "cold-init",
            Builtin::Call => "call",
            Builtin::Heap => "heap",
            Builtin::Tests => "tests",
        }
    }

    pub fn parse(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The built-in a scenario source names (`builtin:cold-init`), if any.
    pub fn of(source: &str) -> Option<Builtin> {
        Builtin::parse(source.strip_prefix(PREFIX)?)
    }

    /// Every kind, as a source names it: `builtin:cold-init, builtin:call, ...`.
    pub fn spelled_all() -> String {
        Builtin::ALL
            .iter()
            .map(|b| format!("{PREFIX}{}", b.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Import providers a raw-export crate's imported functions can be given.
pub const PROVIDERS: &[&str] = &["now", "zero"];

/// The ES modules, served at `/builtin/<name>.js` (`common.js` is what the
/// others share).
pub const MODULES: &[(&str, &str)] = &[
    ("cold-init", include_str!("../harness/builtin/cold-init.js")),
    ("call", include_str!("../harness/builtin/call.js")),
    ("heap", include_str!("../harness/builtin/heap.js")),
    ("tests", include_str!("../harness/builtin/tests.js")),
    ("common", include_str!("../harness/builtin/common.js")),
    // `cargo xtask init`'s probe of the candidate calls (not a kind).
    ("probe", include_str!("../harness/builtin/probe.js")),
];

/// The units of a built-in's heap figure, and of its times.
const HEAP_UNITS: [&str; 3] = ["bytes", "KiB", "MiB"];
const TIME_UNITS: [&str; 2] = ["ms", "us"];

/// The prefix of a built-in's scenario name (`builtin:call`).
pub const PREFIX: &str = "builtin:";

/// The module source of a built-in scenario name (`builtin:call`), if it is one.
pub fn module(scenario: &str) -> Option<&'static str> {
    let kind = scenario.strip_prefix(PREFIX)?;
    MODULES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, src)| *src)
}

/// One call, as budgets.toml writes it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// A function export (of the module, or of the wasm-bindgen glue).
    #[serde(default)]
    pub export: Option<String>,
    /// A method of the handle the setup call returned.
    #[serde(default)]
    pub method: Option<String>,
    /// A wasm-bindgen class to construct (`new Class(...args)`).
    #[serde(default, rename = "new")]
    pub construct: Option<String>,
    /// In a soak: the class (of a `new` entry before it) whose instance a
    /// `method` is called on.
    #[serde(default)]
    pub on: Option<String>,
    /// Arguments: numbers, strings, booleans (and `"$seed"`, `"$i"`,
    /// `"$handle"`, `"$n"`).
    #[serde(default)]
    pub args: Vec<toml::Value>,
}

/// `builtin:tests`: which of the crate's `#[wasm_bindgen_test]` functions
/// one pass runs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestsSpec {
    /// The test target: `lib` (the library's own unit tests) or the name
    /// of a file under `tests/` (`tests/browser.rs` is `browser`).
    pub target: String,
    /// The tests one pass runs, by name (`module::test`); empty: every
    /// test the target has that is not `#[ignore]`d.
    #[serde(default)]
    pub only: Vec<String>,
}

/// The built-in keys of one `[[metric]]`.
#[derive(Debug, Default)]
pub struct Keys<'a> {
    pub call: Option<&'a Spanned<CallSpec>>,
    pub setup: Option<&'a Spanned<CallSpec>>,
    pub teardown: Option<&'a Spanned<CallSpec>>,
    pub imports: Option<&'a Spanned<BTreeMap<String, String>>>,
    pub soak: Option<&'a Spanned<Vec<CallSpec>>>,
    pub tests: Option<&'a Spanned<TestsSpec>>,
}

impl Keys<'_> {
    /// The keys that name calls (and a raw module's imports), each given
    /// with the span of its value, in budgets.toml's order.
    pub fn call_keys(&self) -> Vec<(&'static str, Range<usize>)> {
        [
            ("call", self.call.map(|c| c.span())),
            ("setup", self.setup.map(|c| c.span())),
            ("teardown", self.teardown.map(|c| c.span())),
            ("imports", self.imports.map(|c| c.span())),
            ("soak", self.soak.map(|c| c.span())),
        ]
        .into_iter()
        .filter_map(|(k, s)| Some((k, s?)))
        .collect()
    }
}

/// What is wrong, and where: the key (relative to the metric), the span of
/// the value, what is wrong and what would be valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub span: Range<usize>,
    pub message: String,
    pub hint: String,
}

fn problem(
    key: &str,
    span: Range<usize>,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Problem {
    Problem {
        key: key.into(),
        span,
        message: message.into(),
        hint: hint.into(),
    }
}

/// Validate a built-in metric: its kind, its unit and its calls. `span` is
/// the metric's `source` value. Returns the parameters the harness hands
/// the module as `h.params`.
pub fn params(
    kind: &str,
    unit: &str,
    span: Range<usize>,
    keys: &Keys,
) -> Result<serde_json::Value, Problem> {
    let b = check_kind_and_unit(kind, unit, &span)?;
    if b == Builtin::Tests || keys.tests.is_some() {
        return tests_params(b, unit, span, keys);
    }
    if let Some(soak) = keys.soak.filter(|_| b != Builtin::Heap) {
        return Err(problem(
            "soak",
            soak.span(),
            format!("`soak` is for `{PREFIX}heap`, not `{PREFIX}{kind}`"),
            "source = \"builtin:heap\", or drop the key",
        ));
    }
    let has_setup = keys.setup.is_some();
    if b == Builtin::ColdInit {
        for (name, k) in [("setup", keys.setup), ("teardown", keys.teardown)] {
            if let Some(k) = k {
                return Err(problem(name, k.span(), format!("`{PREFIX}cold-init` takes no {name}: it times one call after instantiating"), "call = { export = \"init\" } or call = { new = \"Class\" }, or no call"));
            }
        }
    } else if keys.call.is_none() && !(b == Builtin::Heap && keys.soak.is_some()) {
        return Err(problem(
            "call",
            span,
            format!("`{PREFIX}{kind}` needs the export to call"),
            "call = { export = \"name\", args = [...] }, or { method = \"name\" } with a setup",
        ));
    }
    let mut out = serde_json::Map::new();
    out.insert("kind".into(), kind.into());
    let call_allowed = if b == Builtin::ColdInit {
        "export, new"
    } else {
        "export, method (with a setup)"
    };
    let roles = [
        ("setup", keys.setup, "export, new"),
        ("call", keys.call, call_allowed),
        ("teardown", keys.teardown, "export, method (with a setup)"),
    ];
    for (role, spec, allowed) in roles {
        let Some(spec) = spec else { continue };
        let ctx = Ctx {
            role,
            kind: b,
            has_setup,
            span: spec.span(),
        };
        out.insert(role.into(), ctx.call(spec.get_ref(), allowed, &[])?);
    }
    if let Some(soak) = keys.soak {
        out.insert("soak".into(), soak_params(b, has_setup, soak)?);
    }
    if let Some(imports) = keys.imports {
        check_imports(imports)?;
        out.insert(
            "imports".into(),
            serde_json::to_value(imports.get_ref()).expect("strings"),
        );
    }
    Ok(serde_json::Value::Object(out))
}

fn check_kind_and_unit(kind: &str, unit: &str, span: &Range<usize>) -> Result<Builtin, Problem> {
    let Some(b) = Builtin::parse(kind) else {
        return Err(problem(
            "source",
            span.clone(),
            format!("unknown built-in scenario `{PREFIX}{kind}`"),
            Builtin::spelled_all(),
        ));
    };
    let heap = b == Builtin::Heap;
    if b == Builtin::Tests {
        // A pass is timed, or soaked for the heap: the unit says which.
        if TIME_UNITS.contains(&unit) || HEAP_UNITS.contains(&unit) {
            return Ok(b);
        }
        return Err(problem(
            "unit",
            span.clone(),
            format!("`{PREFIX}tests` records a pass's time or the heap, not `{unit}`"),
            "ms or us (one pass), or bytes, KiB, MiB (the heap after passes)",
        ));
    }
    let unit_ok = if heap {
        HEAP_UNITS.contains(&unit)
    } else {
        TIME_UNITS.contains(&unit)
    };
    if unit_ok {
        return Ok(b);
    }
    Err(problem(
        "unit",
        span.clone(),
        format!(
            "`{PREFIX}{kind}` records {}, not `{unit}`",
            if heap { "bytes" } else { "times" }
        ),
        if heap {
            "bytes, KiB or MiB"
        } else {
            "ms or us"
        },
    ))
}

/// `builtin:tests`: the test target and the tests of a pass; none of the
/// call keys, which name exports the tests do not need.
fn tests_params(
    b: Builtin,
    unit: &str,
    span: Range<usize>,
    keys: &Keys,
) -> Result<serde_json::Value, Problem> {
    let Some(tests) = keys.tests.filter(|_| b == Builtin::Tests) else {
        return match keys.tests {
            Some(t) => Err(problem(
                "tests",
                t.span(),
                format!("`tests` is for `{PREFIX}tests`"),
                "source = \"builtin:tests\", or drop the key",
            )),
            None => Err(problem(
                "tests",
                span,
                format!("`{PREFIX}tests` needs the test target whose tests it runs"),
                "tests = { target = \"lib\" } (unit tests) or { target = \"web\" } (tests/web.rs)",
            )),
        };
    };
    if let Some((k, at)) = keys.call_keys().into_iter().next() {
        return Err(problem(
            k,
            at,
            format!("`{PREFIX}tests` runs the crate's tests as written; it takes no `{k}`"),
            "drop the key",
        ));
    }
    let t = tests.get_ref();
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if t.target.is_empty() || !t.target.chars().all(plain) {
        return Err(problem(
            "tests.target",
            tests.span(),
            format!("`{}` is not a test target's name", t.target),
            "lib, or the stem of a file under tests/",
        ));
    }
    if let Some(dup) = t
        .only
        .iter()
        .enumerate()
        .find(|(i, n)| t.only[..*i].contains(n))
    {
        return Err(problem(
            "tests.only",
            tests.span(),
            format!("`{}` is listed twice", dup.1),
            "each test once",
        ));
    }
    let heap = HEAP_UNITS.contains(&unit);
    Ok(serde_json::json!({
        "kind": "tests",
        "heap": heap,
        "tests": { "target": t.target, "only": t.only },
    }))
}

/// `soak`: the calls one operation of `builtin:heap` makes, each once, in a
/// seeded order. A `new` entry constructs its class once (untimed, before
/// the warm-up); a `method` entry names that class with `on`, or uses the
/// setup's handle.
fn soak_params(
    kind: Builtin,
    has_setup: bool,
    soak: &Spanned<Vec<CallSpec>>,
) -> Result<serde_json::Value, Problem> {
    if !soak.get_ref().iter().any(|c| c.construct.is_none()) {
        return Err(problem(
            "soak",
            soak.span(),
            "a soak needs at least one call besides its constructors",
            "soak = [{ new = \"Class\" }, { method = \"name\", on = \"Class\" }]",
        ));
    }
    let mut classes: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (i, spec) in soak.get_ref().iter().enumerate() {
        let role = format!("soak[{i}]");
        let ctx = Ctx {
            role: &role,
            kind,
            has_setup,
            span: soak.span(),
        };
        out.push(ctx.call(spec, "export, new, method (with on, or a setup)", &classes)?);
        if let Some(c) = &spec.construct {
            classes.push(c);
        }
    }
    Ok(serde_json::Value::Array(out))
}

fn check_imports(imports: &Spanned<BTreeMap<String, String>>) -> Result<(), Problem> {
    for (name, provider) in imports.get_ref() {
        if !name.contains('.') {
            return Err(problem(
                &format!("imports.{name}"),
                imports.span(),
                format!("`{name}` is not `module.name`"),
                "\"env.now_ms\" = \"now\"",
            ));
        }
        if !PROVIDERS.contains(&provider.as_str()) {
            return Err(problem(
                &format!("imports.{name}"),
                imports.span(),
                format!("unknown import provider `{provider}`"),
                "now (performance.now()), zero (returns 0)",
            ));
        }
    }
    Ok(())
}

/// Where a call sits, for its validation and its errors.
struct Ctx<'a> {
    /// `setup`, `call`, `teardown` or `soak[i]`.
    role: &'a str,
    kind: Builtin,
    has_setup: bool,
    span: Range<usize>,
}

impl Ctx<'_> {
    fn err(&self, key: &str, message: impl Into<String>, hint: impl Into<String>) -> Problem {
        problem(key, self.span.clone(), message, hint)
    }

    /// One call: it names exactly one of export, method or new (one of
    /// `allowed`); a method has a handle (`on`, one of `classes`, in a soak;
    /// else the setup's); its arguments are literals or placeholders.
    fn call(
        &self,
        s: &CallSpec,
        allowed: &str,
        classes: &[&str],
    ) -> Result<serde_json::Value, Problem> {
        let (role, kind) = (self.role, self.kind.name());
        let soak = role.starts_with("soak");
        let named: Vec<(&str, &String)> = [
            ("export", &s.export),
            ("method", &s.method),
            ("new", &s.construct),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        let [(how, name)] = named[..] else {
            let names = named.iter().map(|(k, _)| *k).collect::<Vec<_>>();
            return Err(self.err(
                role,
                format!(
                    "a call names exactly one of export, method or new; this one names {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(" and ")
                    }
                ),
                allowed,
            ));
        };
        if !allowed.split(", ").any(|a| a.starts_with(how)) {
            return Err(self.err(
                &format!("{role}.{how}"),
                format!("a {role} call cannot be `{how}` in `{PREFIX}{kind}`"),
                allowed,
            ));
        }
        if let Some(on) = &s.on {
            if !soak || how != "method" {
                return Err(self.err(
                    &format!("{role}.on"),
                    "`on` names the class of a soak's method",
                    "soak = [{ new = \"Class\" }, { method = \"name\", on = \"Class\" }]",
                ));
            }
            if !classes.contains(&on.as_str()) {
                return Err(self.err(
                    &format!("{role}.on"),
                    format!("no `new = {on:?}` entry before this one constructs `{on}`"),
                    "a { new = \"Class\" } entry earlier in the soak",
                ));
            }
        } else if how == "method" && !self.has_setup {
            return Err(self.err(
                &format!("{role}.method"),
                "a method needs a handle: add a setup call that returns it",
                if soak {
                    "on = \"Class\" (a `new` entry of the soak), or setup = { export = \"create\" }"
                } else {
                    "setup = { new = \"Class\" } or setup = { export = \"create\" }"
                },
            ));
        }
        if name.is_empty() {
            return Err(self.err(
                &format!("{role}.{how}"),
                "empty name",
                "the name of an export, method or class",
            ));
        }
        let args = self.args(&s.args)?;
        let mut v = serde_json::json!({ how: name, "args": args });
        if let Some(on) = &s.on {
            v["on"] = on.as_str().into();
        }
        Ok(v)
    }

    fn args(&self, args: &[toml::Value]) -> Result<Vec<serde_json::Value>, Problem> {
        let (role, kind) = (self.role, self.kind);
        let mut out = Vec::new();
        let mut batched = false;
        for (i, a) in args.iter().enumerate() {
            let key = format!("{role}.args[{i}]");
            match a {
                toml::Value::String(t) if t.starts_with('$') => match t.as_str() {
                    "$seed" | "$i" => {}
                    "$handle" if self.has_setup && role != "setup" => {}
                    "$handle" => return Err(self.err(&key, "`$handle` is what the setup call returned: it needs a setup, and the setup cannot use it", "setup = { export = \"create\" }, then \"$handle\" in the call's or teardown's args")),
                    "$n" if kind == Builtin::Call && role == "call" && !batched => batched = true,
                    "$n" => return Err(self.err(&key, "`$n` (the export runs $n operations itself) is for the call of `builtin:call`, once", "\"$seed\", \"$i\", or a literal")),
                    other => return Err(self.err(&key, format!("unknown placeholder `{other}`"), "\"$seed\", \"$i\", \"$handle\", \"$n\" (builtin:call only), or a literal")),
                },
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::String(_) | toml::Value::Boolean(_) => {}
                other => return Err(self.err(&key, format!("an argument must be a number, string or boolean, found {}", other.type_str()), "a number, string or boolean literal")),
            }
            out.push(serde_json::to_value(a).expect("a toml scalar is JSON"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(src: &str) -> Spanned<CallSpec> {
        #[derive(Deserialize)]
        struct W {
            c: Spanned<CallSpec>,
        }
        toml::from_str::<W>(&format!("c = {src}")).unwrap().c
    }

    #[test]
    fn a_handle_api_validates_into_the_params_the_module_reads() {
        let (s, c, t) = (
            call(r#"{ new = "Store", args = [16] }"#),
            call(r#"{ method = "insert", args = ["$i", "x", 1.5, true] }"#),
            call(r#"{ method = "free" }"#),
        );
        let keys = Keys {
            setup: Some(&s),
            call: Some(&c),
            teardown: Some(&t),
            ..Keys::default()
        };
        let p = params("heap", "MiB", 0..1, &keys).unwrap();
        assert_eq!(
            p,
            serde_json::json!({"kind": "heap", "setup": {"new": "Store", "args": [16]}, "call": {"method": "insert", "args": ["$i", "x", 1.5, true]}, "teardown": {"method": "free", "args": []}})
        );
    }

    #[test]
    fn the_crates_tests_validate_into_a_target_and_a_list() {
        #[derive(Deserialize)]
        struct W {
            t: Spanned<TestsSpec>,
        }
        let spec = |src: &str| toml::from_str::<W>(&format!("t = {src}")).unwrap().t;
        let t = spec(r#"{ target = "web", only = ["a::x", "b::y"] }"#);
        let keys = Keys {
            tests: Some(&t),
            ..Keys::default()
        };
        // The unit says whether a pass is timed or soaked for the heap.
        assert_eq!(
            params("tests", "ms", 0..1, &keys).unwrap(),
            serde_json::json!({"kind": "tests", "heap": false, "tests": {"target": "web", "only": ["a::x", "b::y"]}})
        );
        assert_eq!(params("tests", "KiB", 0..1, &keys).unwrap()["heap"], true);
        let e = params("tests", "%", 0..1, &keys).unwrap_err();
        assert_eq!(e.key, "unit");
        // No target; a target that is not a name; a test listed twice.
        let none = params("tests", "ms", 0..1, &Keys::default()).unwrap_err();
        assert!(
            none.key == "tests" && none.hint.contains("target = \"lib\""),
            "{none:?}"
        );
        let with = |kind: &str, tests: &Spanned<TestsSpec>, call: Option<&Spanned<CallSpec>>| {
            let keys = Keys {
                tests: Some(tests),
                call,
                ..Keys::default()
            };
            params(kind, "ms", 0..1, &keys).unwrap_err()
        };
        let e = with("tests", &spec(r#"{ target = "../x" }"#), None);
        assert_eq!(e.key, "tests.target");
        let e = with(
            "tests",
            &spec(r#"{ target = "web", only = ["a", "a"] }"#),
            None,
        );
        assert!(e.message.contains("`a` is listed twice"), "{e:?}");
        // The call keys do not belong to it, and `tests` to no other kind.
        let c = call(r#"{ export = "f" }"#);
        let e = with("tests", &t, Some(&c));
        assert!(
            e.key == "call" && e.message.contains("takes no `call`"),
            "{e:?}"
        );
        let e = with("call", &t, Some(&c));
        assert!(
            e.key == "tests" && e.message.contains("builtin:tests"),
            "{e:?}"
        );
    }

    #[test]
    fn misuses_name_the_key_and_what_is_valid() {
        let m = call(r#"{ method = "insert" }"#);
        let e = params(
            "call",
            "us",
            0..1,
            &Keys {
                call: Some(&m),
                ..Keys::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.message.as_str()),
            (
                "call.method",
                "a method needs a handle: add a setup call that returns it"
            )
        );
        let both = call(r#"{ export = "a", new = "B" }"#);
        let e = params(
            "call",
            "us",
            0..1,
            &Keys {
                call: Some(&both),
                ..Keys::default()
            },
        )
        .unwrap_err();
        assert!(e.message.contains("names export and new"), "{e:?}");
        let e = params(
            "heap",
            "ms",
            0..1,
            &Keys {
                call: Some(&call(r#"{ export = "a" }"#)),
                ..Keys::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.hint.as_str()),
            ("unit", "bytes, KiB or MiB")
        );
        let e = params("call", "us", 0..1, &Keys::default()).unwrap_err();
        assert_eq!(e.key, "call");
        let e = params("cold", "ms", 0..1, &Keys::default()).unwrap_err();
        assert!(
            e.message
                .contains("unknown built-in scenario `builtin:cold`")
                && e.hint.contains("builtin:cold-init"),
            "{e:?}"
        );
        let n = call(r#"{ export = "f", args = ["$n"] }"#);
        let e = params(
            "heap",
            "KiB",
            0..1,
            &Keys {
                call: Some(&n),
                ..Keys::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.key, "call.args[0]");
        assert!(params(
            "call",
            "us",
            0..1,
            &Keys {
                call: Some(&n),
                ..Keys::default()
            }
        )
        .is_ok());
        let s = call(r#"{ export = "create" }"#);
        let e = params(
            "cold-init",
            "ms",
            0..1,
            &Keys {
                setup: Some(&s),
                ..Keys::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.key, "setup");
        let h = call(r#"{ export = "push", args = ["$handle", 1] }"#);
        let e = params(
            "call",
            "us",
            0..1,
            &Keys {
                call: Some(&h),
                ..Keys::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.key, "call.args[0]");
        assert!(params(
            "call",
            "us",
            0..1,
            &Keys {
                setup: Some(&call(r#"{ export = "create" }"#)),
                call: Some(&h),
                ..Keys::default()
            }
        )
        .is_ok());
        let odd = call(r#"{ export = "f", args = ["$j"] }"#);
        let e = params(
            "call",
            "us",
            0..1,
            &Keys {
                call: Some(&odd),
                ..Keys::default()
            },
        )
        .unwrap_err();
        assert!(e.message.contains("unknown placeholder `$j`"), "{e:?}");
    }

    fn soak(src: &str) -> Spanned<Vec<CallSpec>> {
        #[derive(Deserialize)]
        struct W {
            s: Spanned<Vec<CallSpec>>,
        }
        toml::from_str::<W>(&format!("s = {src}")).unwrap().s
    }

    #[test]
    fn a_soak_constructs_its_classes_once_and_calls_their_methods_on_them() {
        let s = soak(
            r#"[{ new = "Ledger", args = [1] }, { method = "append", on = "Ledger", args = ["$i"] }, { export = "stats" }]"#,
        );
        let keys = Keys {
            soak: Some(&s),
            ..Keys::default()
        };
        let p = params("heap", "MiB", 0..1, &keys).unwrap();
        assert_eq!(
            p["soak"],
            serde_json::json!([{"new": "Ledger", "args": [1]}, {"method": "append", "on": "Ledger", "args": ["$i"]}, {"export": "stats", "args": []}])
        );
        assert!(p.get("call").is_none());
        // Errors name the entry and what would be valid.
        let e = |src: &str, kind: &str| {
            let s = soak(src);
            params(
                kind,
                if kind == "heap" { "MiB" } else { "us" },
                0..1,
                &Keys {
                    soak: Some(&s),
                    ..Keys::default()
                },
            )
            .unwrap_err()
        };
        let x = e(r#"[{ method = "append", on = "Ledger" }]"#, "heap");
        assert_eq!(x.key, "soak[0].on");
        assert!(x.message.contains("no `new = \"Ledger\"` entry"), "{x:?}");
        let x = e(r#"[{ method = "append" }]"#, "heap");
        assert_eq!(x.key, "soak[0].method");
        let x = e(r#"[{ new = "Ledger" }]"#, "heap");
        assert!(x.message.contains("at least one call"), "{x:?}");
        let x = e(r#"[{ export = "f" }]"#, "call");
        assert_eq!(
            (x.key.as_str(), x.hint.as_str()),
            ("soak", "source = \"builtin:heap\", or drop the key")
        );
        let x = e(r#"[{ export = "f", on = "A" }]"#, "heap");
        assert_eq!(x.key, "soak[0].on");
    }

    #[test]
    fn every_kind_has_a_module() {
        for b in Builtin::ALL {
            assert!(
                module(&format!("{PREFIX}{}", b.name()))
                    .is_some_and(|m| m.contains("export default")),
                "{b:?}"
            );
            assert_eq!(Builtin::parse(b.name()), Some(b));
        }
        assert!(module("builtin:nope").is_none() && module("cold-init").is_none());
    }
}
