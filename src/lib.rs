//! aliyun-migration-operator: runs data migrations into Alibaba Cloud MaxCompute (MMS, DTS) as
//! Kubernetes custom resources.

pub mod aliyun;
pub mod api;
pub mod controllers;
pub mod metrics;
pub mod sandbox;
pub mod server;
pub mod sim;
pub mod telemetry;
