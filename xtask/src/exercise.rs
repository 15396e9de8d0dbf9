//! Which calls exercise a crate's API: the candidates `cargo xtask init`
//! tries in the browser (every function and method it can call with
//! literal arguments), and what it keeps from what the probe found: the
//! soak that `builtin:heap` runs (every call that did not throw), and the
//! call `builtin:call` times (the slowest that changed the module's state).
//! Pure: tested on fixed probe findings; `cmd/probe.rs` runs the probe.

use crate::api::{error_like, init_like, literal_args, Callable, Export, ParamType};
use serde::Deserialize;
use std::collections::BTreeMap;

/// How a call names what it calls (budgets.toml's key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Export,
    Method,
    New,
}

impl How {
    fn key(self) -> &'static str {
        match self {
            How::Export => "export",
            How::Method => "method",
            How::New => "new",
        }
    }
}

/// One call of the built-ins: what budgets.toml writes, and what the
/// probe runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub how: How,
    pub name: String,
    /// A method's class (its instance is the handle).
    pub on: Option<String>,
    /// Literal texts, the same in TOML and JSON: `1`, `"budget"`, `true`,
    /// `"$handle"`.
    pub args: Vec<String>,
}

impl Call {
    /// The inline table budgets.toml writes; `with_on`: name the class
    /// (a soak's entries), or not (a call whose handle is the setup's).
    pub fn toml(&self, with_on: bool) -> String {
        let mut s = format!("{{ {} = {:?}", self.how.key(), self.name);
        if let (true, Some(on)) = (with_on, &self.on) {
            s += &format!(", on = {on:?}");
        }
        if !self.args.is_empty() {
            s += &format!(", args = [{}]", self.args.join(", "));
        }
        s + " }"
    }

    /// The call as the harness reads it (`h.params`).
    pub fn json(&self) -> serde_json::Value {
        let args: Vec<serde_json::Value> = self
            .args
            .iter()
            .map(|a| serde_json::from_str(a).expect("literal texts are JSON"))
            .collect();
        let mut v = serde_json::json!({ self.how.key(): self.name, "args": args });
        if let Some(on) = &self.on {
            v["on"] = on.as_str().into();
        }
        v
    }

    /// How a report names it: `Ledger.append(1)`, `new Ledger()`, `stats()`.
    pub fn spelled(&self) -> String {
        let args = self.args.join(", ");
        match (self.how, &self.on) {
            (How::New, _) => format!("new {}({args})", self.name),
            (How::Method, Some(c)) => format!("{c}.{}({args})", self.name),
            _ => format!("{}({args})", self.name),
        }
    }
}

/// A call that ends a handle's life: never part of an operation.
fn destroys(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "free", "destroy", "dispose", "drop", "close", "delete", "shutdown",
    ]
    .iter()
    .any(|w| n == *w || n.ends_with(&format!("_{w}")))
        || n.starts_with("__")
        || ["tostring", "tojson"].contains(&n.as_str())
}

/// A parameter name that says "what the factory returned": `rt`,
/// `runtime`, `handle`, `ctx`, `id`, `store_id`, `scopeHandle`.
fn handle_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "rt", "runtime", "handle", "ctx", "context", "id", "ptr", "h", "this", "self_",
    ]
    .contains(&n.as_str())
        || ["handle", "_id", "id", "_rt", "ptr"]
            .iter()
            .any(|s| n.ends_with(s))
}

/// What init tries: the factory that makes a handle for free functions
/// (untimed), each class's constructor, and the candidate calls. A
/// function whose first parameter is a number is tried twice when there is
/// a factory, with the factory's result (`"$handle"`) first: a
/// handle-based API of free functions takes what the factory returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Candidates {
    pub setup: Option<Call>,
    pub classes: BTreeMap<String, Call>,
    pub calls: Vec<Call>,
    /// Per call, the export it tries (its index in the export list): the
    /// variants of one export share it.
    pub of: Vec<usize>,
}

fn args_of(e: &Export) -> Option<Vec<String>> {
    let text = literal_args(e)?;
    Some(if text.is_empty() {
        vec![]
    } else {
        text.split(", ").map(String::from).collect()
    })
}

