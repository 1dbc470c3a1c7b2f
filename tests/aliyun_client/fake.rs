//! A scripted HTTP fake of the Alibaba Cloud endpoints on 127.0.0.1: records every request and
//! answers from per-action queues (action = `x-acs-action` header or `Action` query parameter).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aliyun_migration_operator::aliyun::signer::{
    CanonicalInput, canonical_query, parse_authorization_v3, rpc_v2_signature,
    rpc_v2_string_to_sign, sha256_hex, sign_v3,
};
use aliyun_migration_operator::aliyun::{
    Cloud, CloudConfig, Credentials, RateLimits, RetryPolicy, SecretString,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// AccessKey the tests sign with.
pub const AK_ID: &str = "LTAI5tFakeAccessKeyId";
/// Its secret.
pub const AK_SECRET: &str = "fake-access-key-secret";

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
    pub drop_connection: bool,
}

impl Reply {
    pub fn json(body: Value) -> Self {
        Self {
            status: 200,
            headers: vec![(
                "content-type".into(),
                "application/json;charset=utf-8".into(),
            )],
            body: body.to_string(),
            delay: Duration::ZERO,
            drop_connection: false,
        }
    }

    /// An error body in the gateway shape.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(serde_json::json!({
            "RequestId": format!("REQ-{code}"), "HostId": "fake", "Code": code, "Message": message,
        }))
        .status(status)
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sends the status line and headers, then breaks the connection mid-body.
    pub fn dropped() -> Self {
        Self {
            drop_connection: true,
            ..Self::json(Value::Null)
        }
    }
}

/// A request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub action: String,
    pub method: String,
    /// Path exactly as sent (still percent-encoded).
    pub path: String,
    /// Query string exactly as sent.
    pub raw_query: String,
    /// Decoded query pairs in wire order.
    pub query: Vec<(String, String)>,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Form fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        pairs(std::str::from_utf8(&self.body).expect("utf-8 form"))
    }

    pub fn form_value(&self, key: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct State {
    scripts: HashMap<String, VecDeque<Reply>>,
    defaults: HashMap<String, Reply>,
    requests: Vec<Recorded>,
}

/// The running fake; stops when dropped.
pub struct Fake {
    pub base_url: String,
    pub host: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(AxumState(state): AxumState<Arc<Mutex<State>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default()
        .to_vec();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let query = pairs(&raw_query);
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let action = headers
        .iter()
        .find(|(k, _)| k == "x-acs-action")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default();
    let reply = {
        let mut st = state.lock().unwrap();
        st.requests.push(Recorded {
            action: action.clone(),
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            raw_query,
            query,
            headers,
            body,
            at: Instant::now(),
        });
        st.scripts
            .get_mut(&action)
            .and_then(VecDeque::pop_front)
            .or_else(|| st.defaults.get(&action).cloned())
    };
    let reply = reply.unwrap_or_else(|| {
        Reply::error(
            500,
            "NoScript",
            &format!("the fake has no reply for {action:?}"),
        )
    });
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let body = if reply.drop_connection {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"{\"RequestId\":")),
            Err(std::io::Error::other("connection dropped by the fake")),
        ];
        Body::from_stream(futures::stream::iter(chunks))
    } else {
        Body::from(reply.body.clone())
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (k, v) in &reply.headers {
        response.headers_mut().insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    response
}

impl Fake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base_url: format!("http://{addr}"),
            host: addr.to_string(),
            state,
            server,
        }
    }

    /// Queues a reply for the next request of `action`.
    pub fn push(&self, action: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .entry(action.to_string())
            .or_default()
            .push_back(reply);
    }

    /// The reply for `action` once its queue is empty.
    pub fn set_default(&self, action: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .defaults
            .insert(action.to_string(), reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn requests_for(&self, action: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.action == action)
            .collect()
    }

    /// The only request of `action`.
    pub fn one(&self, action: &str) -> Recorded {
        let all = self.requests_for(action);
        assert_eq!(all.len(), 1, "expected one {action} request, got {all:#?}");
        all.into_iter().next().unwrap()
    }

    /// Test settings: everything to this fake, fast retries, no rate limits.
    pub fn config(&self) -> CloudConfig {
        CloudConfig {
            endpoint_override: Some(self.base_url.clone()),
            attempt_timeout: Duration::from_secs(3),
            call_deadline: Duration::from_secs(8),
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(200),
                jitter: true,
            },
            rate_limits: RateLimits::unlimited(),
            ..CloudConfig::default()
        }
    }

    pub fn cloud(&self) -> Cloud {
        Cloud::new(self.config()).unwrap()
    }
}

