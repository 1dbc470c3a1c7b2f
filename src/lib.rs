//! aliyun-migration-operator: runs data migrations into Alibaba Cloud MaxCompute (MMS, DTS) as
//! Kubernetes custom resources.

pub mod aliyun;
pub mod api;
pub mod controllers;
pub mod metrics;
#[cfg(feature = "sim")]
pub mod sandbox;
pub mod server;
#[cfg(feature = "sim")]
pub mod sim;
pub mod telemetry;
