//! The crate's tests that span modules, by concern. Tests of one module sit
//! beside it; the binary's end-to-end tests are in `xtask/tests/`.

#[path = "../../tests/common/mod.rs"]
mod common;

mod attribution;
mod config_errors;
mod docs;
mod pipeline;
mod reports;
mod reuse;

/// The record of `id` for `profile` in a summary.
fn record<'a>(
    s: &'a crate::summary::Summary,
    id: &str,
    profile: &str,
) -> &'a crate::summary::Record {
    s.records
        .iter()
        .find(|r| r.metric_id == id && r.profile == profile)
        .unwrap_or_else(|| panic!("no {id} {profile}"))
}
