//! End-to-end tests: the operator and the simulator as processes against the real local
//! kube-apiserver (hack/kube-local.sh), `kubectl` as the client. Every test is `#[ignore]`d so
//! that `cargo test` stays offline; `hack/test.sh e2e [filter]` starts the API server and runs
//! them. One binary for all of them: one link instead of twenty, and the test threads stay busy
//! across what used to be separate files.

#[path = "../support/mod.rs"]
mod support;

mod addon;
mod budget;
mod crds;
mod cutover;
mod cutover_freeze;
mod cutover_gates;
mod cutover_switch;
mod dataworks;
mod dts;
mod dts_lag;
mod duplicates;
mod hostile;
mod input;
mod isolation;
mod logs;
mod mms;
mod mms_rounds;
mod namespace;
mod secrets;
mod startup;
mod status;
