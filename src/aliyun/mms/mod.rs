//! MaxCompute Migration Service (MaxCompute OpenAPI 2022-01-04, ROA style).
//!
//! Every path starts with `/api/v1/mms/`; path parameters are percent-encoded; bodies are
//! compact JSON; success bodies are `{"requestId": ..., "data": ...}`.

mod models;
mod ops;
pub use ops::{JobTasks, TASK_PAGE_SIZE};
mod requests;
mod timers;
pub use timers::{CreateMmsTimerRequest, MmsTimer, UpdateMmsTimerRequest};

pub use models::*;
pub use requests::*;

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::budget::Admission;
use super::cloud::Cloud;
use super::credentials::Credentials;
use super::endpoint::Product;
use super::error::Error;
use super::lenient::{int, vec_or_wrapped};
use super::pacing::{Pacer, Pacing};
use super::page::Page;
use super::response::parse;
use super::signer::percent_encode;
use super::transport::{ApiRequest, ApiResponse, Body, Idempotency};

/// MMS operations for one region and identity. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MmsClient {
    cloud: Cloud,
    region: String,
    credentials: Credentials,
    pacer: Pacer,
}

/// Builds `/api/v1/mms/<segment>/<segment>...`, percent-encoding every segment given as a
/// parameter (`Param`) and keeping literal ones.
pub(crate) fn mms_path(segments: &[Segment<'_>]) -> String {
    let mut path = String::from("/api/v1/mms");
    for s in segments {
        path.push('/');
        match s {
            Segment::Lit(l) => path.push_str(l),
            Segment::Param(p) => path.push_str(&percent_encode(p)),
        }
    }
    path
}

/// A path segment.
pub(crate) enum Segment<'a> {
    Lit(&'static str),
    Param(&'a str),
}

#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPage {
    #[serde(deserialize_with = "vec_or_wrapped")]
    object_list: Vec<Value>,
    #[serde(deserialize_with = "int")]
    page_num: i64,
    #[serde(deserialize_with = "int")]
    page_size: i64,
    #[serde(deserialize_with = "int")]
    total: i64,
}

impl Default for RawPage {
    fn default() -> Self {
        Self {
            object_list: Vec::new(),
            page_num: 0,
            page_size: 0,
            total: -1,
        }
    }
}

/// The `data` member of an MMS answer.
fn data(resp: ApiResponse) -> Value {
    match resp.body {
        Value::Object(mut map) => map.remove("data").unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// A paged `data`; `requested` fills in page number/size the service did not echo.
fn page_of<T: DeserializeOwned>(
    what: &str,
    data: Value,
    requested: (Option<u32>, Option<u32>),
    keep_raw: Option<fn(&mut T, Value)>,
) -> Result<Page<T>, Error> {
    // Unpaged listings may come back as a bare array.
    let raw: RawPage = if data.is_array() {
        RawPage {
            object_list: data.as_array().cloned().unwrap_or_default(),
            ..RawPage::default()
        }
    } else {
        parse(what, data)?
    };
    let mut items = Vec::with_capacity(raw.object_list.len());
    for value in raw.object_list {
        // Lenient: an item that is not even an object is skipped, not fatal.
        match parse::<T>(what, value.clone()) {
            Ok(mut item) => {
                if let Some(set) = keep_raw {
                    set(&mut item, value);
                }
                items.push(item);
            }
            Err(err) => tracing::debug!(error = %err, "skipping an unreadable list item"),
        }
    }
    let total = if raw.total >= 0 {
        raw.total as u64
    } else {
        items.len() as u64
    };
    let page_num = u32::try_from(raw.page_num)
        .ok()
        .filter(|n| *n > 0)
        .or(requested.0)
        .unwrap_or(1);
    let page_size = u32::try_from(raw.page_size)
        .ok()
        .filter(|n| *n > 0)
        .or(requested.1)
        .unwrap_or(items.len() as u32);
    Ok(Page {
        items,
        page_num,
        page_size,
        total,
    })
}

impl MmsClient {
    pub(crate) fn new(cloud: Cloud, region: String, credentials: Credentials) -> Self {
        Self {
            cloud,
            region,
            credentials,
            pacer: Pacer::default(),
        }
    }

    super::pacing::paced_client!(Product::Mms);

    /// The region this client calls.
    pub fn region(&self) -> &str {
        &self.region
    }

    async fn send(
        &self,
        action: &'static str,
        method: Method,
        path: String,
        query: Vec<(String, String)>,
        body: Body,
        idempotency: Idempotency,
    ) -> Result<ApiResponse, Error> {
        let req = ApiRequest {
            product: Product::Mms,
            action,
            method,
            path,
            query,
            body,
            idempotency,
            reveal: &[],
        };
        self.cloud
            .inner
            .call(&self.region, &self.credentials, req, &self.pacer)
            .await
    }

    /// A GET returning `data`.
    async fn get(
        &self,
        action: &'static str,
        path: String,
        query: Vec<(String, String)>,
    ) -> Result<Value, Error> {
        self.send(
            action,
            Method::GET,
            path,
            query,
            Body::Empty,
            Idempotency::Idempotent,
        )
        .await
        .map(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_are_percent_encoded_like_the_sdk() {
        // The vector `v3_roa_get_query_encoded_path_param`.
        assert_eq!(
            mms_path(&[
                Segment::Lit("datasources"),
                Segment::Param("src 1/a*b~c+d"),
                Segment::Lit("jobs")
            ]),
            "/api/v1/mms/datasources/src%201%2Fa%2Ab~c%2Bd/jobs"
        );
    }

    #[test]
    fn pages_parse_with_drift() {
        let page: Page<MmsJob> = page_of(
            "page",
            serde_json::json!({"objectList": [{"id": "7", "name": "j", "stopped": "false"}],
                               "pageNum": "2", "pageSize": 10, "total": "31"}),
            (None, None),
            None,
        )
        .unwrap();
        assert_eq!((page.page_num, page.page_size, page.total), (2, 10, 31));
        assert_eq!(page.items[0].id, 7);
        let bare: Page<MmsJob> = page_of(
            "page",
            serde_json::json!([{"id": 1}]),
            (Some(1), Some(5)),
            None,
        )
        .unwrap();
        assert_eq!((bare.total, bare.page_size), (1, 5));
    }
}
