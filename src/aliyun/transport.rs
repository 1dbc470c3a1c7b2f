//! HTTP transport: V3 signing of a request description, sending it with per-attempt timeouts,
//! reading and masking the answer, and telling success from the several error shapes.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::credentials::AccessKey;
use super::endpoint::{Endpoint, Product};
use super::error::{ApiErrorParts, Error};
use super::lenient::{value_bool, value_i64, value_string};
use super::mask::mask;
use super::scrub::Scrubber;
use super::secret::SecretString;
use super::signer::{
    CanonicalInput, EMPTY_SHA256, canonical_query, percent_encode, sha256_hex, sign_v3,
};

/// JSON bodies (MaxCompute ROA).
pub(crate) const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";
/// Form bodies (DTS/STS RPC).
pub(crate) const CONTENT_TYPE_FORM: &str = "application/x-www-form-urlencoded";

/// Key/value parameters (query or form), unencoded.
pub(crate) type Pairs = Vec<(String, String)>;

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// No body and no `content-type`.
    Empty,
    /// Compact JSON bytes.
    Json(Vec<u8>),
    /// Form fields, RFC 3986-encoded on the wire.
    Form(Vec<(String, String)>),
}

impl Body {
    pub fn json<T: serde::Serialize>(value: &T) -> Result<Self, Error> {
        serde_json::to_vec(value)
            .map(Body::Json)
            .map_err(|e| Error::config(format!("request body does not serialize: {e}")))
    }

    fn bytes_and_type(&self) -> (Vec<u8>, Option<&'static str>) {
        match self {
            Body::Empty => (Vec::new(), None),
            Body::Json(bytes) => (bytes.clone(), Some(CONTENT_TYPE_JSON)),
            Body::Form(fields) => (encode_form(fields).into_bytes(), Some(CONTENT_TYPE_FORM)),
        }
    }
}

/// Whether a call may be repeated after an ambiguous failure.
///
/// The rule: a failed attempt is retried only when the error is transient **and**
/// * the call is idempotent (reads; state changes that converge, like Stop/Start/Delete), or
/// * it carries a `ClientToken` the service deduplicates on, or
/// * it is a creating call without a token, and the failure proves the request never took
///   effect: the connection could not be established, or the gateway throttled it.
///   Timeouts, dropped connections and 5xx after sending are **not** retried for those
///   (e.g. `CreateMmsJob`: the caller adopts an existing job by name instead).
///
/// A repeated state change whose first attempt did take effect may answer an invalid-state
/// error (`InvalidJobStatus`); callers re-read the object and treat that as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    Idempotent,
    ClientToken,
    NotIdempotent,
}

impl Idempotency {
    pub fn allows_retry(self, err: &Error) -> bool {
        err.is_retryable()
            && match self {
                Idempotency::Idempotent | Idempotency::ClientToken => true,
                Idempotency::NotIdempotent => err.request_not_sent() || err.is_throttling(),
            }
    }
}

/// A V3-signed API call, before signing.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub product: Product,
    pub action: &'static str,
    pub method: Method,
    /// Already percent-encoded path (`/` for RPC).
    pub path: String,
    /// Unencoded query parameters.
    pub query: Vec<(String, String)>,
    pub body: Body,
    pub idempotency: Idempotency,
    /// JSON pointers of answer fields that are credentials the caller needs in clear (an
    /// upload grant, a pre-signed download URL): taken out as [`SecretString`]s before the
    /// answer is masked, and found nowhere else.
    pub reveal: &'static [&'static str],
}

impl ApiRequest {
    /// An RPC request (`POST /`), parameters in the query.
    pub fn rpc(product: Product, action: &'static str, idempotency: Idempotency) -> Self {
        Self {
            product,
            action,
            method: Method::POST,
            path: "/".to_string(),
            query: Vec::new(),
            body: Body::Empty,
            idempotency,
            reveal: &[],
        }
    }
}

