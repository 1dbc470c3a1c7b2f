//! Response pieces shared by the products.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::Error;
use super::transport::ApiResponse;

/// The answer of an operation that returns nothing but success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ack {
    /// The service's request id.
    pub request_id: Option<String>,
}

impl From<&ApiResponse> for Ack {
    fn from(resp: &ApiResponse) -> Self {
        Ack {
            request_id: resp.request_id.clone(),
        }
    }
}

/// Deserializes a (masked) JSON value into a model; the error names the model, not the data.
pub(crate) fn parse<T: DeserializeOwned>(what: &str, value: Value) -> Result<T, Error> {
    serde_json::from_value(value)
        .map_err(|e| Error::decode(format!("{what} does not have the documented shape: {e}")))
}
