//! Names: demangling, normalizing hashes and closures away, and the rules
//! that give a function its crate, its module and its generic.

/// The crate a demangled function name belongs to. The rule:
/// - a plain path `a::b::c` belongs to its first segment `a`;
/// - a trait impl `<T as Trait>::m` belongs to the crate of the self type
///   `T` (the code is `T`'s behaviour), e.g. `<alloc::vec::Vec<u8> as
///   core::ops::Drop>::drop` -> `alloc`; `<&T as ..>` and `<[T] as ..>` look
///   through the reference/slice;
/// - an inherent impl block `<impl a::X>` belongs to `a`;
/// - generic instantiations count toward the crate that defines the
///   generic, not the crate of the type arguments (the code is that crate's);
/// - a trait impl for a type without a crate (`<u32 as core::fmt::Display>`,
///   `<&T as ..>`) belongs to the trait's crate, which defines that impl;
/// - wasm-bindgen's runtime exports (`__wbindgen_malloc`) belong to
///   `wasm_bindgen`; the C memory functions to `compiler_builtins`;
/// - code generated around the crates' functions is a named group, never a
///   crate: `(wasm-bindgen shims)` (multivalue/externref shims, `__wbg_*`
///   exports), `(binaryen merged functions)` (`byn$mgfn*`);
/// - other names without a path (exports by their export name) go to
///   `(no crate)`.
pub fn crate_of(name: &str) -> String {
    if name.ends_with(" multivalue shim")
        || name.ends_with(" externref shim")
        || name.starts_with("__wbg_")
    {
        return "(wasm-bindgen shims)".into();
    }
    if name.starts_with("byn$mgfn") {
        return "(binaryen merged functions)".into();
    }
    if name.starts_with("__wbindgen_") {
        return "wasm_bindgen".into();
    }
    if ["memcpy", "memmove", "memset", "memcmp", "bcmp"].contains(&name) {
        return "compiler_builtins".into();
    }
    let own = self_crate(name);
    if own == "(no crate)" && name.starts_with('<') {
        if let Some(tr) = qself_trait(name) {
            let t = self_crate(tr);
            if t != "(no crate)" {
                return t;
            }
        }
    }
    own
}

/// The trait path of `<T as Trait>::m` (depth-aware: `T` may hold ` as `).
pub(super) fn qself_trait(name: &str) -> Option<&str> {
    let mut depth = 0i32;
    let b = name.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'<' => depth += 1,
            b'>' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            b' ' if depth == 1 && name[i..].starts_with(" as ") => return Some(&name[i + 4..]),
            _ => {}
        }
    }
    None
}

/// The crate of the first path in `name` (the self type's, for a trait impl).
pub(super) fn self_crate(name: &str) -> String {
    let mut s = name.trim();
    loop {
        let before = s;
        s = s.trim_start_matches('<').trim_start();
        for p in [
            "impl ", "&mut ", "&", "*const ", "*mut ", "dyn ", "mut ", "[", "(",
        ] {
            if let Some(r) = s.strip_prefix(p) {
                s = r;
            }
        }
        if s == before {
            break;
        }
    }
    let end = s
        .find([':', '<', ' ', '>', ';', ']', ','])
        .unwrap_or(s.len());
    if end == s.len() || !s[end..].starts_with("::") || end == 0 {
        return "(no crate)".into();
    }
    s[..end].to_string()
}

/// The module path of a function inside its crate (the treemap's middle
/// level): the path of the item the function belongs to, without the crate,
/// generic arguments or the function's own name. For `<T as Trait>::f` and
/// `<impl T>::f` that is T's path. `runtime::chan::Channel<T>::send` ->
/// `chan::Channel`; `<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop`
/// -> `vec::Vec`; empty at the crate root and for names without a crate.
pub fn module_of(name: &str) -> String {
    let krate = crate_of(name);
    let Some(start) = name
        .find(&format!("{krate}::"))
        .filter(|_| krate != "(no crate)")
    else {
        return String::new();
    };
    let (mut path, mut depth, mut whole) = (String::new(), 0usize, true);
    for c in name[start..].chars() {
        match c {
            '<' => depth += 1,
            '>' if depth == 0 => {
                whole = false;
                break;
            }
            '>' => depth -= 1,
            ' ' | ',' | ';' | ']' | ')' if depth == 0 => {
                whole = false;
                break;
            }
            _ if depth == 0 => path.push(c),
            _ => {}
        }
    }
    let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).skip(1).collect();
    // The whole name is the path: its last segment is the function.
    if whole {
        parts.pop();
    }
    parts.join("::")
}

/// Demangle a symbol (legacy or v0), dropping the hash suffix.
pub fn demangle(name: &str) -> String {
    match rustc_demangle::try_demangle(name) {
        Ok(d) => format!("{d:#}"),
        Err(_) => name.to_string(),
    }
}

