//! The simulated MaxCompute Migration Service (ROA, `/api/v1/mms/…`, version 2022-01-04).

pub mod catalog;
pub mod engine;
pub mod filter;
pub mod routes;
pub mod task;
pub mod views;

pub use engine::Mms;
