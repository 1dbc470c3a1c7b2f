//! The Alibaba Cloud client against a local HTTP fake: wire format of every typed operation,
//! response parsing with the documented quirks, retries, rate limits, credentials, masking.
//!
//! Network traffic stays on 127.0.0.1; every test is bounded by short timeouts.

mod fake;

mod mms;

mod dts_new;

mod dts_legacy;

mod resilience;

mod credentials;

mod masking;

mod api_shape;
