//! The Alibaba Cloud client: signing, credentials, transport, masking and the typed MMS and DTS
//! operations. Knows HTTP and Alibaba Cloud; nothing about Kubernetes.
//!
//! Entry point: [`Cloud`] (one per process) → [`Cloud::mms`] / [`Cloud::dts`] per region and
//! [`Credentials`]. Every response is masked ([`mask`]) before it is parsed, logged, or put
//! into an [`Error`].

mod cloud;
mod config;
pub mod credentials;
pub mod dts;
mod endpoint;
mod error;
pub mod lenient;
pub mod mask;
pub mod mms;
mod page;
mod ratelimit;
mod response;
mod retry;
mod secret;
pub mod signer;
mod transport;

pub use cloud::Cloud;
pub use config::{CallObserver, CloudConfig, RateLimit, RateLimits, RetryPolicy};
pub use credentials::{AssumeRoleOptions, Credentials, OidcSettings, StsLocation};
pub use dts::DtsClient;
pub use endpoint::Product;
pub use error::{Error, ErrorClass, ErrorKind};
pub use mms::MmsClient;
pub use page::{Collected, FETCH_ALL_PAGE_SIZE, Page};
pub use response::Ack;
pub use secret::{REDACTED, SecretString};
