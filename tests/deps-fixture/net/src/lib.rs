//! A stand-in for a networking crate: with `tcp` it depends on libc, as
//! crates that reach for the OS do. libc has next to nothing for
//! wasm32-unknown-unknown, so nothing of it ships; with `sockets` the crate
//! names a libc type that target lacks, and does not build.

#[cfg(feature = "tcp")]
use libc as _;

#[cfg(feature = "sockets")]
pub type Fd = libc::c_int;

pub fn port(n: u32) -> u32 {
    n % 65536
}
