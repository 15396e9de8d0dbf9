//! A small wasm-bindgen crate: a counter store with string keys, so the JS
//! glue has real work (strings cross the boundary) and the heap moves.
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct Store {
    counts: BTreeMap<String, u32>,
    #[cfg(feature = "trace")]
    log: Vec<String>,
    /// Feature `leak` (the gate's heap test): a history appended to on
    /// every call and never drained, the leak a "steady state" must catch.
    #[cfg(feature = "leak")]
    history: Vec<String>,
}

#[wasm_bindgen]
impl Store {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Store {
        Store {
            counts: BTreeMap::new(),
            #[cfg(feature = "trace")]
            log: Vec::new(),
            #[cfg(feature = "leak")]
            history: Vec::new(),
        }
    }

    /// Count one occurrence of `key`; returns the new count.
    pub fn bump(&mut self, key: &str) -> u32 {
        #[cfg(feature = "leak")]
        self.history.push(format!("bump {key} with {} keys", self.counts.len()));
        #[cfg(feature = "trace")]
        self.log.push(format!("bump {key}"));
        let c = self.counts.entry(key.to_string()).or_insert(0);
        *c += 1;
        *c
    }

    /// Keep only the `n` largest counts.
    pub fn trim(&mut self, n: usize) {
        if self.counts.len() <= n {
            return;
        }
        let mut v: Vec<(String, u32)> = std::mem::take(&mut self.counts).into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        self.counts = v.into_iter().collect();
        #[cfg(feature = "trace")]
        self.log.clear();
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    #[cfg(feature = "dev")]
    pub fn describe(&self) -> String {
        format!("{:?}", self.counts)
    }
}

/// A string-in/string-out export, the shape most wasm-bindgen APIs have
/// (the glue encodes and decodes the strings; the raw export speaks
/// wasm-bindgen's pointer/length ABI).
#[wasm_bindgen]
pub fn greet(name: &str) -> String {
    format!("hello, {name}")
}

/// Exists only when the crate's own `.cargo/config.toml` rustflags reached
/// the build (the gate adds to them, never replaces them).
#[cfg(fixture_config_flag)]
#[wasm_bindgen]
pub fn built_with_config_flags() -> bool {
    true
}

/// Exists only when both the crate's flags and the core-min profile's
/// rustflags reached the build.
#[cfg(all(fixture_config_flag, fixture_profile_flag))]
#[wasm_bindgen]
pub fn built_with_both_flags() -> bool {
    true
}
