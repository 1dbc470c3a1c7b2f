//! Resolution of [`Credentials`] into a usable key: static keys as they are, STS exchanges
//! through the cache with single-flight refresh.

use std::future::Future;
use std::pin::Pin;

use tracing::Span;

use super::super::cloud::CloudInner;
use super::super::endpoint::{Endpoint, Product, sts_endpoint};
use super::super::error::Error;
use super::super::pacing::Pacer;
use super::super::retry::CallMeta;
use super::super::scrub::secret_pairs;
use super::super::signer::canonical_query;
use super::super::transport::{
    CONTENT_TYPE_FORM, Idempotency, encode_form, interpret, nonce, send, utc_now,
};
use super::{
    AccessKey, AssumeRoleOptions, Cached, Credentials, OidcSettings, Source, assume_role_params,
    oidc_params, parse_sts_credentials,
};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn default_session_name() -> String {
    format!(
        "aliyun-migration-operator-{}",
        jiff::Timestamp::now().as_millisecond()
    )
}

/// The key of static credentials (`None` for the STS kinds).
fn static_key(source: &Source) -> Option<AccessKey> {
    match source {
        Source::Static {
            access_key_id,
            secret,
            token,
        } => Some(AccessKey {
            id: access_key_id.clone(),
            secret: secret.clone(),
            token: token.clone(),
            expiration: None,
        }),
        Source::Oidc(_) | Source::AssumeRole { .. } => None,
    }
}

impl CloudInner {
    fn sts_duration_secs(&self, requested: Option<std::time::Duration>) -> u64 {
        requested
            .unwrap_or(self.config.sts_duration)
            .as_secs()
            .clamp(900, 43_200)
    }

    /// The key to sign with now.
    pub(crate) fn resolve<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<AccessKey, Error>> {
        Box::pin(async move {
            if let Some(key) = static_key(credentials.source()) {
                return Ok(key);
            }
            let slot = self.cache.slot(credentials.fingerprint());
            // Holding the slot for the whole exchange: concurrent callers wait for this one.
            let mut cached = slot.lock().await;
            if let Some(c) = cached.as_ref()
                && c.is_fresh(now())
            {
                return Ok(c.key().clone());
            }
            match self.exchange(credentials).await {
                Ok(key) => {
                    *cached = Some(Cached::new(key.clone(), now()));
                    Ok(key)
                }
                Err(err) => match cached.as_ref() {
                    Some(c) if c.is_usable(now()) => {
                        tracing::warn!(
                            error = %err,
                            credentials = ?credentials,
                            "credential refresh failed; using the current STS session until it expires"
                        );
                        Ok(c.key().clone())
                    }
                    _ => Err(err),
                },
            }
        })
    }

    async fn exchange(&self, credentials: &Credentials) -> Result<AccessKey, Error> {
        match credentials.source() {
            source @ Source::Static { .. } => static_key(source)
                .ok_or_else(|| Error::credentials("static credentials without a key")),
            Source::Oidc(settings) => self.assume_role_with_oidc(credentials, settings).await,
            Source::AssumeRole { base, options } => {
                self.assume_role(credentials, base, options).await
            }
        }
    }

    async fn assume_role_with_oidc(
        &self,
        credentials: &Credentials,
        settings: &OidcSettings,
    ) -> Result<AccessKey, Error> {
        let endpoint = sts_endpoint(
            &self.config,
            settings.sts.endpoint.as_deref(),
            settings.sts.region.as_deref(),
            settings.sts.vpc,
        )?;
        // Re-read on every exchange: kubelet rotates the projected token.
        let token = tokio::fs::read_to_string(&settings.token_file)
            .await
            .map_err(|e| {
                Error::credentials_transient(format!(
                    "cannot read the OIDC token file {}: {e}",
                    settings.token_file.display()
                ))
            })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::credentials_transient(format!(
                "the OIDC token file {} is empty",
                settings.token_file.display()
            )));
        }
        let session = settings
            .session_name
            .clone()
            .unwrap_or_else(default_session_name);
        let duration = self.sts_duration_secs(settings.duration);
        self.sts_call("AssumeRoleWithOIDC", &endpoint, credentials, || {
            oidc_params(settings, token, &session, duration, &utc_now())
        })
        .await
    }

    async fn assume_role(
        &self,
        credentials: &Credentials,
        base: &Credentials,
        options: &AssumeRoleOptions,
    ) -> Result<AccessKey, Error> {
        let endpoint = sts_endpoint(
            &self.config,
            options.sts.endpoint.as_deref(),
            options.sts.region.as_deref(),
            options.sts.vpc,
        )?;
        let session = options
            .session_name
            .clone()
            .unwrap_or_else(default_session_name);
        let duration = self.sts_duration_secs(options.duration);
        let mut base_key = self.resolve(base).await?;
        let mut refreshed_base = false;
        loop {
            let key = &base_key;
            let result = self
                .sts_call("AssumeRole", &endpoint, credentials, || {
                    assume_role_params(
                        key,
                        options,
                        &session,
                        duration,
                        &utc_now(),
                        &nonce(),
                        "POST",
                    )
                })
                .await;
            match result {
                Err(err)
                    if err.is_invalid_security_token()
                        && base.is_refreshable()
                        && !refreshed_base =>
                {
                    self.cache.reject(base.fingerprint(), &base_key.id).await;
                    base_key = self.resolve(base).await?;
                    refreshed_base = true;
                }
                other => return other,
            }
        }
    }

    /// One STS exchange with retries; `params` builds fresh (query, form) for every attempt.
    async fn sts_call(
        &self,
        action: &'static str,
        endpoint: &Endpoint,
        credentials: &Credentials,
        params: impl Fn() -> (Vec<(String, String)>, Vec<(String, String)>),
    ) -> Result<AccessKey, Error> {
        let meta = CallMeta {
            product: Product::Sts,
            action,
            region: "sts",
            identity: credentials.short_id(),
            idempotency: Idempotency::Idempotent,
            // Exchanges are cached and rare: waiting for their own small budget is fine.
            pacer: &Pacer::default(),
        };
        let params = &params;
        self.run(meta, move |_| async move {
            let (query, form) = params();
            let url = endpoint.url("/", &canonical_query(&query))?;
            let request = self
                .http
                .post(url)
                .header("host", &endpoint.host)
                .header("content-type", CONTENT_TYPE_FORM)
                .header("accept", "application/json")
                .header("user-agent", &self.config.user_agent)
                .header("x-acs-action", action)
                .header("x-acs-version", Product::Sts.api_version())
                .body(encode_form(&form))
                .build()
                .map_err(Error::from_reqwest)?;
            let raw = send(&self.http, request, self.config.attempt_timeout).await?;
            if !(200..300).contains(&raw.status) {
                let mut secrets = secret_pairs(&query);
                secrets.extend(secret_pairs(&form));
                let sent = self.sent.remember(secrets);
                let err = match interpret(Product::Sts, raw, &sent) {
                    Err(err) => err,
                    Ok(_) => Error::decode("STS error without an error status"),
                };
                if let Some(rid) = err.request_id() {
                    Span::current().record("request_id", rid);
                }
                return Err(err);
            }
            parse_sts_credentials(&raw.body)
        })
        .await
    }
}
