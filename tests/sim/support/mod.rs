//! Test-only client for the simulator: signs requests with `aliyun::signer` (the real client
//! lives elsewhere) and returns status, headers and JSON.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use aliyun_migration_operator::aliyun::signer;
use aliyun_migration_operator::sim::scenario::{DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET};
use aliyun_migration_operator::sim::{SimConfig, SimHandle, Simulator};
use serde_json::Value;

/// CreateDtsInstance parameters of a pay-as-you-go PolarDB → MaxCompute migration instance.
pub const MIGRATION_PURCHASE: [(&str, &str); 6] = [
    ("PayType", "PostPaid"),
    ("Type", "MIGRATION"),
    ("SourceRegion", "cn-hangzhou"),
    ("DestinationRegion", "cn-hangzhou"),
    ("SourceEndpointEngineName", "PolarDB"),
    ("DestinationEndpointEngineName", "odps"),
];

/// ConfigureDtsJob query parameters of an incremental PolarDB → MaxCompute (ODPS) migration task
/// of the `shop` database on `instance`.
pub fn odps_task(instance: &str) -> Vec<(&str, &str)> {
    vec![
        ("DtsInstanceId", instance),
        ("DtsJobName", "shop"),
        ("JobType", "MIGRATION"),
        ("StructureInitialization", "True"),
        ("DataInitialization", "True"),
        ("DataSynchronization", "true"),
        ("SourceEndpointInstanceType", "PolarDB"),
        ("SourceEndpointEngineName", "PolarDB"),
        ("SourceEndpointInstanceID", "pc-bp1simdemo0polardb"),
        ("SourceEndpointUserName", "reader"),
        ("SourceEndpointPassword", "not-real"),
        ("DestinationEndpointInstanceType", "ODPS"),
        ("DestinationEndpointDataBaseName", "mc_shop"),
        ("DestinationEndpointUserName", "LTAI5tDestinationKey"),
        ("DestinationEndpointPassword", "not-real"),
    ]
}

/// A simulator of the demo scenario with a frozen clock (tests move it explicitly) and rate
/// limits high enough for tight polling loops.
pub async fn frozen() -> SimHandle {
    let mut config = SimConfig::demo().with_time_scale(0.0);
    let limits = &mut config.scenario.rate_limits;
    limits.per_account_default = 100_000;
    limits
        .per_account
        .insert("DescribeDtsJobDetail".into(), 100_000);
    limits
        .per_region
        .insert("DescribeDtsJobDetail".into(), 100_000);
    Simulator::start(config).await.expect("simulator starts")
}

/// A plain HTTP client (for unsigned or hand-signed requests).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// `Code`/`code` of an error body, or `ErrCode` of a DTS business error.
    pub fn code(&self) -> Option<&str> {
        self.body["Code"]
            .as_str()
            .or(self.body["code"].as_str())
            .or(self.body["ErrCode"].as_str())
    }
}

/// How to deviate from a correct signature.
#[derive(Debug, Clone, Default)]
pub struct Tamper {
    pub date: Option<String>,
    pub nonce: Option<String>,
    pub secret: Option<String>,
    /// Sign accept/user-agent too, like the Python SDK.
    pub sign_everything: bool,
    /// Leave x-acs-date out of SignedHeaders.
    pub unsigned_date: bool,
    /// Send a different body than the one hashed.
    pub swap_body: bool,
}

static NONCE: AtomicU64 = AtomicU64::new(1);

