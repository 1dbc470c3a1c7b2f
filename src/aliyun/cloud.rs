//! [`Cloud`]: the process-wide client (HTTP pool, call budget, STS cache) and the one path
//! every V3-signed API call takes.

use std::sync::Arc;

use tracing::Span;

use super::budget::{Budget, Waiting};
use super::config::CloudConfig;
use super::credentials::{AccessKey, CredentialCache, Credentials};
use super::dts::DtsClient;
use super::endpoint::{Endpoint, product_endpoint};
use super::error::Error;
use super::mms::MmsClient;
use super::pacing::Pacer;
use super::retry::CallMeta;
use super::scrub::SentSecrets;
use super::transport::{
    ApiRequest, ApiResponse, interpret_revealing, nonce, send, sign_v3_request, to_reqwest, utc_now,
};

/// The Alibaba Cloud client of the process: build it once, clone it freely (an `Arc` inside).
///
/// It owns the HTTP connection pool, the call budget (client-side rate limits and their queues)
/// and the cache of STS sessions, so those outlive any one reconcile.
#[derive(Clone)]
pub struct Cloud {
    pub(crate) inner: Arc<CloudInner>,
}

pub(crate) struct CloudInner {
    pub config: CloudConfig,
    pub http: reqwest::Client,
    pub budget: Budget,
    pub cache: CredentialCache,
    /// Every secret sent so far: scrubbed out of every answer.
    pub sent: SentSecrets,
}

impl std::fmt::Debug for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cloud")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Cloud {
    /// Builds the client. Installs `ring` as the process's rustls crypto provider unless one
    /// is installed already.
    pub fn new(config: CloudConfig) -> Result<Self, Error> {
        // An error only means another provider is installed already; reqwest uses that one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if let Some(base) = &config.endpoint_override {
            // Fail at startup, not on every call.
            product_endpoint(&config, super::endpoint::Product::Mms, "")?;
            tracing::info!(endpoint = %base, "all cloud calls go to the endpoint override");
        }
        if reqwest::header::HeaderValue::from_str(&config.user_agent).is_err() {
            return Err(Error::config("the user agent is not a valid header value"));
        }
        let http = reqwest::Client::builder()
            // HTTP/1.1 like the official SDKs: the signed `host` header is then exactly the
            // header the gateway sees.
            .http1_only()
            // A signed request is never replayed to another host.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(CloudInner {
                budget: Budget::new(&config.rate_limits),
                cache: CredentialCache::default(),
                sent: SentSecrets::default(),
                http,
                config,
            }),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &CloudConfig {
        &self.inner.config
    }

    /// A MaxCompute MMS client for one region and identity (cheap; build one per reconcile).
    pub fn mms(&self, region: impl Into<String>, credentials: Credentials) -> MmsClient {
        MmsClient::new(self.clone(), region.into(), credentials)
    }

    /// A DTS client for one region and identity (cheap; build one per reconcile).
    pub fn dts(&self, region: impl Into<String>, credentials: Credentials) -> DtsClient {
        DtsClient::new(self.clone(), region.into(), credentials)
    }

    /// Callers waiting for a token, per product and priority, over all accounts and regions.
    pub fn budget_waiting(&self) -> Waiting {
        self.inner.budget.waiting()
    }

    /// Calls per second the budget allows one account in one region for `product` (`action`'s
    /// own rule when it has one).
    pub fn budget_rate(&self, product: super::Product, action: &str) -> f64 {
        self.inner
            .budget
            .lane(product, action, 0, "")
            .map_or(f64::INFINITY, |lane| self.inner.budget.rate(&lane))
    }

    /// Resolves the credentials now (runs the STS exchange if needed), e.g. to fail fast at
    /// startup. Returns the AccessKey id in use, masked when it is a long-term `LTAI…` id.
    pub async fn check_credentials(&self, credentials: &Credentials) -> Result<String, Error> {
        let key = self.inner.resolve(credentials).await?;
        Ok(super::mask::mask_text(&key.id))
    }
}

impl CloudInner {
    /// Sends a V3-signed API call with retries; returns the masked response body.
    pub(crate) async fn call(
        &self,
        region: &str,
        credentials: &Credentials,
        req: ApiRequest,
        pacer: &Pacer,
    ) -> Result<ApiResponse, Error> {
        let endpoint = product_endpoint(&self.config, req.product, region)
            .map_err(|e| e.with_call(req.product.as_str(), req.action))?;
        let meta = CallMeta {
            product: req.product,
            action: req.action,
            region,
            identity: credentials.short_id(),
            idempotency: req.idempotency,
            pacer,
        };
        let (req, endpoint) = (&req, &endpoint);
        self.run(meta, move |_| async move {
            self.attempt(&meta, endpoint, credentials, req).await
        })
        .await
    }

    /// One attempt; an `InvalidSecurityToken.*` answer makes it refresh the credentials and
    /// resend once (without counting as a retry).
    async fn attempt(
        &self,
        meta: &CallMeta<'_>,
        endpoint: &Endpoint,
        credentials: &Credentials,
        req: &ApiRequest,
    ) -> Result<ApiResponse, Error> {
        // Failing to get credentials means nothing was sent: safe to retry even a create.
        let key = self
            .resolve(credentials)
            .await
            .map_err(|e| e.unsent().credentials_failure())?;
        match self.send_signed(endpoint, req, &key).await {
            Err(err) if err.is_invalid_security_token() && credentials.is_refreshable() => {
                tracing::debug!(
                    code = err.code().unwrap_or("-"),
                    "security token rejected; refreshing credentials once"
                );
                self.cache.reject(credentials.fingerprint(), &key.id).await;
                let fresh = self
                    .resolve(credentials)
                    .await
                    .map_err(|e| e.unsent().credentials_failure())?;
                self.pace(meta, 2).await?;
                self.send_signed(endpoint, req, &fresh).await
            }
            other => other,
        }
    }

    async fn send_signed(
        &self,
        endpoint: &Endpoint,
        req: &ApiRequest,
        key: &AccessKey,
    ) -> Result<ApiResponse, Error> {
        // Fresh date and nonce for every attempt: a replayed nonce is rejected.
        let signed = sign_v3_request(req, endpoint, key, &utc_now(), &nonce())?;
        let request = to_reqwest(&self.http, signed, &self.config.user_agent)?;
        let raw = send(&self.http, request, self.config.attempt_timeout).await?;
        let sent = self.sent.remember_request(req, key);
        let result = interpret_revealing(req.product, raw, &sent, req.reveal);
        let request_id = match &result {
            Ok(resp) => resp.request_id.clone(),
            Err(err) => err.request_id().map(str::to_string),
        };
        if let Some(rid) = request_id {
            Span::current().record("request_id", rid.as_str());
        }
        result
    }
}
