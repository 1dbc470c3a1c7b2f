//! Which host a call goes to.
//!
//! * MaxCompute (MMS): `https://maxcompute.<region>.aliyuncs.com` (`maxcompute-vpc.<region>` with
//!   VPC endpoints) — the documented regional host, not the SDK's central map entry.
//! * DTS: `https://dts.<region>.aliyuncs.com` (no VPC endpoint is documented).
//! * STS: an explicit host when the credentials carry one (`ALIBABA_CLOUD_STS_ENDPOINT`), else
//!   `sts-vpc.<sts region>` / `sts.<sts region>` when a region is known, else the central
//!   `sts.aliyuncs.com` (what the credential libraries default to).
//! * DataWorks: `https://dataworks.<region>.aliyuncs.com` (`dataworks-vpc.<region>` with VPC
//!   endpoints), taken explicitly rather than from the SDK's map, which sends some regions to the
//!   central host (`docs/cloud-apis.md#dataworks-wire-quirks`).
//! * OpenPlatform (upload grants for DataWorks packages): the central `openplatform.aliyuncs.com`,
//!   as the SDK's Advance flow calls it.
//! * OSS (the package upload and the export's download): the host DataWorks names in its answer.
//! * [`CloudConfig::endpoint_override`](super::CloudConfig) beats all of them.

use std::fmt;

use reqwest::Url;

use super::config::CloudConfig;
use super::error::Error;

/// An Alibaba Cloud product this client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Product {
    /// MaxCompute Migration Service (MaxCompute OpenAPI 2022-01-04, ROA).
    Mms,
    /// Data Transmission Service (2020-01-01, RPC), both API generations.
    Dts,
    /// Security Token Service (2015-04-01, RPC).
    Sts,
    /// DataWorks OpenAPI `dataworks-public` (2020-05-18, RPC): the Migration Assistant.
    DataWorks,
    /// OpenPlatform (2019-12-19, RPC): `AuthorizeFileUpload` for DataWorks package uploads.
    OpenPlatform,
    /// OSS form uploads and pre-signed downloads of DataWorks packages (not V3-signed).
    Oss,
}

impl Product {
    /// Short lower-case name for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Product::Mms => "mms",
            Product::Dts => "dts",
            Product::Sts => "sts",
            Product::DataWorks => "dataworks",
            Product::OpenPlatform => "openplatform",
            Product::Oss => "oss",
        }
    }

    /// The API version sent as `x-acs-version` / `Version`.
    pub fn api_version(&self) -> &'static str {
        match self {
            Product::Mms => "2022-01-04",
            Product::Dts => "2020-01-01",
            Product::Sts => "2015-04-01",
            Product::DataWorks => "2020-05-18",
            Product::OpenPlatform => "2019-12-19",
            // OSS uploads and downloads carry no API version.
            Product::Oss => "",
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where to send a request: the base URL (scheme, authority, optional path prefix) and the
/// exact `host` header value that gets signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub base: String,
    pub host: String,
}

impl Endpoint {
    /// The full URL for an already-encoded path and query string.
    pub fn url(&self, path: &str, query: &str) -> Result<Url, Error> {
        let mut text = format!("{}{}", self.base, path);
        if !query.is_empty() {
            text.push('?');
            text.push_str(query);
        }
        Url::parse(&text).map_err(|e| Error::config(format!("invalid request URL: {e}")))
    }

    fn from_base(base: &str) -> Result<Self, Error> {
        let url = Url::parse(base)
            .map_err(|e| Error::config(format!("invalid endpoint {base:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(Error::config(format!(
                "endpoint {base:?} must be an http(s) base URL without a query"
            )));
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(Error::config(format!("endpoint {base:?} has no host"))),
        };
        Ok(Endpoint {
            base: base.trim_end_matches('/').to_string(),
            host,
        })
    }

    fn https(host: String) -> Self {
        Endpoint {
            base: format!("https://{host}"),
            host,
        }
    }
}

/// Region ids become part of a host name: only `[a-z0-9-]` is accepted.
pub(crate) fn validate_region(region: &str) -> Result<(), Error> {
    let ok = !region.is_empty()
        && region.len() <= 63
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!("invalid region id {region:?}")))
    }
}

/// The endpoint of MMS or DTS in a region.
pub(crate) fn product_endpoint(
    config: &CloudConfig,
    product: Product,
    region: &str,
) -> Result<Endpoint, Error> {
    if let Some(base) = &config.endpoint_override {
        return Endpoint::from_base(base);
    }
    validate_region(region)?;
    let host = match product {
        Product::Mms if config.vpc_endpoints => format!("maxcompute-vpc.{region}.aliyuncs.com"),
        Product::Mms => format!("maxcompute.{region}.aliyuncs.com"),
        Product::Dts => format!("dts.{region}.aliyuncs.com"),
        Product::DataWorks if config.vpc_endpoints => {
            format!("dataworks-vpc.{region}.aliyuncs.com")
        }
        Product::DataWorks => format!("dataworks.{region}.aliyuncs.com"),
        Product::OpenPlatform => "openplatform.aliyuncs.com".to_string(),
        Product::Oss => {
            return Err(Error::config(
                "OSS hosts come from DataWorks' answers, not from a region",
            ));
        }
        Product::Sts => return sts_endpoint(config, None, Some(region), config.vpc_endpoints),
    };
    Ok(Endpoint::https(host))
}