/// A function name as reports show it: demangled (legacy or v0) in the
/// alternate form, without crate disambiguators or hashes. Names that
/// arrive already demangled in the non-alternate form (twiggy's, or a name
/// section rewritten by wasm-bindgen: `core[1a2b..]::x`, `a::b::h0123..`)
/// are reduced to the same form, so every source of names agrees.
pub fn normalize_name(name: &str) -> String {
    let demangled = demangle(name);
    let mut out: Vec<u8> = Vec::with_capacity(demangled.len());
    let b = demangled.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // `[` + hex digits + `]`: a v0 crate disambiguator.
        if b[i] == b'[' {
            let j = b[i + 1..]
                .iter()
                .position(|c| !c.is_ascii_hexdigit())
                .map(|p| i + 1 + p);
            if let Some(j) = j {
                if j > i + 1 && b[j] == b']' {
                    i = j + 1;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    let mut out = String::from_utf8_lossy(&out).into_owned();
    // `::h` + 16 hex digits at the end: a legacy hash.
    if out.len() > 19 && out.is_char_boundary(out.len() - 19) {
        let tail = &out[out.len() - 19..];
        if tail.starts_with("::h") && tail[3..].chars().all(|c| c.is_ascii_hexdigit()) {
            out.truncate(out.len() - 19);
        }
    }
    out
}

/// The generic item a monomorphized function instantiates: its name with
/// every path segment's generic arguments replaced by `<..>`, keeping the
/// qualified-self brackets of `<T as Trait>::f` (so `<A as Debug>::fmt` and
/// `<B as Debug>::fmt`, two impls, stay apart, while `<Vec<u8> as Drop>::drop`
/// and `<Vec<Task> as Drop>::drop` group). `None` for a name without
/// generic arguments.
pub(super) fn generic_of(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut had_args = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let after_segment = out
            .chars()
            .last()
            .is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '}');
        if c == '<' && after_segment {
            // Skip the whole argument list, nested brackets included.
            let mut depth = 1;
            for d in chars.by_ref() {
                match d {
                    '<' => depth += 1,
                    '>' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            out.push_str("<..>");
            had_args = true;
        } else {
            out.push(c);
        }
    }
    had_args.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_rule() {
        assert_eq!(crate_of("runtime::sched::Scheduler::pick"), "runtime");
        assert_eq!(
            crate_of("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop"),
            "alloc"
        );
        assert_eq!(crate_of("<&T as core::fmt::Debug>::fmt"), "core");
        assert_eq!(crate_of("<u32 as core::fmt::Display>::fmt"), "core");
        assert_eq!(crate_of("<&str as core::any::Any>::type_id"), "core");
        assert_eq!(crate_of("__wbindgen_malloc"), "wasm_bindgen");
        assert_eq!(crate_of("__wbg_store_free"), "(wasm-bindgen shims)");
        assert_eq!(crate_of("memcmp"), "compiler_builtins");
        assert_eq!(crate_of("store_trim"), "(no crate)");
        assert_eq!(
            crate_of("<&core::fmt::Arguments as core::fmt::Display>::fmt"),
            "core"
        );
        assert_eq!(crate_of("<[T] as core::fmt::Debug>::fmt"), "core");
        assert_eq!(crate_of("core::ptr::drop_in_place<runtime::Task>"), "core");
        assert_eq!(crate_of("<impl runtime::Foo>::bar"), "runtime");
        assert_eq!(crate_of("memcpy"), "compiler_builtins");
        assert_eq!(
            crate_of("dlmalloc::dlmalloc::Dlmalloc<A>::malloc"),
            "dlmalloc"
        );
        assert_eq!(crate_of("greet multivalue shim"), "(wasm-bindgen shims)");
        assert_eq!(
            crate_of("byn$mgfn-shared$core::fmt::write"),
            "(binaryen merged functions)"
        );
    }

    #[test]
    fn module_rule() {
        assert_eq!(
            module_of("runtime::chan::Channel<T>::send"),
            "chan::Channel"
        );
        assert_eq!(
            module_of("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop"),
            "vec::Vec"
        );
        assert_eq!(module_of("core::ptr::drop_in_place<runtime::Task>"), "ptr");
        assert_eq!(module_of("<impl runtime::Foo>::bar"), "Foo");
        assert_eq!(
            module_of("dlmalloc::dlmalloc::Dlmalloc<A>::malloc"),
            "dlmalloc::Dlmalloc"
        );
        assert_eq!(
            module_of("runtime::work::mixed::{{closure}}"),
            "work::mixed"
        );
        assert_eq!(module_of("runtime::rt_init"), "");
        assert_eq!(module_of("memcpy"), "");
        // An impl for a type without a crate sits under its trait.
        assert_eq!(module_of("<&T as core::fmt::Debug>::fmt"), "fmt::Debug");
    }

    #[test]
    fn generic_strips_arguments() {
        assert_eq!(
            generic_of("core::ptr::drop_in_place<runtime::Task>").unwrap(),
            "core::ptr::drop_in_place<..>"
        );
        assert_eq!(generic_of("a::b"), None);
        // Instantiations of one generic item group; two impls do not.
        assert_eq!(
            generic_of("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop").unwrap(),
            "<alloc::vec::Vec<..> as core::ops::drop::Drop>::drop"
        );
        assert_eq!(
            generic_of("<alloc::vec::Vec<runtime::Task> as core::ops::drop::Drop>::drop").unwrap(),
            "<alloc::vec::Vec<..> as core::ops::drop::Drop>::drop"
        );
        assert_eq!(generic_of("<runtime::A as core::fmt::Debug>::fmt"), None);
        assert_eq!(generic_of("<&T as core::fmt::Debug>::fmt"), None);
        assert_eq!(
            generic_of("<impl runtime::Foo<u8>>::bar").unwrap(),
            "<impl runtime::Foo<..>>::bar"
        );
        assert_eq!(
            generic_of("alloc::raw_vec::RawVec<T,A>::grow_one").unwrap(),
            "alloc::raw_vec::RawVec<..>::grow_one"
        );
        assert_eq!(
            generic_of("<core::iter::Map<I,F> as core::iter::Iterator>::next").unwrap(),
            "<core::iter::Map<..> as core::iter::Iterator>::next"
        );
    }
}