pub fn candidates(exports: &[Export]) -> Candidates {
    let setup = exports
        .iter()
        .filter(|e| e.callable == Callable::Function && init_like(&e.name))
        .find_map(|e| {
            Some(Call {
                how: How::Export,
                name: e.name.clone(),
                on: None,
                args: args_of(e)?,
            })
        });
    let mut c = Candidates {
        setup,
        ..Candidates::default()
    };
    for e in exports
        .iter()
        .filter(|e| e.callable == Callable::Constructor)
    {
        let class = e.class.as_ref().filter(|c| !error_like(c));
        if let (Some(class), Some(args)) = (class, args_of(e)) {
            c.classes.entry(class.clone()).or_insert(Call {
                how: How::New,
                name: class.clone(),
                on: None,
                args,
            });
        }
    }
    for (i, e) in exports.iter().enumerate() {
        if destroys(&e.name) || e.callable == Callable::Constructor {
            continue;
        }
        let Some(args) = args_of(e) else { continue };
        match e.callable {
            Callable::Method => {
                let Some(class) = e.class.clone().filter(|k| c.classes.contains_key(k)) else {
                    continue;
                };
                c.calls.push(Call {
                    how: How::Method,
                    name: e.name.clone(),
                    on: Some(class),
                    args,
                });
                c.of.push(i);
            }
            _ if init_like(&e.name) => {}
            _ => {
                let call = Call {
                    how: How::Export,
                    name: e.name.clone(),
                    on: None,
                    args,
                };
                let handle_first = e
                    .params
                    .first()
                    .is_some_and(|p| p.ty == ParamType::Number && handle_like(&p.name));
                if c.setup.is_some() && handle_first {
                    let mut handle = call.clone();
                    handle.args[0] = "\"$handle\"".into();
                    c.calls.push(handle);
                    c.of.push(i);
                }
                c.calls.push(call);
                c.of.push(i);
            }
        }
    }
    c
}

/// What the probe found for one candidate (`harness/builtin/probe.js`).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct Found {
    /// Why it could not be called, when it threw.
    #[serde(default)]
    pub throws: Option<String>,
    /// Milliseconds per call (the fastest of five batches).
    #[serde(default)]
    pub ms: Option<f64>,
    /// Whether repeated calls changed the linear memory.
    #[serde(default)]
    pub changed: Option<bool>,
}

/// What init keeps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exercise {
    /// One call per export that ran (its first variant that did not
    /// throw), with what the probe found.
    pub kept: Vec<(Call, Found)>,
    /// The calls that threw, each with why.
    pub dropped: Vec<(Call, String)>,
    /// The call `builtin:call` times.
    pub timed: Option<(Call, Found)>,
    /// Said in budgets.toml and on the terminal, when the timed call
    /// changed no state.
    pub warning: Option<String>,
}

/// Keep each export's first variant that ran; time the slowest call that
/// changed the module's state (or, when none did, the slowest, with a
/// warning that it guards little).
pub fn choose(c: &Candidates, found: &[Found]) -> Exercise {
    let mut x = Exercise::default();
    let mut done: Vec<usize> = Vec::new();
    for ((call, of), f) in c.calls.iter().zip(&c.of).zip(found) {
        if done.contains(of) {
            continue;
        }
        match (&f.throws, f.ms) {
            (None, Some(_)) => {
                done.push(*of);
                x.dropped
                    .retain(|(d, _)| d.name != call.name || d.on != call.on);
                x.kept.push((call.clone(), f.clone()));
            }
            (why, _) => x.dropped.push((
                call.clone(),
                why.clone().unwrap_or_else(|| "it did not run".into()),
            )),
        }
    }
    let slowest = |changed: bool| {
        x.kept
            .iter()
            .filter(|(_, f)| !changed || f.changed == Some(true))
            .max_by(|a, b| a.1.ms.partial_cmp(&b.1.ms).expect("finite times"))
            .cloned()
    };
    x.timed = slowest(true).or_else(|| {
        let s = slowest(false)?;
        x.warning = Some(format!(
            "no export init could call changed the module's memory; {} returns without touching it, so the call figure guards little: name a heavier export or write a scenario",
            s.0.spelled()
        ));
        Some(s)
    });
    x
}

/// The soak of what was kept: the constructors of the classes whose
/// methods it calls, then every kept call (methods named by class).
pub fn soak(c: &Candidates, kept: &[Call]) -> Vec<Call> {
    let mut out: Vec<Call> = Vec::new();
    for call in kept {
        if let Some(class) = &call.on {
            if !out.iter().any(|o| o.how == How::New && &o.name == class) {
                out.push(c.classes[class].clone());
            }
        }
    }
    out.extend(kept.iter().cloned());
    out
}