/// Signs and sends requests.
#[derive(Debug, Clone)]
pub struct Client {
    pub base: String,
    pub host: String,
    pub access_key_id: String,
    pub secret: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client with the default pair.
    pub fn new(sim: &SimHandle) -> Self {
        Self::with_key(sim, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    }

    /// A client with another pair.
    pub fn with_key(sim: &SimHandle, id: &str, secret: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            base: sim.base_url(),
            host: sim.addr().to_string(),
            access_key_id: id.into(),
            secret: secret.into(),
            token: None,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// The same client with STS credentials.
    pub fn with_sts(&self, id: &str, secret: &str, token: &str) -> Self {
        Self {
            access_key_id: id.into(),
            secret: secret.into(),
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// A DTS 2020-01-01 RPC call, parameters in the query.
    pub async fn dts(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        self.rpc(action, "2020-01-01", params, &[], &Tamper::default())
            .await
    }

    /// An RPC call with query parameters and form-body parameters.
    pub async fn rpc(
        &self,
        action: &str,
        version: &str,
        query: &[(&str, &str)],
        form: &[(&str, &str)],
        tamper: &Tamper,
    ) -> Reply {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = if form.is_empty() {
            None
        } else {
            Some((
                form.iter()
                    .map(|(k, v)| {
                        format!(
                            "{}={}",
                            signer::percent_encode(k),
                            signer::percent_encode(v)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("&")
                    .into_bytes(),
                "application/x-www-form-urlencoded",
            ))
        };
        self.send("POST", "/", &query, body, action, version, tamper)
            .await
    }

    /// An MMS ROA call.
    pub async fn mms(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        action: &str,
    ) -> Reply {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = body.map(|b| {
            (
                b.to_string().into_bytes(),
                "application/json; charset=utf-8",
            )
        });
        self.send(
            method,
            path,
            &query,
            body,
            action,
            "2022-01-04",
            &Tamper::default(),
        )
        .await
    }

    /// Like [`Client::dts`], but a transport failure is returned, not a panic.
    pub async fn try_dts(
        &self,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        let query: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.try_send(
            "POST",
            "/",
            &query,
            None,
            action,
            "2020-01-01",
            &Tamper::default(),
        )
        .await
    }

    /// Signs and sends one request.
    #[allow(clippy::too_many_arguments)]
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<(Vec<u8>, &str)>,
        action: &str,
        version: &str,
        tamper: &Tamper,
    ) -> Reply {
        self.try_send(method, path, query, body, action, version, tamper)
            .await
            .expect("request sent")
    }

    /// Signs and sends one request; transport failures are returned.
    #[allow(clippy::too_many_arguments)]
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<(Vec<u8>, &str)>,
        action: &str,
        version: &str,
        tamper: &Tamper,
    ) -> Result<Reply, reqwest::Error> {
        let date = tamper.date.clone().unwrap_or_else(|| {
            jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        });
        let nonce = tamper.nonce.clone().unwrap_or_else(|| {
            format!(
                "test-nonce-{}-{}",
                std::process::id(),
                NONCE.fetch_add(1, Ordering::Relaxed)
            )
        });
        let payload = body.as_ref().map(|(b, _)| b.clone()).unwrap_or_default();
        let hashed = signer::sha256_hex(&payload);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.host.clone()),
            ("x-acs-action".into(), action.into()),
            ("x-acs-version".into(), version.into()),
            ("x-acs-date".into(), date),
            ("x-acs-signature-nonce".into(), nonce),
            ("x-acs-content-sha256".into(), hashed.clone()),
        ];
        if let Some((_, ct)) = &body {
            headers.push(("content-type".into(), ct.to_string()));
        }
        if let Some(token) = &self.token {
            headers.push(("x-acs-security-token".into(), token.clone()));
            headers.push(("x-acs-accesskey-id".into(), self.access_key_id.clone()));
        }
        let mut unsigned = Vec::new();
        if tamper.sign_everything {
            headers.push(("accept".into(), "application/json".into()));
            headers.push((
                "user-agent".into(),
                "AlibabaCloud (Linux) Python/3.11 TeaDSL/1".into(),
            ));
        }
        let signed: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| !(tamper.unsigned_date && k == "x-acs-date"))
            .cloned()
            .collect();
        if tamper.unsigned_date {
            unsigned.push(
                headers
                    .iter()
                    .find(|(k, _)| k == "x-acs-date")
                    .unwrap()
                    .clone(),
            );
        }
        let secret = tamper.secret.clone().unwrap_or_else(|| self.secret.clone());
        let authorization = signer::sign_v3(
            &signer::CanonicalInput {
                method,
                canonical_uri: path,
                query,
                headers: &signed,
                hashed_payload: &hashed,
            },
            &self.access_key_id,
            &secret,
        );
        let qs = signer::canonical_query(query);
        let url = if qs.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{qs}", self.base)
        };
        let mut req = self.http.request(method.parse().unwrap(), url);
        for (k, v) in headers.iter().chain(unsigned.iter()) {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        req = req.header("authorization", authorization);
        if let Some((b, _)) = body {
            let mut b = b;
            if tamper.swap_body {
                b.push(b' ');
            }
            req = req.body(b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        Ok(Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }
}
