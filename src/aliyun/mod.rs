//! The Alibaba Cloud client: signing, credentials, transport, masking and the typed MMS and DTS
//! operations. Knows HTTP and Alibaba Cloud; nothing about Kubernetes.
//!
//! Entry point: [`Cloud`] (one per process) → [`Cloud::mms`] / [`Cloud::dts`] per region and
//! [`Credentials`]. Every response is masked ([`mask`]) before it is parsed, logged, or put
//! into an [`Error`].
//!
//! ```no_run
//! use aliyun_migration_operator::aliyun::dts::DtsJobRef;
//! use aliyun_migration_operator::aliyun::mms::{ListTasksRequest, TaskStatus};
//! use aliyun_migration_operator::aliyun::{Cloud, CloudConfig, Credentials, SecretString};
//!
//! # async fn reconcile() -> Result<(), aliyun_migration_operator::aliyun::Error> {
//! let cloud = Cloud::new(CloudConfig::default())?; // once per process
//! // Per reconcile, from the referenced Secret; STS sessions stay cached inside `cloud`.
//! let creds = Credentials::static_key("LTAI…", SecretString::new("…"), None)
//!     .assume_role("acs:ram::123:role/migration");
//! let mms = cloud.mms("cn-hangzhou", creds.clone());
//! let failed = mms
//!     .count_tasks(2000001, &ListTasksRequest {
//!         job_id: Some(42),
//!         status: Some(TaskStatus::DataFailed),
//!         ..Default::default()
//!     })
//!     .await?;
//! let status = cloud
//!     .dts("cn-hangzhou", creds)
//!     .describe_dts_job_detail(&DtsJobRef::job("l3m1213ye7l"))
//!     .await?;
//! let cutover_ok = status.lag_seconds().is_some_and(|lag| lag < 5.0);
//! # let _ = (failed, cutover_ok);
//! # Ok(())
//! # }
//! ```

mod budget;
mod cloud;
mod config;
pub mod credentials;
pub mod dataworks;
pub mod dts;
mod endpoint;
mod error;
mod lenient;
pub mod mask;
pub mod mms;
mod pacing;
mod page;
mod response;
mod retry;
mod scrub;
mod secret;
pub mod signer;
mod transport;

pub use budget::{Admission, Priority, Waiting};
pub use cloud::Cloud;
pub use config::{CallObserver, CloudConfig, RateLimit, RateLimits, RetryPolicy};
pub use credentials::{AssumeRoleOptions, Credentials, OidcSettings, StsLocation};
pub use dataworks::DataWorksClient;
pub use dts::DtsClient;
pub use endpoint::Product;
pub use error::{Error, ErrorClass, ErrorKind};
pub use mms::MmsClient;
pub use pacing::Pacing;
pub use page::{Collected, FETCH_ALL_PAGE_SIZE, Page};
pub use response::Ack;
pub use secret::{REDACTED, SecretString};
