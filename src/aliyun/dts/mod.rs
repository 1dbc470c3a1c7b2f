//! Data Transmission Service (RPC style, version 2020-01-01 for both API generations).
//!
//! Every call is `POST /` with `x-acs-action`/`x-acs-version: 2020-01-01`; parameters travel in
//! the query string, except the large JSON ones (`DbList`, `Reserve`, `MigrationObject`) which
//! go into an `application/x-www-form-urlencoded` body, as the generated SDK places them.
//!
//! One deliberate deviation from the SDK: endpoint **credentials** (`*UserName`, `*Password` —
//! for a MaxCompute destination an AccessKey pair) also go into the form body instead of the
//! query. DTS merges query and form parameters (Terraform sends everything in the body), and a
//! URL is far more likely than a body to end up in a proxy or load-balancer log.
//!
//! Every request carries `RegionId` (the client's region). HTTP 200 answers with
//! `Success: false` are errors.

mod data_check;
mod legacy;
mod models;
mod new_api;
mod payloads;

pub use data_check::*;
pub use legacy::*;
pub use models::*;
pub use new_api::*;
pub use payloads::*;

use super::budget::Admission;
use super::cloud::Cloud;
use super::credentials::Credentials;
use super::endpoint::Product;
use super::error::Error;
use super::pacing::{Pacer, Pacing};
use super::transport::{ApiRequest, ApiResponse, Body, Idempotency, Pairs};

/// DTS operations for one region and identity. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DtsClient {
    cloud: Cloud,
    region: String,
    credentials: Credentials,
    pacer: Pacer,
}

/// Parameters of one RPC call: query pairs and form pairs.
#[derive(Debug, Default)]
pub(crate) struct RpcParams {
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
}

impl RpcParams {
    pub fn put(&mut self, key: &str, value: impl ToString) -> &mut Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }

    pub fn opt<T: ToString>(&mut self, key: &str, value: &Option<T>) -> &mut Self {
        if let Some(v) = value {
            let v = v.to_string();
            if !v.is_empty() {
                self.put(key, v);
            }
        }
        self
    }

    pub fn form(&mut self, key: &str, value: impl ToString) -> &mut Self {
        self.form.push((key.to_string(), value.to_string()));
        self
    }

    pub fn extend(&mut self, (query, form): (Pairs, Pairs)) -> &mut Self {
        self.query.extend(query);
        self.form.extend(form);
        self
    }
}

impl DtsClient {
    pub(crate) fn new(cloud: Cloud, region: String, credentials: Credentials) -> Self {
        Self {
            cloud,
            region,
            credentials,
            pacer: Pacer::default(),
        }
    }

    super::pacing::paced_client!(Product::Dts);

    /// The region this client calls (sent as `RegionId`).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Sends one action; `RegionId` is added here.
    pub(crate) async fn call(
        &self,
        action: &'static str,
        mut params: RpcParams,
        idempotency: Idempotency,
    ) -> Result<ApiResponse, Error> {
        params.put("RegionId", &self.region);
        let mut req = ApiRequest::rpc(Product::Dts, action, idempotency);
        req.query = params.query;
        if !params.form.is_empty() {
            req.body = Body::Form(params.form);
        }
        self.cloud
            .inner
            .call(&self.region, &self.credentials, req, &self.pacer)
            .await
    }
}
