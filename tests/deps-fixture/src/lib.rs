//! The dependency-closure fixture: one export, and with `native` a second
//! one from a crate that (with its `tcp` feature) depends on libc.

#[no_mangle]
pub extern "C" fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

#[cfg(feature = "native")]
#[no_mangle]
pub extern "C" fn port(n: u32) -> u32 {
    fixture_net::port(n)
}