/// A cap from a measured p95: `factor` times it, rounded up to two
/// significant digits (37, 1.3, 0.045).
pub fn cap_from(p95: f64, factor: f64) -> f64 {
    let v = p95 * factor;
    if !(v > 0.0) || !v.is_finite() {
        return 0.0;
    }
    let step = 10f64.powf(v.log10().floor() - 1.0);
    let r = (v / step).ceil() * step;
    // Printed without the float's noise (1.3, not 1.3000000000000003).
    format!("{r:.*}", (-(step.log10().round()) as i64).max(0) as usize)
        .parse()
        .unwrap_or(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dts_exports;

    const DTS: &str = r#"
export class Ledger {
  free(): void;
  constructor(capacity: number);
  append(entry: string): void;
  total(): number;
  close(): void;
}
export function runtime_create(seed: number): number;
export function task_spawn(rt: number, weight: number): number;
export function abi_fingerprint(): number;
export function checksum(n: number): number;
export function load(bytes: Uint8Array): number;
"#;

    #[test]
    fn candidates_cover_every_literal_call_and_try_the_factorys_handle_first() {
        let c = candidates(&dts_exports(DTS));
        assert_eq!(
            c.setup.as_ref().map(Call::spelled).as_deref(),
            Some("runtime_create(1)")
        );
        assert_eq!(c.classes["Ledger"].spelled(), "new Ledger(1)");
        let spelled: Vec<String> = c.calls.iter().map(Call::spelled).collect();
        assert_eq!(
            spelled,
            [
                "Ledger.append(\"budget\")",
                "Ledger.total()",
                "task_spawn(\"$handle\", 1)",
                "task_spawn(1, 1)",
                "abi_fingerprint()",
                "checksum(1)"
            ]
        );
        assert_eq!(c.of[2], c.of[3]);
        assert_eq!(
            c.calls[0].toml(true),
            "{ method = \"append\", on = \"Ledger\", args = [\"budget\"] }"
        );
        assert_eq!(
            c.calls[0].json(),
            serde_json::json!({"method": "append", "on": "Ledger", "args": ["budget"]})
        );
    }

    fn found(ms: f64, changed: bool) -> Found {
        Found {
            throws: None,
            ms: Some(ms),
            changed: Some(changed),
        }
    }

    #[test]
    fn the_timed_call_is_the_slowest_that_changes_state_and_a_no_op_is_said() {
        let c = candidates(&dts_exports(DTS));
        let threw = Found {
            throws: Some("RuntimeError: unreachable".into()),
            ..Found::default()
        };
        // task_spawn with the handle works; with a literal 1 it would not
        // have been needed. The constant getter is the slowest, but
        // changes nothing.
        let x = choose(
            &c,
            &[
                found(0.002, true),
                found(0.001, false),
                found(0.004, true),
                threw.clone(),
                found(0.009, false),
                found(0.001, true),
            ],
        );
        assert_eq!(
            x.timed.as_ref().map(|t| t.0.spelled()).as_deref(),
            Some("task_spawn(\"$handle\", 1)")
        );
        assert!(x.warning.is_none());
        assert_eq!(x.kept.len(), 5);
        assert!(x.dropped.is_empty(), "{:?}", x.dropped);
        let kept: Vec<Call> = x.kept.iter().map(|k| k.0.clone()).collect();
        let s: Vec<String> = soak(&c, &kept).iter().map(|c| c.toml(true)).collect();
        assert_eq!(s[0], "{ new = \"Ledger\", args = [1] }");
        assert_eq!(s.len(), 6);
        // Only no-ops ran: the slowest, said to guard little; what threw
        // is listed with why.
        let x = choose(
            &c,
            &[
                threw.clone(),
                found(0.001, false),
                threw.clone(),
                threw.clone(),
                found(0.0002, false),
                threw.clone(),
            ],
        );
        assert_eq!(x.timed.unwrap().0.spelled(), "Ledger.total()");
        assert!(x.warning.unwrap().contains("guards little"));
        assert_eq!(x.dropped.len(), 4);
        assert_eq!(x.dropped[0].1, "RuntimeError: unreachable");
    }

    #[test]
    fn caps_are_a_multiple_of_the_measured_p95_in_two_digits() {
        assert_eq!(cap_from(12.3, 3.0), 37.0);
        assert_eq!(cap_from(0.42, 3.0), 1.3);
        assert_eq!(cap_from(0.0151, 3.0), 0.046);
        assert_eq!(cap_from(250.0, 3.0), 750.0);
        assert_eq!(cap_from(0.0, 3.0), 0.0);
    }
}