/// A successful answer: masked JSON body.
#[derive(Debug, Clone)]
pub(crate) struct ApiResponse {
    pub request_id: Option<String>,
    pub body: Value,
    /// The fields the request asked to reveal that were present, unmasked.
    pub revealed: Vec<(&'static str, SecretString)>,
}

impl ApiResponse {
    /// A revealed field by its pointer.
    pub fn revealed(&self, pointer: &str) -> Option<&SecretString> {
        self.revealed
            .iter()
            .find(|(p, _)| *p == pointer)
            .map(|(_, v)| v)
    }
}

/// What came back over the wire, unmasked. Never logged, never stored.
pub(crate) struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// RFC 3986 form encoding (`%20` for spaces), the same encoding the signature uses.
pub(crate) fn encode_form(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `x-acs-date` / `Timestamp` format.
pub(crate) fn utc_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// 32 lower-case hex characters, like the SDKs' nonce.
pub(crate) fn nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A signed request, ready to send.
#[derive(Debug, Clone)]
pub(crate) struct SignedRequest {
    pub method: Method,
    pub url: reqwest::Url,
    /// Every header to send, `authorization` included.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Signs `req` with ACS3-HMAC-SHA256 for `endpoint`. Signs `host`, `content-type` (when there
/// is a body) and every `x-acs-*` header; `accept`/`user-agent` are sent unsigned, as the Go SDK
/// does: the gateway checks exactly the headers `SignedHeaders` lists.
pub(crate) fn sign_v3_request(
    req: &ApiRequest,
    endpoint: &Endpoint,
    key: &AccessKey,
    date: &str,
    nonce: &str,
) -> Result<SignedRequest, Error> {
    let (body, content_type) = req.body.bytes_and_type();
    let hashed = if body.is_empty() {
        EMPTY_SHA256.to_string()
    } else {
        sha256_hex(&body)
    };
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), endpoint.host.clone()),
        ("x-acs-action".into(), req.action.to_string()),
        (
            "x-acs-version".into(),
            req.product.api_version().to_string(),
        ),
        ("x-acs-date".into(), date.to_string()),
        ("x-acs-signature-nonce".into(), nonce.to_string()),
        ("x-acs-content-sha256".into(), hashed.clone()),
    ];
    if let Some(ct) = content_type {
        headers.push(("content-type".into(), ct.to_string()));
    }
    if let Some(token) = &key.token {
        headers.push((
            "x-acs-security-token".into(),
            token.expose_secret().to_string(),
        ));
        headers.push(("x-acs-accesskey-id".into(), key.id.clone()));
    }
    let authorization = sign_v3(
        &CanonicalInput {
            method: req.method.as_str(),
            canonical_uri: &req.path,
            query: &req.query,
            headers: &headers,
            hashed_payload: &hashed,
        },
        &key.id,
        key.secret.expose_secret(),
    );
    headers.push(("authorization".into(), authorization));
    let url = endpoint.url(&req.path, &canonical_query(&req.query))?;
    Ok(SignedRequest {
        method: req.method.clone(),
        url,
        headers,
        body,
    })
}

/// Turns a signed request into a `reqwest` one, adding the unsigned `accept` and `user-agent`.
pub(crate) fn to_reqwest(
    http: &reqwest::Client,
    signed: SignedRequest,
    user_agent: &str,
) -> Result<reqwest::Request, Error> {
    let mut headers = HeaderMap::new();
    let all = signed
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("accept", "application/json"), ("user-agent", user_agent)]);
    for (name, value) in all {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::config(format!("invalid header name {name:?}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::config(format!("invalid value for header {name}")))?;
        headers.insert(name, value);
    }
    let mut builder = http.request(signed.method, signed.url).headers(headers);
    if !signed.body.is_empty() {
        builder = builder.body(signed.body);
    }
    builder.build().map_err(Error::from_reqwest)
}

/// Sends one request and reads the whole response within `timeout`.
pub(crate) async fn send(
    http: &reqwest::Client,
    request: reqwest::Request,
    timeout: Duration,
) -> Result<RawResponse, Error> {
    let exchange = async {
        let response = http.execute(request).await.map_err(Error::from_reqwest)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(Error::from_reqwest)?
            .to_vec();
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(Error::timeout(format!(
                "no complete response within {} ms",
                timeout.as_millis()
            )))
        })
}

/// `x-acs-retry-after` (milliseconds, as the SDK reads it) or `Retry-After` (seconds).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
    };
    number("x-acs-retry-after")
        .map(Duration::from_millis)
        .or_else(|| number("retry-after").map(Duration::from_secs))
}

fn first_string(body: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .filter_map(|k| body.get(*k))
        .find_map(value_string)
}

static XML_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<(Code|Message|RequestId)>([^<]*)</(?:Code|Message|RequestId)>")
        .expect("static regex")
});

