//! The one error type of the cloud client.
//!
//! Everything in it is masked: messages come from masked response bodies, network errors are
//! stripped of their URL (DTS query strings can carry endpoint settings), and every message goes
//! through [`mask_text`] once more when the error is built.
//!
//! # Classification heuristics
//!
//! Error codes are only partly documented (MMS publishes none), so [`Error::class`] decides in
//! this order, first match wins:
//!
//! 1. **Throttling** → `Transient`: code `Throttling*`, `*.Throttling*` (e.g. `Rejected.Throttling`),
//!    HTTP 429, or any error response carrying `x-acs-retry-after`.
//! 2. **Credential / request-shape codes** → `Terminal`: `InvalidAccessKeyId.*`,
//!    `InvalidSecurityToken.*`, `SignatureDoesNotMatch`, `IncompleteSignature`, `InvalidTimeStamp.*`,
//!    `Forbidden.RAM`, `Forbidden.AccessKeyDisabled`, `NoPermission*`, `Forbidden`,
//!    `ActionUnauthorized`, `InvalidApi.*`, `InvalidProduct.*`, `InvalidAction.*`, `InvalidVersion*`,
//!    `InvalidRegionId*`, `UnsupportedHTTPMethod`, `InvalidProtocol.*`, `LXBuyError`, `MissingParameter*`,
//!    `InvalidParameter*`. (`InvalidSecurityToken.*` first triggers a credential refresh and one
//!    retry inside the client; it only reaches the caller when that did not help.)
//! 3. **Not found** → `NotFound`: DTS `Forbidden.InstanceNotFound` and `InvalidJobId`; any code
//!    containing `NotFound`, `NotExist`, `NonExist` (ignoring case and separators); HTTP 404 with
//!    any other code (MMS answers missing sources/jobs/tasks with 404; its codes are undocumented).
//! 4. **Invalid state** → `InvalidState`: `InvalidJobStatus`, `InvalidTaskStatus`, codes containing
//!    `InvalidStatus`, `IncorrectStatus`, `InvalidState`, `OperationDenied`, `ModifyDenied`
//!    (DTS `DTS.Msg.OperationDenied.JobStatusModifying`, ...), or HTTP 409.
//! 5. **Known transient codes** → `Transient`: `ServiceUnavailable*`, `InternalError`,
//!    `InternalServerError`, `UnknownError`, `SignatureNonceUsed`, `SQLExecuteError` (DTS, retried
//!    by Terraform), `System.Busy`, `ServiceBusy`, `ServiceTimeout`, `RequestTimeout`.
//! 6. HTTP 5xx → `Transient`; anything else (4xx, or a 200 with `Success:false` and an unknown
//!    code) → `Terminal`, so an unknown refusal is reported instead of hammered.
//!
//! Network failures, timeouts, dropped connections and unreadable responses are `Transient`.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use regex::Regex;

use super::mask::mask_text;

/// What went wrong, mechanically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service answered with an error (HTTP ≥ 400, or a 2xx body saying `Success: false`).
    Api,
    /// No connection could be made; the request was never sent.
    Connect,
    /// The attempt or the call's deadline ran out; the request may have been processed.
    Timeout,
    /// The connection failed after the request may have been sent (reset, dropped, truncated).
    Transport,
    /// The response could not be understood (not JSON, or not the documented shape).
    Decode,
    /// Credentials could not be obtained (missing variables, unreadable token file).
    Credentials,
    /// The client or the request is misconfigured (bad region, bad endpoint override).
    Config,
    /// Not sent: the account's call budget has no token for this caller yet (see
    /// [`Error::queued_wait`]).
    Queued,
}

/// What a caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Try again later (with backoff): network trouble, timeouts, 5xx, throttling.
    Transient,
    /// The object does not exist (any more).
    NotFound,
    /// The operation is not allowed in the object's current state; re-read it and retry once
    /// it has moved on.
    InvalidState,
    /// The request, the spec, the credentials or the permissions must change; retrying the same
    /// request will not help.
    Terminal,
}

impl ErrorClass {
    /// A short label for metrics and logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::NotFound => "not_found",
            ErrorClass::InvalidState => "invalid_state",
            ErrorClass::Terminal => "terminal",
        }
    }
}