/// The STS endpoint: override, else explicit host, else regional (VPC or public), else central.
pub(crate) fn sts_endpoint(
    config: &CloudConfig,
    explicit: Option<&str>,
    region: Option<&str>,
    vpc: bool,
) -> Result<Endpoint, Error> {
    if let Some(base) = &config.endpoint_override {
        return Endpoint::from_base(base);
    }
    if let Some(explicit) = explicit.filter(|e| !e.is_empty()) {
        return if explicit.contains("://") {
            Endpoint::from_base(explicit)
        } else {
            Endpoint::from_base(&format!("https://{explicit}"))
        };
    }
    match region.filter(|r| !r.is_empty()) {
        Some(region) => {
            validate_region(region)?;
            let network = if vpc { "sts-vpc" } else { "sts" };
            Ok(Endpoint::https(format!("{network}.{region}.aliyuncs.com")))
        }
        None => Ok(Endpoint::https("sts.aliyuncs.com".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regional_hosts() {
        let c = CloudConfig::default();
        let mms = product_endpoint(&c, Product::Mms, "cn-hangzhou").unwrap();
        assert_eq!(mms.base, "https://maxcompute.cn-hangzhou.aliyuncs.com");
        assert_eq!(mms.host, "maxcompute.cn-hangzhou.aliyuncs.com");
        let dts = product_endpoint(&c, Product::Dts, "ap-southeast-1").unwrap();
        assert_eq!(dts.host, "dts.ap-southeast-1.aliyuncs.com");
        let vpc = CloudConfig {
            vpc_endpoints: true,
            ..CloudConfig::default()
        };
        assert_eq!(
            product_endpoint(&vpc, Product::Mms, "cn-beijing")
                .unwrap()
                .host,
            "maxcompute-vpc.cn-beijing.aliyuncs.com"
        );
        assert_eq!(
            product_endpoint(&c, Product::DataWorks, "cn-shanghai")
                .unwrap()
                .host,
            "dataworks.cn-shanghai.aliyuncs.com"
        );
        assert_eq!(
            product_endpoint(&c, Product::OpenPlatform, "cn-shanghai")
                .unwrap()
                .host,
            "openplatform.aliyuncs.com"
        );
        assert!(product_endpoint(&c, Product::Dts, "evil.com/x").is_err());
        assert!(product_endpoint(&c, Product::Dts, "").is_err());
    }

    #[test]
    fn sts_hosts() {
        let c = CloudConfig::default();
        assert_eq!(
            sts_endpoint(&c, None, None, false).unwrap().host,
            "sts.aliyuncs.com"
        );
        assert_eq!(
            sts_endpoint(&c, None, Some("cn-shanghai"), true)
                .unwrap()
                .host,
            "sts-vpc.cn-shanghai.aliyuncs.com"
        );
        assert_eq!(
            sts_endpoint(
                &c,
                Some("sts-vpc.cn-beijing.aliyuncs.com"),
                Some("x"),
                false
            )
            .unwrap()
            .base,
            "https://sts-vpc.cn-beijing.aliyuncs.com"
        );
    }

    #[test]
    fn override_wins_and_names_host_and_port() {
        let c = CloudConfig {
            endpoint_override: Some("http://127.0.0.1:18080/".into()),
            ..CloudConfig::default()
        };
        for e in [
            product_endpoint(&c, Product::Mms, "cn-hangzhou").unwrap(),
            product_endpoint(&c, Product::Dts, "whatever region").unwrap(),
            sts_endpoint(&c, Some("sts.example.com"), None, false).unwrap(),
        ] {
            assert_eq!(e.base, "http://127.0.0.1:18080");
            assert_eq!(e.host, "127.0.0.1:18080");
        }
        let url = product_endpoint(&c, Product::Mms, "x")
            .unwrap()
            .url("/api/v1/mms/datasources/a%2Fb", "k=v%20w")
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:18080/api/v1/mms/datasources/a%2Fb?k=v%20w"
        );
        let default_port = CloudConfig {
            endpoint_override: Some("https://sim.local".into()),
            ..CloudConfig::default()
        };
        assert_eq!(
            product_endpoint(&default_port, Product::Dts, "x")
                .unwrap()
                .host,
            "sim.local"
        );
    }
}