/// The static test identity.
pub fn creds() -> Credentials {
    Credentials::static_key(AK_ID, SecretString::new(AK_SECRET), None)
}

/// Checks the V3 signature of a recorded request the way the gateway does: recompute it over
/// the headers its `SignedHeaders` lists, and compare. Also checks the body hash, that the
/// mandatory headers are signed, and that the query was sent in canonical form.
pub fn verify_v3(rec: &Recorded, access_key_id: &str, secret: &str) {
    let auth = rec.header("authorization").expect("authorization header");
    let parsed = parse_authorization_v3(auth).expect("V3 authorization");
    assert_eq!(parsed.access_key_id, access_key_id);
    for required in [
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        assert!(
            parsed.signed_headers.iter().any(|h| h == required),
            "{required} not signed: {auth}"
        );
    }
    if !rec.body.is_empty() {
        assert!(parsed.signed_headers.iter().any(|h| h == "content-type"));
    }
    let hashed = rec.header("x-acs-content-sha256").unwrap();
    assert_eq!(hashed, sha256_hex(&rec.body), "body hash");
    let headers: Vec<(String, String)> = parsed
        .signed_headers
        .iter()
        .map(|h| {
            (
                h.clone(),
                rec.header(h)
                    .unwrap_or_else(|| panic!("signed header {h} not sent"))
                    .to_string(),
            )
        })
        .collect();
    let expected = sign_v3(
        &CanonicalInput {
            method: &rec.method,
            canonical_uri: &rec.path,
            query: &rec.query,
            headers: &headers,
            hashed_payload: hashed,
        },
        access_key_id,
        secret,
    );
    assert_eq!(auth, expected, "signature of {}", rec.action);
    assert_eq!(
        rec.raw_query,
        canonical_query(&rec.query),
        "query sent in canonical form"
    );
    let date = rec.header("x-acs-date").unwrap();
    assert!(
        date.len() == 20 && date.ends_with('Z') && date.as_bytes()[10] == b'T',
        "{date}"
    );
}

/// Checks a legacy RPC (HMAC-SHA1) signature over query + form parameters.
pub fn verify_rpc_v2(rec: &Recorded, secret: &str) {
    let signature = rec.query_value("Signature").expect("Signature").to_string();
    let params: Vec<(String, String)> = rec
        .query
        .iter()
        .cloned()
        .chain(rec.form())
        .filter(|(k, _)| k != "Signature")
        .collect();
    let sts = rpc_v2_string_to_sign(&rec.method, &params);
    assert_eq!(signature, rpc_v2_signature(secret, &sts), "RPC signature");
}

/// Asserts the query pairs equal `expected` (order-insensitive).
pub fn assert_query(rec: &Recorded, expected: &[(&str, &str)]) {
    let mut got: Vec<(String, String)> = rec.query.clone();
    got.sort();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want, "query of {}", rec.action);
}

/// Asserts the form pairs equal `expected` (order-insensitive).
pub fn assert_form(rec: &Recorded, expected: &[(&str, &str)]) {
    let mut got = rec.form();
    got.sort();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want, "form of {}", rec.action);
}

/// The common V3 header checks for a request against this fake.
pub fn assert_v3_headers(fake: &Fake, rec: &Recorded, action: &str, version: &str) {
    assert_eq!(rec.header("x-acs-action"), Some(action));
    assert_eq!(rec.header("x-acs-version"), Some(version));
    assert_eq!(rec.header("host"), Some(fake.host.as_str()));
    assert_eq!(rec.header("accept"), Some("application/json"));
    assert!(
        rec.header("user-agent")
            .is_some_and(|u| u.starts_with("aliyun-migration-operator/"))
    );
    assert_eq!(rec.header("x-acs-security-token"), None);
    verify_v3(rec, AK_ID, AK_SECRET);
}