/// An error from the Alibaba Cloud client. Cheap to clone; `Display`/`Debug` are masked.
#[derive(Clone)]
pub struct Error(Box<Inner>);

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    code: Option<String>,
    message: String,
    request_id: Option<String>,
    http_status: Option<u16>,
    retry_after: Option<Duration>,
    product: Option<&'static str>,
    action: Option<String>,
    attempts: u32,
    transient_override: Option<bool>,
    /// The failure happened before the request was sent.
    unsent: bool,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// The fields of an API error response.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApiErrorParts {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub http_status: u16,
    pub retry_after: Option<Duration>,
}

impl Error {
    fn new(kind: ErrorKind, message: impl AsRef<str>) -> Self {
        Error(Box::new(Inner {
            kind,
            code: None,
            message: mask_text(message.as_ref()),
            request_id: None,
            http_status: None,
            retry_after: None,
            product: None,
            action: None,
            attempts: 0,
            transient_override: None,
            unsent: false,
            source: None,
        }))
    }

    pub(crate) fn api(parts: ApiErrorParts) -> Self {
        let mut e = Error::new(
            ErrorKind::Api,
            parts
                .message
                .as_deref()
                .unwrap_or("no error message in the response"),
        );
        e.0.code = parts.code.map(|c| mask_text(&c));
        e.0.request_id = parts.request_id;
        e.0.http_status = Some(parts.http_status);
        e.0.retry_after = parts.retry_after;
        e
    }

    /// Builds an error from a failed HTTP exchange; the URL is dropped from the source.
    pub(crate) fn from_reqwest(err: reqwest::Error) -> Self {
        let kind = if err.is_connect() {
            ErrorKind::Connect
        } else if err.is_timeout() {
            ErrorKind::Timeout
        } else if err.is_builder() {
            ErrorKind::Config
        } else if err.is_decode() {
            ErrorKind::Decode
        } else {
            ErrorKind::Transport
        };
        let err = err.without_url();
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            source = inner.source();
        }
        let mut e = Error::new(kind, message);
        e.0.source = Some(Arc::new(err));
        e
    }

    pub(crate) fn timeout(message: impl AsRef<str>) -> Self {
        Error::new(ErrorKind::Timeout, message)
    }

    pub(crate) fn decode(message: impl AsRef<str>) -> Self {
        Error::new(ErrorKind::Decode, message)
    }

    pub(crate) fn credentials(message: impl AsRef<str>) -> Self {
        Error::new(ErrorKind::Credentials, message)
    }

    /// A credentials failure that may clear up by itself (e.g. a token file being rotated).
    pub(crate) fn credentials_transient(message: impl AsRef<str>) -> Self {
        let mut e = Error::new(ErrorKind::Credentials, message);
        e.0.transient_override = Some(true);
        e
    }

    pub(crate) fn config(message: impl AsRef<str>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// A call a reconcile may not send yet: `ahead` callers go first, its turn comes in `wait`.
    pub(crate) fn queued(wait: Duration, ahead: usize) -> Self {
        let mut e = Error::new(
            ErrorKind::Queued,
            format!(
                "queued behind {ahead} call(s) of this account's budget; sent in about {} ms",
                wait.as_millis()
            ),
        );
        e.0.unsent = true;
        e.0.retry_after = Some(wait);
        e
    }

    /// For a call that was queued instead of sent: how long until its turn.
    pub fn queued_wait(&self) -> Option<Duration> {
        (self.0.kind == ErrorKind::Queued).then(|| self.0.retry_after.unwrap_or_default())
    }

    pub(crate) fn with_call(mut self, product: &'static str, action: &str) -> Self {
        self.0.product.get_or_insert(product);
        if self.0.action.is_none() {
            self.0.action = Some(action.to_string());
        }
        self
    }

    /// Marks an error that happened before the request was sent (e.g. obtaining credentials).
    pub(crate) fn unsent(mut self) -> Self {
        self.0.unsent = true;
        self
    }

    /// Marks an error of the credential exchange (STS) that stopped a call: unless it is worth
    /// retrying, it is terminal — an unknown role is a wrong configuration, not a missing
    /// target object of the call.
    pub(crate) fn credentials_failure(mut self) -> Self {
        if !self.is_retryable() {
            self.0.transient_override = Some(false);
        }
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.0.attempts = attempts;
        self
    }

    /// What went wrong, mechanically.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The service's error code (`Code`, `code`, `ErrCode` or `errorCode`), if it sent one.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// The (masked) error message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The request id the service assigned, for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// The HTTP status of the response (200 for DTS business failures), if there was one.
    pub fn http_status(&self) -> Option<u16> {
        self.0.http_status
    }

    /// How long the service asked us to wait (`x-acs-retry-after` or `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// `mms`, `dts` or `sts`, when the error belongs to a call.
    pub fn product(&self) -> Option<&str> {
        self.0.product
    }

    /// The API action (`DescribeDtsJobDetail`, ...), when the error belongs to a call.
    pub fn action(&self) -> Option<&str> {
        self.0.action.as_deref()
    }

    /// How many attempts were made before giving up (0 when none was sent).
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }

    /// What a caller should do about it; see the module docs for the heuristics.
    pub fn class(&self) -> ErrorClass {
        if let Some(transient) = self.0.transient_override {
            return if transient {
                ErrorClass::Transient
            } else {
                ErrorClass::Terminal
            };
        }
        match self.0.kind {
            ErrorKind::Connect
            | ErrorKind::Timeout
            | ErrorKind::Transport
            | ErrorKind::Decode
            | ErrorKind::Queued => ErrorClass::Transient,
            ErrorKind::Credentials | ErrorKind::Config => ErrorClass::Terminal,
            ErrorKind::Api => classify_api(
                self.code().unwrap_or(""),
                self.0.http_status.unwrap_or(0),
                self.0.retry_after.is_some(),
            ),
        }
    }

    /// Whether trying again later may succeed (the class is `Transient`).
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// Whether the service throttled us.
    pub fn is_throttling(&self) -> bool {
        self.0.kind == ErrorKind::Api
            && (is_throttling_code(self.code().unwrap_or(""))
                || self.0.http_status == Some(429)
                || self.0.retry_after.is_some())
    }

    /// Whether the object does not exist (class `NotFound`).
    pub fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }

    /// Whether the operation is not allowed in the object's current state.
    pub fn is_invalid_state(&self) -> bool {
        self.class() == ErrorClass::InvalidState
    }

    /// Whether the class is `Terminal`.
    pub fn is_terminal(&self) -> bool {
        self.class() == ErrorClass::Terminal
    }

    /// `InvalidSecurityToken.*`: the STS token expired or does not match.
    pub fn is_invalid_security_token(&self) -> bool {
        self.code()
            .is_some_and(|c| starts_with_ignore_case(c, "InvalidSecurityToken"))
    }

    /// Whether the request cannot have reached the service (so even a non-idempotent call may
    /// be repeated).
    pub fn request_not_sent(&self) -> bool {
        self.0.kind == ErrorKind::Connect || self.0.unsent
    }

    /// The label reported to a [`CallObserver`](super::CallObserver): `throttled` or the class.
    pub fn outcome_label(&self) -> &'static str {
        if self.0.kind == ErrorKind::Queued {
            "queued"
        } else if self.is_throttling() {
            "throttled"
        } else {
            self.class().as_str()
        }
    }
}

