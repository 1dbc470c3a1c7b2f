//! The Alibaba Cloud client against a local HTTP fake: wire format of every typed operation,
//! response parsing with the documented quirks, retries, rate limits, credentials, masking.
//!
//! Network traffic stays on 127.0.0.1; every test is bounded by short timeouts.

#[path = "aliyun_client/fake.rs"]
mod fake;

#[path = "aliyun_client/mms.rs"]
mod mms;

#[path = "aliyun_client/dts_new.rs"]
mod dts_new;

#[path = "aliyun_client/dts_legacy.rs"]
mod dts_legacy;

#[path = "aliyun_client/resilience.rs"]
mod resilience;

#[path = "aliyun_client/credentials.rs"]
mod credentials;

#[path = "aliyun_client/masking.rs"]
mod masking;

#[path = "aliyun_client/api_shape.rs"]
mod api_shape;
