//! What a request is: its product, action and version, from the MMS ROA path or the RPC
//! `Action`/`Version` parameters (or their `x-acs-*` headers).

use super::request::Incoming;
use crate::sim::dataworks;
use crate::sim::dts::{self, actions, legacy};
use crate::sim::mms::routes as mms_routes;
use crate::sim::sts;
use crate::sim::wire::{ApiError, Params, Product};

/// What a request is, once classified.
pub(super) struct Classified {
    pub product: Product,
    pub action: String,
    pub version: String,
    pub rpc_params: Option<Params>,
    pub query: Params,
    pub mms_route: Option<mms_routes::Route>,
}

/// Classifies a request; an error comes with the product whose error shape it takes.
pub(super) fn classify(
    incoming: &Incoming,
    body: &[u8],
) -> Result<Classified, (Product, ApiError)> {
    let query = Params::from_query(&incoming.raw_query);
    if incoming.path.starts_with(mms_routes::PREFIX) {
        return classify_mms(incoming, query).map_err(|e| (Product::Mms, e));
    }
    if incoming.path != "/" {
        return Err((
            Product::Dts,
            ApiError::new(
                404,
                "InvalidApi.NotFound",
                format!(
                    "Specified api is not found: {} {}.",
                    incoming.method, incoming.path
                ),
            ),
        ));
    }
    classify_rpc(incoming, body, query)
}

fn classify_mms(incoming: &Incoming, query: Params) -> Result<Classified, ApiError> {
    let (method, path) = (&incoming.method, &incoming.path);
    let route = mms_routes::match_route(method, path).ok_or_else(|| {
        ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("Specified api is not found: {method} {path}."),
        )
    })?;
    if let Some(v) = incoming.header("x-acs-version")
        && v != mms_routes::VERSION
    {
        return Err(ApiError::new(
            400,
            "InvalidVersion",
            format!("Specified parameter Version {v} is not valid for MaxCompute."),
        ));
    }
    if let Some(a) = incoming.header("x-acs-action")
        && a != route.action
    {
        return Err(ApiError::new(
            400,
            "InvalidAction.Mismatch",
            format!(
                "x-acs-action {a} does not match the API at {method} {path} ({}).",
                route.action
            ),
        ));
    }
    Ok(Classified {
        product: Product::Mms,
        action: route.action.to_string(),
        version: mms_routes::VERSION.to_string(),
        rpc_params: None,
        query,
        mms_route: Some(route),
    })
}

/// An RPC call: its parameters are the query plus, for a form post, the body's fields.
fn classify_rpc(
    incoming: &Incoming,
    body: &[u8],
    query: Params,
) -> Result<Classified, (Product, ApiError)> {
    let mut params = query.clone();
    let form = incoming.header("content-type").is_some_and(|c| {
        c.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if form {
        params.extend_form(body);
    }
    let action = incoming
        .header("x-acs-action")
        .or_else(|| params.get("Action"))
        .map(str::to_string)
        .ok_or_else(|| (Product::Dts, ApiError::missing("Action")))?;
    let version = incoming
        .header("x-acs-version")
        .or_else(|| params.get("Version"))
        .map(str::to_string)
        .ok_or_else(|| (Product::Dts, ApiError::missing("Version")))?;
    let product = rpc_product(&action, &version)?;
    Ok(Classified {
        product,
        action,
        version,
        rpc_params: Some(params),
        query,
        mms_route: None,
    })
}

/// The product of an RPC version; an action it lacks is that product's 404, an unknown
/// version is DTS's 400.
fn rpc_product(action: &str, version: &str) -> Result<Product, (Product, ApiError)> {
    let (product, known) = if version == dataworks::VERSION {
        (Product::DataWorks, dataworks::ACTIONS.contains(&action))
    } else if version == dataworks::OPENPLATFORM_VERSION {
        (
            Product::OpenPlatform,
            dataworks::OPENPLATFORM_ACTIONS.contains(&action),
        )
    } else if version == sts::VERSION {
        (Product::Sts, sts::ACTIONS.contains(&action))
    } else if dts::VERSIONS.contains(&version) {
        let known = legacy::ACTIONS.contains(&action)
            || (version == "2020-01-01" && actions::ACTIONS.contains(&action));
        (Product::Dts, known)
    } else {
        return Err((
            Product::Dts,
            ApiError::new(
                400,
                "InvalidVersion",
                format!("Specified parameter Version {version} is not valid."),
            ),
        ));
    };
    if known {
        Ok(product)
    } else {
        Err((
            product,
            ApiError::new(
                404,
                "InvalidAction.NotFound",
                format!("Specified api {action} is not found for version {version}."),
            ),
        ))
    }
}

/// The product's name in the request log.
pub(super) fn product_name(p: Product) -> &'static str {
    match p {
        Product::Mms => "MMS",
        Product::Dts => "DTS",
        Product::Sts => "STS",
        Product::DataWorks => "DataWorks",
        Product::OpenPlatform => "OpenPlatform",
    }
}