/// What a service puts into messages that changes with every request: the string to sign of a
/// signature mismatch (it carries the date and nonce), request ids, hashes.
static VOLATILE_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)(server\s+)?string[\s_-]*to[\s_-]*sign.*$").expect("static regex")
});
static VOLATILE_IDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[0-9a-fA-F]{32,}")
        .expect("static regex")
});

/// `message` without the parts that differ from one request to the next.
pub fn stable_message(message: &str) -> String {
    let cut = VOLATILE_TAIL.replace(message, "(string to sign omitted)");
    VOLATILE_IDS.replace_all(&cut, "…").trim().to_string()
}

impl Error {
    /// The error in words that stay the same while nothing changes: the action, the code and the
    /// message, without the request id, the attempts, and per-request details (see
    /// [`stable_message`]). For conditions and events, where a changing text would be a new
    /// status write (and a new watch event) every time; logs use `Display`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if let Some(action) = &self.0.action {
            out.push_str(action);
            if let Some(product) = self.0.product {
                out.push_str(&format!(" ({product})"));
            }
            out.push_str(": ");
        }
        let message = stable_message(&self.0.message);
        match (self.0.kind, &self.0.code) {
            (ErrorKind::Api, Some(code)) => out.push_str(&format!("{code}: {message}")),
            (ErrorKind::Api, None) => out.push_str(&message),
            (kind, _) => out.push_str(&format!("{}: {message}", kind_label(kind))),
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(action) = &self.0.action {
            write!(f, "{action}")?;
            if let Some(product) = self.0.product {
                write!(f, " ({product})")?;
            }
            f.write_str(": ")?;
        }
        match (self.0.kind, &self.0.code) {
            (ErrorKind::Api, Some(code)) => write!(f, "{code}: {}", self.0.message)?,
            (ErrorKind::Api, None) => write!(f, "{}", self.0.message)?,
            (kind, _) => write!(f, "{}: {}", kind_label(kind), self.0.message)?,
        }
        let mut extras = Vec::new();
        if let Some(status) = self.0.http_status {
            extras.push(format!("HTTP {status}"));
        }
        if let Some(rid) = &self.0.request_id {
            extras.push(format!("RequestId {rid}"));
        }
        if self.0.attempts > 1 {
            extras.push(format!("{} attempts", self.0.attempts));
        }
        if !extras.is_empty() {
            write!(f, " [{}]", extras.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("class", &self.class())
            .field("product", &self.0.product)
            .field("action", &self.0.action)
            .field("code", &self.0.code)
            .field("message", &self.0.message)
            .field("request_id", &self.0.request_id)
            .field("http_status", &self.0.http_status)
            .field("retry_after", &self.0.retry_after)
            .field("attempts", &self.0.attempts)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

fn kind_label(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Api => "service error",
        ErrorKind::Connect => "connection failed",
        ErrorKind::Timeout => "timed out",
        ErrorKind::Transport => "connection lost",
        ErrorKind::Decode => "unreadable response",
        ErrorKind::Credentials => "credentials unavailable",
        ErrorKind::Config => "invalid configuration",
        ErrorKind::Queued => "not sent yet",
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Lower-case alphanumerics only, so `Forbidden.InstanceNotFound` and `not_found` compare alike.
fn normalized(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn is_throttling_code(code: &str) -> bool {
    let lower = code.to_ascii_lowercase();
    lower.starts_with("throttling") || lower.contains(".throttling")
}

const TERMINAL_PREFIXES: &[&str] = &[
    "InvalidAccessKeyId",
    "InvalidSecurityToken",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidTimeStamp",
    "Forbidden.RAM",
    "Forbidden.AccessKeyDisabled",
    "Forbidden.NoPermission",
    "NoPermission",
    "ActionUnauthorized",
    "InvalidApi",
    "InvalidProduct",
    "InvalidAction",
    "InvalidVersion",
    "InvalidRegionId",
    "UnsupportedHTTPMethod",
    "InvalidProtocol",
    "LXBuyError",
    "MissingParameter",
    "InvalidParameter",
];

const TRANSIENT_PREFIXES: &[&str] = &[
    "ServiceUnavailable",
    "InternalError",
    "InternalServerError",
    "UnknownError",
    "SignatureNonceUsed",
    "SQLExecuteError",
    "System.Busy",
    "ServiceBusy",
    "ServiceTimeout",
    "RequestTimeout",
];

fn classify_api(code: &str, status: u16, has_retry_after: bool) -> ErrorClass {
    if is_throttling_code(code) || status == 429 || has_retry_after {
        return ErrorClass::Transient;
    }
    if code.eq_ignore_ascii_case("Forbidden")
        || TERMINAL_PREFIXES
            .iter()
            .any(|p| starts_with_ignore_case(code, p))
    {
        return ErrorClass::Terminal;
    }
    let norm = normalized(code);
    if norm == "invalidjobid"
        || ["notfound", "notexist", "nonexist"]
            .iter()
            .any(|n| norm.contains(n))
        || status == 404
    {
        return ErrorClass::NotFound;
    }
    if [
        "invalidjobstatus",
        "invalidtaskstatus",
        "invalidstatus",
        "incorrectstatus",
        "invalidstate",
        "operationdenied",
        "modifydenied",
    ]
    .iter()
    .any(|n| norm.contains(n))
        || status == 409
    {
        return ErrorClass::InvalidState;
    }
    if TRANSIENT_PREFIXES
        .iter()
        .any(|p| starts_with_ignore_case(code, p))
        || status >= 500
    {
        return ErrorClass::Transient;
    }
    ErrorClass::Terminal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str, status: u16) -> Error {
        Error::api(ApiErrorParts {
            code: Some(code.to_string()),
            message: Some("m".into()),
            request_id: Some("RID".into()),
            http_status: status,
            retry_after: None,
        })
    }

    #[test]
    fn classification_follows_the_documented_heuristics() {
        let cases = [
            ("Throttling.User", 400, ErrorClass::Transient),
            ("Rejected.Throttling", 400, ErrorClass::Transient),
            ("Whatever", 429, ErrorClass::Transient),
            ("ServiceUnavailable", 503, ErrorClass::Transient),
            ("InternalError", 500, ErrorClass::Transient),
            ("SQLExecuteError", 200, ErrorClass::Transient),
            ("Odd", 502, ErrorClass::Transient),
            ("Forbidden.InstanceNotFound", 403, ErrorClass::NotFound),
            ("InvalidJobId", 200, ErrorClass::NotFound),
            ("Job.NotExist", 400, ErrorClass::NotFound),
            ("", 404, ErrorClass::NotFound),
            ("InvalidAccessKeyId.NotFound", 404, ErrorClass::Terminal),
            ("InvalidApi.NotFound", 404, ErrorClass::Terminal),
            ("InvalidJobStatus", 400, ErrorClass::InvalidState),
            (
                "DTS.Msg.OperationDenied.JobStatusModifying",
                200,
                ErrorClass::InvalidState,
            ),
            ("Conflict", 409, ErrorClass::InvalidState),
            ("InvalidParameter", 400, ErrorClass::Terminal),
            ("MissingParameter.DtsJobId", 400, ErrorClass::Terminal),
            ("Forbidden.RAM", 403, ErrorClass::Terminal),
            ("NoPermission", 403, ErrorClass::Terminal),
            ("SignatureDoesNotMatch", 400, ErrorClass::Terminal),
            ("InvalidSecurityToken.Expired", 400, ErrorClass::Terminal),
            ("Forbidden", 403, ErrorClass::Terminal),
            ("SomethingNew", 400, ErrorClass::Terminal),
            ("SomethingNew", 200, ErrorClass::Terminal),
        ];
        for (code, status, want) in cases {
            assert_eq!(api(code, status).class(), want, "{code} / {status}");
        }
        assert!(api("Throttling", 400).is_throttling());
        assert!(!api("InternalError", 500).is_throttling());
        assert!(api("InvalidSecurityToken.Expired", 400).is_invalid_security_token());
    }

    #[test]
    fn retry_after_marks_throttling() {
        let e = Error::api(ApiErrorParts {
            code: Some("Busy".into()),
            http_status: 400,
            retry_after: Some(Duration::from_millis(5)),
            ..Default::default()
        });
        assert!(e.is_throttling() && e.is_retryable());
        assert_eq!(e.outcome_label(), "throttled");
    }

    #[test]
    fn the_summary_stays_the_same_from_one_request_to_the_next() {
        let mismatch = |rid: &str, date: &str| {
            Error::api(ApiErrorParts {
                code: Some("SignatureDoesNotMatch".into()),
                message: Some(format!(
                    "Specified signature is not matched with our calculation. server string to sign is:ACS3-HMAC-SHA256\n{date}{rid}"
                )),
                request_id: Some(rid.into()),
                http_status: 400,
                retry_after: None,
            })
            .with_call("mms", "ListMmsDataSources")
            .with_attempts(2)
        };
        let one = mismatch(
            "2D8F4E1A-57C9-4F3B-9A61-0C1E7D2B9F00",
            "2026-12-06T10:00:00Z",
        );
        let two = mismatch(
            "9A0B1C2D-3E4F-4A5B-8C6D-7E8F9A0B1C2D",
            "2026-12-06T10:00:07Z",
        );
        assert_ne!(one.to_string(), two.to_string(), "logs keep the request id");
        assert_eq!(one.summary(), two.summary());
        assert_eq!(
            one.summary(),
            "ListMmsDataSources (mms): SignatureDoesNotMatch: Specified signature is not matched with our calculation. (string to sign omitted)"
        );
        assert_eq!(
            stable_message("job 5e0f5c1d9a7b4c3e8f2a1b0c9d8e7f6a failed"),
            "job … failed"
        );
    }

    #[test]
    fn display_and_debug_are_masked() {
        let e = Error::api(ApiErrorParts {
            code: Some("InvalidAccessKeyId.NotFound".into()),
            message: Some("Specified access key LTAI5tSecretId123 is not found.".into()),
            request_id: Some("R-1".into()),
            http_status: 404,
            retry_after: None,
        })
        .with_call("dts", "DescribeDtsJobDetail");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("LTAI5tSecretId123"), "{shown}");
        assert!(shown.contains("DescribeDtsJobDetail (dts): InvalidAccessKeyId.NotFound"));
        assert!(shown.contains("RequestId R-1"));
    }
}
