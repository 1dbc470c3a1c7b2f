//! Cutover controller: gate, stop replication, switch, verify; roll back on request.

pub mod decide;
pub mod gates;
pub mod window;
