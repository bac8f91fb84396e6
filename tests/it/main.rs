//! Integration tests: one test binary (`it`), so one shared Azurite for all of them.
//! Run with `scripts/test` (it installs Azurite and the Python checker first), or plain
//! `cargo test` once `scripts/setup` has run.

mod support;

mod accounts;
mod containers;
mod datasets;
mod export;
mod harness;
mod proxy;
mod secrets;
mod writebacks;