/// The fields of the XML error shape (`<Error><Code>..`), as a JSON object.
fn xml_error_fields(text: &str) -> Option<Value> {
    let mut map = serde_json::Map::new();
    for cap in XML_FIELD.captures_iter(text) {
        map.insert(cap[1].to_string(), Value::String(cap[2].to_string()));
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

/// Error fields from a masked body: both casings (`Code`/`code`), DTS's `ErrCode`/`ErrMessage`
/// (with `%s` filled from `DynamicMessage`) and MaxCompute's `errorCode`/`errorMsg`.
fn error_parts(
    body: &Value,
    status: u16,
    header_request_id: Option<String>,
    retry_after: Option<Duration>,
) -> ApiErrorParts {
    let code = first_string(body, &["Code", "code", "ErrCode", "errorCode", "ErrorCode"]);
    let mut message = first_string(
        body,
        &[
            "Message",
            "message",
            "ErrMessage",
            "errorMsg",
            "ErrorMessage",
        ],
    );
    if let (Some(m), Some(dynamic)) = (&message, first_string(body, &["DynamicMessage"]))
        && m.contains("%s")
    {
        message = Some(m.replacen("%s", &dynamic, 1));
    }
    ApiErrorParts {
        code,
        message,
        request_id: first_string(body, &["RequestId", "requestId"]).or(header_request_id),
        http_status: status,
        retry_after,
    }
}

/// Whether a 2xx body nevertheless reports a failure.
fn business_failure(product: Product, body: &Value) -> bool {
    match product {
        // DTS (and STS) answer some failures with HTTP 200 and `Success: false` (bool or
        // string), or with a non-empty `ErrCode`.
        Product::Dts | Product::Sts => {
            body.get("Success").and_then(value_bool) == Some(false)
                || body
                    .get("ErrCode")
                    .and_then(value_string)
                    .is_some_and(|c| !c.trim().is_empty())
        }
        // DataWorks and OpenPlatform answer business failures with HTTP 200 and
        // `Success: false` (`docs/cloud-apis.md#dataworks-wire-quirks`); `ErrorCode` may be
        // present and empty on success, so only `Success` decides.
        Product::DataWorks | Product::OpenPlatform => {
            body.get("Success").and_then(value_bool) == Some(false)
        }
        Product::Oss => false,
        // MaxCompute APIs that carry `errorCode` also carry `httpCode`/`success`.
        Product::Mms => {
            let has_code = body
                .get("errorCode")
                .and_then(value_string)
                .is_some_and(|c| !c.trim().is_empty());
            has_code
                && (body.get("success").and_then(value_bool) == Some(false)
                    || body
                        .get("httpCode")
                        .and_then(value_i64)
                        .is_some_and(|c| c >= 400)
                    || body.get("data").is_none_or(Value::is_null))
        }
    }
}

/// Reads a raw response: scrubs what the request sent out of it and masks it, then returns it
/// or the error it describes.
pub(crate) fn interpret(
    product: Product,
    raw: RawResponse,
    sent: &Scrubber,
) -> Result<ApiResponse, Error> {
    interpret_revealing(product, raw, sent, &[])
}

/// [`interpret`], taking the fields at `reveal` (JSON pointers) out unmasked first (after the
/// scrub: a revealed value never carries a secret the request sent).
pub(crate) fn interpret_revealing(
    product: Product,
    raw: RawResponse,
    sent: &Scrubber,
    reveal: &[&'static str],
) -> Result<ApiResponse, Error> {
    let header_request_id = raw
        .headers
        .get("x-acs-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let wait = retry_after(&raw.headers);
    let parsed: Option<Value> = if raw.body.iter().all(u8::is_ascii_whitespace) {
        Some(Value::Null)
    } else {
        serde_json::from_slice::<Value>(&raw.body)
            .ok()
            .or_else(|| xml_error_fields(&String::from_utf8_lossy(&raw.body)))
            .map(|mut body| {
                sent.value(&mut body);
                body
            })
    };
    let revealed: Vec<(&'static str, SecretString)> =
        match (&parsed, (200..300).contains(&raw.status)) {
            (Some(body), true) => reveal
                .iter()
                .filter_map(|p| {
                    body.pointer(p)
                        .and_then(value_string)
                        .map(|v| (*p, SecretString::new(v)))
                })
                .collect(),
            _ => Vec::new(),
        };
    let parsed = parsed.map(mask);
    // Redirects are not followed, so anything outside 2xx is an error.
    if !(200..300).contains(&raw.status) {
        let body = parsed.unwrap_or(Value::Null);
        let mut parts = error_parts(&body, raw.status, header_request_id, wait);
        if parts.message.is_none() && parts.code.is_none() {
            parts.message = Some(format!("HTTP {} without an error body", raw.status));
        }
        return Err(Error::api(parts));
    }
    let Some(body) = parsed else {
        let content_type = raw
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        return Err(Error::decode(format!(
            "HTTP {}: response is not JSON ({} bytes, content-type {content_type})",
            raw.status,
            raw.body.len()
        )));
    };
    if business_failure(product, &body) {
        let mut parts = error_parts(&body, raw.status, header_request_id, wait);
        if parts.message.is_none() {
            parts.message = Some("the service reported Success: false".to_string());
        }
        return Err(Error::api(parts));
    }
    Ok(ApiResponse {
        request_id: first_string(&body, &["RequestId", "requestId"]).or(header_request_id),
        body,
        revealed,
    })
}

#[cfg(test)]
mod tests;
