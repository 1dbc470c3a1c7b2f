//! The simulator over HTTP, in process with a frozen or scaled clock: MMS, DTS and DataWorks
//! state machines, signature checks and fault injection.

mod support;

mod auth;
mod dataworks;
mod dts;
mod dts_check;
mod faults;
mod mms;
