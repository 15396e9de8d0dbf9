//! The JS-facing API of a built crate, and the built-in scenarios wired to
//! it: a raw module's function exports (`wasmfile::interface`), or the
//! functions and classes in the `.d.ts` wasm-bindgen emits beside its glue.
//! `cargo xtask init` reads them to write budgets.toml. Pure: tested on
//! fixed declarations.

use crate::wasmfile;

/// A parameter's type, as far as the built-ins can supply a value for it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    Number,
    String,
    Bool,
    /// Anything else (a BigInt, an object, a byte array): `init` cannot
    /// make one up.
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    /// May be left out (`x?: T`).
    pub optional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Callable {
    Function,
    Constructor,
    Method,
}

/// One export of the crate's JS-facing API.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The class of a constructor or method.
    pub class: Option<String>,
    pub name: String,
    pub callable: Callable,
    pub params: Vec<Param>,
}

impl Export {
    pub fn spelled(&self) -> String {
        let params = self
            .params
            .iter()
            .map(|p| match &p.ty {
                ParamType::Number => format!("{}: number", p.name),
                ParamType::String => format!("{}: string", p.name),
                ParamType::Bool => format!("{}: boolean", p.name),
                ParamType::Other(t) => format!("{}: {t}", p.name),
            })
            .collect::<Vec<_>>()
            .join(", ");
        match (&self.class, self.callable) {
            (Some(c), Callable::Constructor) => format!("new {c}({params})"),
            (Some(c), _) => format!("{c}.{}({params})", self.name),
            (None, _) => format!("{}({params})", self.name),
        }
    }
}

/// A raw-export module's functions (`i32`, `f32`, `f64` parameters are
/// numbers; an `i64` needs a BigInt, which data cannot give).
pub fn raw_exports(interface: &wasmfile::Interface) -> Vec<Export> {
    interface
        .functions
        .iter()
        .map(|f| Export {
            class: None,
            name: f.name.clone(),
            callable: Callable::Function,
            params: f
                .params
                .iter()
                .enumerate()
                .map(|(i, t)| Param {
                    name: format!("p{i}"),
                    ty: if ["i32", "f32", "f64"].contains(&t.as_str()) {
                        ParamType::Number
                    } else {
                        ParamType::Other(t.clone())
                    },
                    optional: false,
                })
                .collect(),
        })
        .collect()
}

