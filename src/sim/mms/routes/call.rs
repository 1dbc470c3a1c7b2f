//! One MMS request as a handler sees it, and the readers of its path ids and JSON body.

use serde_json::{Map, Value};

use super::Route;
use crate::sim::clock::SimMillis;
use crate::sim::mms::catalog::ObjStatus;
use crate::sim::mms::engine::{JobRequest, Mms};
use crate::sim::wire::{ApiError, Params};

/// An MMS request: the matched route, the query, the raw body, the simulated time and the
/// region of the simulated cloud.
pub struct Call<'a> {
    pub route: &'a Route,
    pub query: &'a Params,
    pub body: &'a [u8],
    pub now: SimMillis,
    pub region: &'a str,
}

impl Call<'_> {
    /// The data source id, first in every path that has ids.
    pub fn source_id(&self) -> Result<i64, ApiError> {
        self.arg(0, "sourceId")
    }

    /// The id after the data source's (scan, db, table, job, …), named `name` in errors.
    pub fn object_id(&self, name: &str) -> Result<i64, ApiError> {
        self.arg(1, name)
    }

    fn arg(&self, i: usize, name: &str) -> Result<i64, ApiError> {
        self.route.args[i]
            .trim()
            .parse()
            .map_err(|_| ApiError::invalid_because(name, "expected an integer id"))
    }

    /// The body as a JSON object; an empty body is an empty object.
    pub fn json_body(&self) -> Result<Map<String, Value>, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ApiError::new(
                400,
                "InvalidParameter",
                "The request body must be a JSON object.",
            )),
        }
    }

    /// The body of CreateMmsJob and CreateMmsTimer.
    pub fn job_request(&self) -> Result<JobRequest, ApiError> {
        let body: &[u8] = if self.body.is_empty() {
            b"{}"
        } else {
            self.body
        };
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                400,
                "InvalidParameter",
                format!("Invalid request body: {e}"),
            )
        })
    }
}

/// Fails with `DataSourceNotFound` unless the source exists.
pub fn source_exists(mms: &Mms, id: i64) -> Result<(), ApiError> {
    if mms.sources.contains_key(&id) {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "DataSourceNotFound",
            format!("Data source {id}"),
        ))
    }
}

/// A text member of a body; numbers are taken as their text.
pub fn str_field(b: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::invalid(key)),
    }
}

/// An array-of-text member of a body; absent is empty.
pub fn str_list(b: &Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::invalid(key))
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(key)),
    }
}

/// The `status` member of an UpdateMmsDb/Table(s) body.
pub fn obj_status(b: &Map<String, Value>) -> Result<Option<ObjStatus>, ApiError> {
    str_field(b, "status")?
        .map(|s| ObjStatus::parse(&s).ok_or_else(|| ApiError::invalid("status")))
        .transpose()
}
