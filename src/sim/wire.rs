//! Wire-level helpers shared by the products: request parameters (query merged with a form
//! body, lenient booleans), the error type and the error bodies the gateways emit.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Which service a request is for; decides host names and error body shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Product {
    /// MaxCompute MMS, ROA, `2022-01-04`.
    Mms,
    /// DTS, RPC, `2020-01-01` (and the legacy `2016-08-01` / `2018-08-01` migration actions).
    Dts,
    /// STS, RPC, `2015-04-01`.
    Sts,
    /// DataWorks, RPC, `2020-05-18` (Migration Assistant).
    DataWorks,
    /// OpenPlatform, RPC, `2019-12-19` (upload grants).
    OpenPlatform,
}

impl Product {
    /// The host a real gateway reports in `HostId`.
    pub fn host(self) -> &'static str {
        match self {
            Product::Mms => "maxcompute.aliyuncs.com",
            Product::Dts => "dts.aliyuncs.com",
            Product::Sts => "sts.aliyuncs.com",
            Product::DataWorks => "dataworks.aliyuncs.com",
            Product::OpenPlatform => "openplatform.aliyuncs.com",
        }
    }

    /// The product code used in troubleshooting links.
    pub fn code(self) -> &'static str {
        match self {
            Product::Mms => "MaxCompute",
            Product::Dts => "Dts",
            Product::Sts => "Sts",
            Product::DataWorks => "dataworks-public",
            Product::OpenPlatform => "OpenPlatform",
        }
    }
}

/// Request parameters: RPC query parameters and form-body fields merged (query first), or ROA
/// query parameters. Values are decoded (`+` and `%20` are both a space).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes a query string.
    pub fn from_query(query: &str) -> Self {
        Self {
            pairs: form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// Appends the fields of an `application/x-www-form-urlencoded` body.
    pub fn extend_form(&mut self, body: &[u8]) {
        self.pairs
            .extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }

    /// Every decoded pair, in arrival order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value of `key`; empty values count as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The first value of any of `keys` (spelling variants).
    pub fn get_any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// A required string parameter.
    pub fn require(&self, key: &str) -> Result<&str, ApiError> {
        self.get(key).ok_or_else(|| ApiError::missing(key))
    }

    /// A boolean: `true`/`false` in any case (the Python SDK sends `True`), `1`/`0`.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        self.get(key)
            .map(|v| parse_bool(v).ok_or_else(|| ApiError::invalid(key)))
            .transpose()
    }

    /// An integer.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| v.trim().parse::<i64>().map_err(|_| ApiError::invalid(key)))
            .transpose()
    }

    /// All keys starting with `prefix.`, with the prefix removed (flattened nested objects).
    pub fn nested(&self, prefix: &str) -> BTreeMap<String, String> {
        let dotted = format!("{prefix}.");
        self.pairs
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&dotted)
                    .map(|rest| (rest.to_string(), v.clone()))
            })
            .collect()
    }
}

/// Lenient boolean parsing (`True`, `true`, `1`, `false`, `False`, `0`).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// DTS business-error details (the error travels in an HTTP 200 body with `Success: false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Business {
    /// `DynamicMessage`: the value substituted into the message template (e.g. the job id).
    pub dynamic_message: String,
    /// `HttpStatusCode` reported inside the body.
    pub status_in_body: u16,
}

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// Sent as `x-acs-retry-after` (milliseconds, as the SDKs read it).
    pub retry_after_ms: Option<u64>,
    pub business: Option<Business>,
}

impl ApiError {
    /// An error with HTTP `status`.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after_ms: None,
            business: None,
        }
    }

    /// `MissingParameter` (400).
    pub fn missing(param: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!(
                "The input parameter \"{param}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// `InvalidParameter` (400).
    pub fn invalid(param: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{param}\" is not valid."),
        )
    }

    /// `InvalidParameter` (400) with an explanation.
    pub fn invalid_because(param: &str, why: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{param}\" is not valid: {why}"),
        )
    }

    /// HTTP 404 with an object-specific code.
    pub fn not_found(code: &str, what: impl std::fmt::Display) -> Self {
        Self::new(404, code, format!("{what} does not exist."))
    }

    /// `Throttling.User` (400) with a retry-after hint.
    pub fn throttled(retry_after_ms: u64) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms.max(1)),
            ..Self::new(
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
            )
        }
    }

    /// `InternalError` (500).
    pub fn internal() -> Self {
        Self::new(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        )
    }

    /// A DTS business error: HTTP 200, `Success: false`, `ErrCode`/`ErrMessage` in the body.
    pub fn business(code: &str, message: impl Into<String>, dynamic: &str, status: u16) -> Self {
        Self {
            business: Some(Business {
                dynamic_message: dynamic.to_string(),
                status_in_body: status,
            }),
            ..Self::new(200, code, message)
        }
    }

    /// The HTTP status actually sent.
    pub fn http_status(&self) -> u16 {
        if self.business.is_some() {
            200
        } else {
            self.status
        }
    }

    /// The JSON body in the shape the product's gateway uses.
    pub fn body(&self, product: Product, request_id: &str) -> Value {
        if let Some(b) = &self.business
            && matches!(product, Product::DataWorks | Product::OpenPlatform)
        {
            // DataWorks' business failures: `ErrorCode`/`ErrorMessage`
            // (`docs/cloud-apis.md#dataworks-wire-quirks`).
            return json!({
                "RequestId": request_id,
                "Success": false,
                "ErrorCode": self.code,
                "ErrorMessage": self.message,
                "HttpStatusCode": b.status_in_body,
            });
        }
        if let Some(b) = &self.business {
            return json!({
                "RequestId": request_id,
                "Success": false,
                "ErrCode": self.code,
                "ErrMessage": self.message,
                "DynamicMessage": b.dynamic_message,
                "DynamicCode": b.status_in_body.to_string(),
                "HttpStatusCode": b.status_in_body,
            });
        }
        let recommend = format!(
            "https://api.aliyun.com/troubleshoot?q={}&product={}&requestId={request_id}",
            self.code,
            product.code()
        );
        let mut body = json!({
            "RequestId": request_id,
            "HostId": product.host(),
            "Code": self.code,
            "Message": self.message,
            "Recommend": recommend,
        });
        if product == Product::Mms {
            // ROA products answer in lower camel case; the SDKs read either, clients may not.
            body["requestId"] = json!(request_id);
            body["code"] = json!(self.code);
            body["message"] = json!(self.message);
            body["httpCode"] = json!(self.status);
        }
        body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_form_merge_and_decode() {
        let mut p = Params::from_query("A=1&Name=a+b&Flag=True&Empty=");
        p.extend_form(b"DbList=%7B%22x%22%3A1%7D&A=2");
        assert_eq!(p.get("A"), Some("1"));
        assert_eq!(p.get("Name"), Some("a b"));
        assert_eq!(p.bool("Flag").unwrap(), Some(true));
        assert_eq!(p.get("Empty"), None);
        assert_eq!(p.get("DbList"), Some("{\"x\":1}"));
        assert_eq!(p.require("Nope").unwrap_err().code, "MissingParameter");
    }

    #[test]
    fn business_errors_travel_in_200() {
        let e = ApiError::business("InvalidJobId", "The job %s does not exist", "abc", 404);
        assert_eq!(e.http_status(), 200);
        let b = e.body(Product::Dts, "RID");
        assert_eq!(b["Success"], json!(false));
        assert_eq!(b["ErrCode"], json!("InvalidJobId"));
    }
}