/// Split `a: T, b: U<V, W>` at the commas outside brackets.
fn split_params(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for ch in s.chars() {
        match ch {
            '(' | '[' | '<' | '{' => depth += 1,
            ')' | ']' | '>' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn parse_params(s: &str) -> Vec<Param> {
    split_params(s)
        .into_iter()
        .map(|p| {
            let (name, ty) = p
                .split_once(':')
                .map(|(n, t)| (n.trim(), t.trim()))
                .unwrap_or((p.as_str(), "any"));
            let optional = name.ends_with('?') || ty.split('|').any(|t| t.trim() == "undefined");
            let ty = match ty
                .split('|')
                .map(str::trim)
                .find(|t| *t != "undefined" && *t != "null")
                .unwrap_or(ty)
            {
                "number" => ParamType::Number,
                "string" => ParamType::String,
                "boolean" => ParamType::Bool,
                other => ParamType::Other(other.to_string()),
            };
            Param {
                name: name.trim_end_matches('?').to_string(),
                ty,
                optional,
            }
        })
        .collect()
}

/// The JS API in the `.d.ts` wasm-bindgen writes beside its glue: the
/// exported functions, and each class's constructor and methods (not
/// statics, getters or `free`), in the file's order. The glue's own
/// entry points (`initSync`, the default `__wbg_init`) and everything from
/// `InitInput` on (the raw ABI) are not the crate's API.
pub fn dts_exports(text: &str) -> Vec<Export> {
    let mut out = Vec::new();
    let mut class: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("export type InitInput") {
            break;
        }
        if t.starts_with("/*") || t.starts_with('*') || t.starts_with("//") || t.is_empty() {
            continue;
        }
        if let Some(rest) = t.strip_prefix("export class ") {
            class = rest
                .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '$')
                .next()
                .map(String::from);
            continue;
        }
        if t == "}" {
            class = None;
            continue;
        }
        let sig = |s: &str| -> Option<(String, String)> {
            let open = s.find('(')?;
            let close = s.rfind(')')?;
            Some((s[..open].trim().to_string(), s[open + 1..close].to_string()))
        };
        match &class {
            None => {
                let Some(rest) = t.strip_prefix("export function ") else {
                    continue;
                };
                let Some((name, params)) = sig(rest) else {
                    continue;
                };
                if name == "initSync" {
                    continue;
                }
                out.push(Export {
                    class: None,
                    name,
                    callable: Callable::Function,
                    params: parse_params(&params),
                });
            }
            Some(c) => {
                if t.starts_with("static ")
                    || t.starts_with("readonly ")
                    || t.starts_with("get ")
                    || t.starts_with("set ")
                    || t.starts_with('[')
                {
                    continue;
                }
                let Some((name, params)) = sig(t) else {
                    continue;
                };
                let callable = if name == "constructor" {
                    Callable::Constructor
                } else {
                    Callable::Method
                };
                out.push(Export {
                    class: Some(c.clone()),
                    name,
                    callable,
                    params: parse_params(&params),
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------- wiring

/// A call of the built-ins, as budgets.toml's inline table.
#[derive(Debug, Clone, PartialEq)]
pub struct CallText(pub String);

/// What `init` wires the built-ins to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wiring {
    /// Cold init's call after instantiating, if one looks like the crate's
    /// initialization (or constructor).
    pub cold: Option<CallText>,
    /// One call's latency and the heap after many: (setup, call, teardown).
    pub call: Option<(Option<CallText>, CallText, Option<CallText>)>,
    /// The heap's soak (every call that ran in init's probe), when init
    /// probed: (setup, entries). The heap then soaks instead of repeating
    /// `call`.
    pub soak: Option<(Option<CallText>, Vec<CallText>)>,
    /// What init has to say about the wiring (calls it dropped and why; a
    /// timed call that guards little), as comments in budgets.toml.
    pub notes: Vec<String>,
}

/// A class that is the crate's error type (`LinderaError`): constructing
/// one is not what a page does first.
pub(crate) fn error_like(class: &str) -> bool {
    class.ends_with("Error") || class.ends_with("Exception")
}

/// Names of a crate's initialization or factory: what a page calls first.
pub(crate) fn init_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["init", "initialize", "start", "setup", "main", "create"].contains(&n.as_str())
        || ["_init", "_initialize", "_create"]
            .iter()
            .any(|s| n.ends_with(s))
        || ["init_", "create_"].iter().any(|p| n.starts_with(p))
}

/// Literal arguments for `e`'s parameters, when every required one is a
/// number, string or boolean.
pub(crate) fn literal_args(e: &Export) -> Option<String> {
    let mut args = Vec::new();
    for p in &e.params {
        match (&p.ty, p.optional) {
            (_, true) => break,
            (ParamType::Number, _) => args.push("1".to_string()),
            (ParamType::String, _) => args.push("\"budget\"".to_string()),
            (ParamType::Bool, _) => args.push("true".to_string()),
            (ParamType::Other(_), false) => return None,
        }
    }
    Some(args.join(", "))
}

fn call_text(how: &str, name: &str, args: &str) -> CallText {
    CallText(if args.is_empty() {
        format!("{{ {how} = {name:?} }}")
    } else {
        format!("{{ {how} = {name:?}, args = [{args}] }}")
    })
}

/// Wire the built-ins to the exports: cold init calls the crate's init
/// function or its first class's constructor; the call and heap metrics
/// use a class's first method on a constructed handle (freed after), else
/// the first free function that is not an init (after the init, as an
/// untimed setup). Arguments are literals (1, "budget", true); an export
/// with a parameter of another type is not wired.
pub fn wire(exports: &[Export]) -> Wiring {
    let callable = |e: &&Export| literal_args(e).is_some();
    let init_fn = exports
        .iter()
        .filter(|e| e.callable == Callable::Function && init_like(&e.name))
        .find(callable);
    let ctor = exports
        .iter()
        .filter(|e| e.callable == Callable::Constructor)
        .filter(|e| !e.class.as_deref().is_some_and(error_like))
        .find(callable);
    let cold = match (ctor, init_fn) {
        (Some(c), _) => Some(call_text(
            "new",
            c.class.as_deref().unwrap_or_default(),
            &literal_args(c).unwrap_or_default(),
        )),
        (None, Some(f)) => Some(call_text(
            "export",
            &f.name,
            &literal_args(f).unwrap_or_default(),
        )),
        (None, None) => None,
    };
    let skip_method = |n: &str| ["free", "toString", "toJSON"].contains(&n) || n.starts_with("__");
    let class_call = exports
        .iter()
        .filter(|e| e.callable == Callable::Constructor)
        .filter(callable)
        .find_map(|c| {
            let class = c.class.as_deref()?;
            let m = exports
                .iter()
                .filter(|e| {
                    e.callable == Callable::Method
                        && e.class.as_deref() == Some(class)
                        && !skip_method(&e.name)
                })
                .find(callable)?;
            // Every wasm-bindgen class has free(): the handle's memory goes back
            // after the samples, not at some later collection.
            Some((
                Some(call_text(
                    "new",
                    class,
                    &literal_args(c).unwrap_or_default(),
                )),
                call_text("method", &m.name, &literal_args(m).unwrap_or_default()),
                Some(call_text("method", "free", "")),
            ))
        });
    let fn_call = || {
        let f = exports
            .iter()
            .filter(|e| {
                e.callable == Callable::Function && !init_like(&e.name) && !e.name.starts_with("__")
            })
            .find(callable)?;
        Some((
            init_fn.map(|i| call_text("export", &i.name, &literal_args(i).unwrap_or_default())),
            call_text("export", &f.name, &literal_args(f).unwrap_or_default()),
            None,
        ))
    };
    Wiring {
        cold,
        call: class_call.or_else(fn_call),
        ..Wiring::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DTS: &str = r#"/* tslint:disable */
/* eslint-disable */
/**
 * A store of strings.
 */
export class Store {
  free(): void;
  [Symbol.dispose](): void;
  constructor(capacity: number);
  insert(key: number, value: string): void;
  get(key: number): string | undefined;
  static empty(): Store;
  readonly len: number;
}
export function greet(name: string): string;
export function load(bytes: Uint8Array, opts?: object): number;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
  readonly memory: WebAssembly.Memory;
  readonly greet: (a: number, b: number) => [number, number];
}
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;
"#;

    #[test]
    fn the_dts_gives_functions_constructors_and_methods_not_the_glue() {
        let e = dts_exports(DTS);
        let spelled: Vec<String> = e.iter().map(Export::spelled).collect();
        assert_eq!(
            spelled,
            [
                "Store.free()",
                "new Store(capacity: number)",
                "Store.insert(key: number, value: string)",
                "Store.get(key: number)",
                "greet(name: string)",
                "load(bytes: Uint8Array, opts: object)"
            ]
        );
        assert!(e[5].params[1].optional && !e[5].params[0].optional);
    }

    #[test]
    fn a_class_is_wired_as_a_handle_with_a_setup_and_a_free() {
        let w = wire(&dts_exports(DTS));
        assert_eq!(
            w.cold,
            Some(CallText("{ new = \"Store\", args = [1] }".into()))
        );
        let (setup, call, teardown) = w.call.unwrap();
        assert_eq!(setup.unwrap().0, "{ new = \"Store\", args = [1] }");
        assert_eq!(call.0, "{ method = \"insert\", args = [1, \"budget\"] }");
        assert_eq!(teardown.unwrap().0, "{ method = \"free\" }");
    }

    fn raw(functions: &[(&str, &[&str])]) -> Vec<Export> {
        raw_exports(&wasmfile::Interface {
            functions: functions
                .iter()
                .map(|(n, p)| wasmfile::ExportedFn {
                    name: n.to_string(),
                    params: p.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            imports: vec![],
        })
    }

    #[test]
    fn raw_exports_wire_the_init_as_setup_and_skip_what_data_cannot_call() {
        let w = wire(&raw(&[
            ("rt_init", &["i32"]),
            ("wide", &["i64"]),
            ("push", &["i32", "f64"]),
        ]));
        assert_eq!(w.cold.unwrap().0, "{ export = \"rt_init\", args = [1] }");
        let (setup, call, teardown) = w.call.unwrap();
        assert_eq!(
            (setup.unwrap().0.as_str(), call.0.as_str(), teardown),
            (
                "{ export = \"rt_init\", args = [1] }",
                "{ export = \"push\", args = [1, 1] }",
                None
            )
        );
        // Nothing callable: no call, and cold init instantiates only.
        let w = wire(&raw(&[("wide", &["i64"])]));
        assert_eq!(w, Wiring::default());
    }

    #[test]
    fn cold_init_constructs_the_api_not_its_error_type() {
        let e = dts_exports(
            "export class LinderaError {\n  constructor(message: string);\n}\nexport class Tokenizer {\n  constructor();\n  tokenize(text: string): any;\n}\n",
        );
        assert_eq!(
            wire(&e).cold,
            Some(CallText("{ new = \"Tokenizer\" }".into()))
        );
    }

    #[test]
    fn a_factory_counts_as_the_init() {
        assert!(
            init_like("runtime_create")
                && init_like("rt_init")
                && init_like("init")
                && !init_like("initials")
                && !init_like("recreate_view")
        );
    }
}
