//! The HTTP side: one listener serving the MMS ROA paths, the DTS and STS RPC actions and the
//! `/_sim/` admin API. Each request is classified (product, action), authenticated, rate
//! limited, possibly hit by an injected fault, handled against the world, and logged.
//!
//! The connection loop is hyper's own (not `axum::serve`) so that a "drop" fault can close a
//! connection without sending any response.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use super::admin;
use super::auth::{Principal, SignedRequest};
use super::clock::{fmt_iso, wall_millis};
use super::config::SimConfig;
use super::dataworks;
use super::dts::{self, actions, legacy};
use super::echo;
use super::faults::{Echo, Injected};
use super::mms::routes as mms_routes;
use super::reqlog::RequestRecord;
use super::sts;
use super::wire::{ApiError, Params, Product};
use super::world::World;

/// Largest request body accepted: a DataWorks package upload (30 MB) and its form fields.
const MAX_BODY: usize = 31 * 1024 * 1024;

/// State shared by all connections.
#[derive(Debug)]
pub struct Shared {
    world: Mutex<World>,
}

impl Shared {
    /// Locks the world; a panic in another handler does not make the simulator unusable.
    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The peer of a connection (admin calls are only taken from loopback peers).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Marks a response whose connection must be closed without answering.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Starts simulators in-process.
pub struct Simulator;

impl Simulator {
    /// Binds `config.listen` and serves until [`SimHandle::shutdown`].
    pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        let world = World::new(&config)?;
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
        });
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let router = axum::Router::new()
            .nest("/_sim", admin::router())
            .fallback(cloud)
            .with_state(shared.clone());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, router, rx));
        Ok(SimHandle {
            addr,
            shutdown: tx,
            task,
            shared,
        })
    }
}

/// A running simulator.
pub struct SimHandle {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, the endpoint for every product.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A typed client of the admin API.
    pub fn admin(&self) -> admin::AdminClient {
        admin::AdminClient::new(&self.base_url())
    }

    /// Runs `f` on the world (in-process tests).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.shared.lock())
    }

    /// Stops accepting, lets in-flight requests finish (5 s at most) and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

async fn serve(listener: TcpListener, router: axum::Router, mut stop: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let router = router.clone();
                let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    let router = router.clone();
                    async move {
                        let resp = match router.oneshot(req.map(Body::new)).await {
                            Ok(r) => r,
                            Err(never) => match never {},
                        };
                        if resp.extensions().get::<DropConnection>().is_some() {
                            Err(DropConnection)
                        } else {
                            Ok(resp)
                        }
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
}

/// What a request is, once classified.
struct Classified {
    product: Product,
    action: String,
    version: String,
    rpc_params: Option<Params>,
    query: Params,
    mms_route: Option<mms_routes::Route>,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn classify(
    method: &str,
    path: &str,
    raw_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Classified, (Product, ApiError)> {
    let query = Params::from_query(raw_query);
    if path.starts_with(mms_routes::PREFIX) {
        let err = |e| (Product::Mms, e);
        let route = mms_routes::match_route(method, path).ok_or_else(|| {
            err(ApiError::new(
                404,
                "InvalidAction.NotFound",
                format!("Specified api is not found: {method} {path}."),
            ))
        })?;
        if let Some(v) = header(headers, "x-acs-version")
            && v != mms_routes::VERSION
        {
            return Err(err(ApiError::new(
                400,
                "InvalidVersion",
                format!("Specified parameter Version {v} is not valid for MaxCompute."),
            )));
        }
        if let Some(a) = header(headers, "x-acs-action")
            && a != route.action
        {
            return Err(err(ApiError::new(
                400,
                "InvalidAction.Mismatch",
                format!(
                    "x-acs-action {a} does not match the API at {method} {path} ({}).",
                    route.action
                ),
            )));
        }
        return Ok(Classified {
            product: Product::Mms,
            action: route.action.to_string(),
            version: mms_routes::VERSION.to_string(),
            rpc_params: None,
            query,
            mms_route: Some(route),
        });
    }
    if path != "/" {
        return Err((
            Product::Dts,
            ApiError::new(
                404,
                "InvalidApi.NotFound",
                format!("Specified api is not found: {method} {path}."),
            ),
        ));
    }
    let mut params = query.clone();
    let form = header(headers, "content-type").is_some_and(|c| {
        c.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if form {
        params.extend_form(body);
    }
    let action = header(headers, "x-acs-action")
        .or_else(|| params.get("Action"))
        .map(str::to_string)
        .ok_or_else(|| (Product::Dts, ApiError::missing("Action")))?;
    let version = header(headers, "x-acs-version")
        .or_else(|| params.get("Version"))
        .map(str::to_string)
        .ok_or_else(|| (Product::Dts, ApiError::missing("Version")))?;
    let not_found = |product| {
        (
            product,
            ApiError::new(
                404,
                "InvalidAction.NotFound",
                format!("Specified api {action} is not found for version {version}."),
            ),
        )
    };
    let product = if version == dataworks::VERSION {
        if !dataworks::ACTIONS.contains(&action.as_str()) {
            return Err(not_found(Product::DataWorks));
        }
        Product::DataWorks
    } else if version == dataworks::OPENPLATFORM_VERSION {
        if !dataworks::OPENPLATFORM_ACTIONS.contains(&action.as_str()) {
            return Err(not_found(Product::OpenPlatform));
        }
        Product::OpenPlatform
    } else if version == sts::VERSION {
        if !sts::ACTIONS.contains(&action.as_str()) {
            return Err(not_found(Product::Sts));
        }
        Product::Sts
    } else if dts::VERSIONS.contains(&version.as_str()) {
        let known = legacy::ACTIONS.contains(&action.as_str())
            || (version == "2020-01-01" && actions::ACTIONS.contains(&action.as_str()));
        if !known {
            return Err(not_found(Product::Dts));
        }
        Product::Dts
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
    Ok(Classified {
        product,
        action,
        version,
        rpc_params: Some(params),
        query,
        mms_route: None,
    })
}

fn product_name(p: Product) -> &'static str {
    match p {
        Product::Mms => "MMS",
        Product::Dts => "DTS",
        Product::Sts => "STS",
        Product::DataWorks => "DataWorks",
        Product::OpenPlatform => "OpenPlatform",
    }
}

struct Outcome {
    status: u16,
    body: Value,
    retry_after_ms: Option<u64>,
    code: Option<String>,
}

fn error_outcome(product: Product, e: &ApiError, request_id: &str) -> Outcome {
    Outcome {
        status: e.http_status(),
        body: e.body(product, request_id),
        retry_after_ms: e.retry_after_ms,
        code: Some(e.code.clone()),
    }
}

async fn cloud(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    req: Request<Body>,
) -> Response<Body> {
    let started = Instant::now();
    let received = fmt_iso(wall_millis());
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut record = RequestRecord {
        seq: 0,
        time: received,
        sim_time: String::new(),
        method: method.clone(),
        path: path.clone(),
        product: None,
        action: None,
        version: None,
        status: 0,
        code: None,
        access_key_id: None,
        account_id: None,
        request_id: None,
        duration_ms: 0,
        fault: None,
        note: None,
    };
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let mut world = shared.lock();
            let rid = world.ids.request_id();
            let e = ApiError::new(
                400,
                "InvalidParameter",
                "The request body is too large or unreadable.",
            );
            return finish(
                &mut world,
                record,
                Product::Dts,
                error_outcome(Product::Dts, &e, &rid),
                &rid,
                started,
            );
        }
    };

    if let Some(action) = dataworks::oss::classify(
        &method,
        &path,
        &Params::from_query(&raw_query),
        header(&headers, "content-type"),
    ) {
        return oss(
            &shared, record, action, &path, &raw_query, &headers, &body, started,
        );
    }

    // Phase 1: classify, authenticate, limit, decide faults.
    let (mut echo, mut answer_delay) = (None::<String>, None::<u64>);
    let (classified, principal, request_id, delay, lose_response) = {
        let mut world = shared.lock();
        let rid = world.ids.request_id();
        record.sim_time = fmt_iso(world.clock.now());
        let classified = match classify(&method, &path, &raw_query, &headers, &body) {
            Ok(c) => c,
            Err((product, e)) => {
                let outcome = error_outcome(product, &e, &rid);
                return finish(&mut world, record, product, outcome, &rid, started);
            }
        };
        record.product = Some(product_name(classified.product).into());
        record.action = Some(classified.action.clone());
        record.version = Some(classified.version.clone());
        let signed = SignedRequest {
            method: &method,
            raw_path: &path,
            query: classified.query.pairs(),
            headers: &headers,
            body: &body,
        };
        let principal =
            match world
                .creds
                .verify(&signed, classified.rpc_params.as_ref(), wall_millis())
            {
                Ok(Some(p)) => Some(p),
                Ok(None)
                    if classified.product == Product::Sts
                        && sts::ANONYMOUS.contains(&classified.action.as_str()) =>
                {
                    None
                }
                refused => {
                    let e = refused.err().unwrap_or_else(|| {
                        ApiError::missing(if classified.product == Product::Mms {
                            "Authorization"
                        } else {
                            "AccessKeyId"
                        })
                    });
                    let outcome = error_outcome(classified.product, &e, &rid);
                    return finish(
                        &mut world,
                        record,
                        classified.product,
                        outcome,
                        &rid,
                        started,
                    );
                }
            };
        if let Some(p) = &principal {
            record.access_key_id = Some(p.access_key_id.clone());
            record.account_id = Some(p.account_id.clone());
        }
        let account = principal
            .as_ref()
            .map(|p| p.account_id.as_str())
            .unwrap_or("anonymous")
            .to_string();
        if let Err(e) = world.limits.check(&account, &classified.action) {
            let outcome = error_outcome(classified.product, &e, &rid);
            return finish(
                &mut world,
                record,
                classified.product,
                outcome,
                &rid,
                started,
            );
        }
        let ak = principal.as_ref().map(|p| p.access_key_id.clone());
        let secrets = request_secrets(&mut world, &classified, principal.as_ref(), &headers, &body);
        let World { faults, ids, .. } = &mut *world;
        let fault = faults.decide(&classified.action, ak.as_deref(), ids);
        let (mut delay, mut lose_response) = (None, false);
        if let Some(injected) = &fault {
            record.fault = Some(injected.label());
        }
        // Faults answered instead of the call.
        let refusal = match &fault {
            Some(Injected::EchoSecrets(Echo::FreeText)) => {
                echo = Some(echo::echo_text(&secrets));
                None
            }
            Some(Injected::EchoSecrets(how)) => {
                Some(echo_error(classified.product, how, &secrets, &rid))
            }
            Some(Injected::Fail(e)) => Some(error_outcome(classified.product, e, &rid)),
            _ => None,
        };
        if let Some(outcome) = refusal {
            return finish(
                &mut world,
                record,
                classified.product,
                outcome,
                &rid,
                started,
            );
        }
        match fault {
            Some(Injected::DelayAnswer(ms)) => answer_delay = Some(ms),
            Some(Injected::Drop) => {
                record.duration_ms = started.elapsed().as_millis() as u64;
                record.request_id = Some(rid);
                world.log.push(record);
                let mut resp = Response::new(Body::empty());
                resp.extensions_mut().insert(DropConnection);
                return resp;
            }
            Some(Injected::Delay(ms)) => delay = Some(ms),
            Some(Injected::LoseResponse) => lose_response = true,
            _ => {}
        }
        (classified, principal, rid, delay, lose_response)
    };
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    // Phase 2: act on the world at the current simulated time.
    let resp = answer(
        &shared,
        Accepted {
            record,
            classified,
            principal,
            request_id,
            echo,
            started,
        },
        &body,
    );
    if lose_response {
        let mut resp = resp;
        resp.extensions_mut().insert(DropConnection);
        return resp;
    }
    if let Some(ms) = answer_delay {
        // Committed and logged; the client hears about it only later (or never).
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    resp
}

/// A request that passed authentication, rate limits and faults.
struct Accepted {
    record: RequestRecord,
    classified: Classified,
    principal: Option<Principal>,
    request_id: String,
    /// Text an `echoSecrets` fault appends to the answer's free text.
    echo: Option<String>,
    started: Instant,
}

/// Acts on the world and builds the answer (and its request-log record).
fn answer(shared: &Shared, accepted: Accepted, body: &[u8]) -> Response<Body> {
    let Accepted {
        mut record,
        classified,
        principal,
        request_id,
        echo,
        started,
    } = accepted;
    let mut world = shared.lock();
    let now = world.advance();
    record.sim_time = fmt_iso(now);
    let product = classified.product;
    let account = principal
        .as_ref()
        .map(|p| p.account_id.clone())
        .unwrap_or_default();
    let purchases_before = world.dts.purchases;
    let result = dispatch(
        &mut world,
        &classified,
        principal.as_ref(),
        &account,
        body,
        now,
    );
    if result.is_ok()
        && matches!(
            classified.action.as_str(),
            "CreateDtsInstance" | "CreateMigrationJob"
        )
        && world.dts.purchases == purchases_before
        && classified
            .rpc_params
            .as_ref()
            .and_then(|p| p.get("ClientToken"))
            .is_some()
    {
        record.note = Some("idempotent replay (ClientToken)".into());
    }
    let outcome = match result {
        Ok(data) => match product {
            Product::Mms => Outcome {
                status: 200,
                body: json!({"requestId": request_id, "data": data}),
                retry_after_ms: None,
                code: None,
            },
            _ => {
                let mut body = data;
                body["RequestId"] = json!(request_id);
                Outcome {
                    status: 200,
                    body,
                    retry_after_ms: None,
                    code: None,
                }
            }
        },
        Err(e) => {
            let mut outcome = error_outcome(product, &e, &request_id);
            if e.business.is_some()
                && legacy::ACTIONS.contains(&classified.action.as_str())
                && let Some(body) = outcome.body.as_object_mut()
            {
                // Legacy responses carry no Dynamic*/HttpStatusCode members.
                for key in ["DynamicMessage", "DynamicCode", "HttpStatusCode"] {
                    body.remove(key);
                }
            }
            outcome
        }
    };
    let mut outcome = outcome;
    if let Some(text) = &echo
        && outcome.status == 200
    {
        echo::append_to_free_text(&mut outcome.body, text);
    }
    finish(&mut world, record, product, outcome, &request_id, started)
}

/// The secrets `classified` carries (see [`echo`]); remembers its password parameters for
/// later echoes to the same account.
fn request_secrets(
    world: &mut World,
    classified: &Classified,
    principal: Option<&Principal>,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<String> {
    let mut sent: Vec<String> = match &classified.rpc_params {
        Some(p) => echo::secret_params(p.pairs().iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        None => echo::secret_fields(body),
    };
    sent.extend(
        headers
            .iter()
            .filter(|(k, v)| k == "x-acs-security-token" && !v.is_empty())
            .map(|(_, v)| v.clone()),
    );
    let Some(p) = principal else {
        return sent;
    };
    world.seen_secrets.remember(&p.account_id, &sent);
    let mut all: Vec<String> = world.seen_secrets.of(&p.account_id).to_vec();
    all.extend(world.creds.signing_secret(&p.access_key_id));
    all
}

/// The error answer of an `echoSecrets` fault with a status.
fn echo_error(product: Product, how: &Echo, secrets: &[String], request_id: &str) -> Outcome {
    let text = echo::echo_text(secrets);
    match how {
        Echo::Business { code } if product == Product::Mms => Outcome {
            status: 200,
            body: json!({"requestId": request_id, "success": false, "httpCode": 400,
                "errorCode": code, "errorMsg": format!("the job could not be read: {text}"),
                "data": null}),
            retry_after_ms: None,
            code: Some(code.clone()),
        },
        Echo::Business { code } => error_outcome(
            product,
            &ApiError::business(code, "The operation failed: %s", &text, 400),
            request_id,
        ),
        Echo::Error { status, code } => error_outcome(
            product,
            &ApiError::new(*status, code, format!("cannot connect with {text}")),
            request_id,
        ),
        Echo::FreeText => unreachable!("free-text echoes are added to the normal answer"),
    }
}

/// An OSS request of a DataWorks package (upload form POST or pre-signed GET): OSS checks its
/// own signatures, not the V3 ones, and answers in XML.
#[allow(clippy::too_many_arguments)]
fn oss(
    shared: &Shared,
    mut record: RequestRecord,
    action: &'static str,
    path: &str,
    raw_query: &str,
    headers: &[(String, String)],
    body: &[u8],
    started: Instant,
) -> Response<Body> {
    let mut world = shared.lock();
    let now = world.advance();
    let rid = world.ids.request_id();
    let now_secs = wall_millis() / 1000;
    let (status, content_type, bytes) = if action == "PostObject" {
        let content_type = header(headers, "content-type").unwrap_or_default();
        let (status, xml) = world
            .dataworks
            .oss
            .post_object(content_type, body, now_secs);
        (status, "application/xml", xml.into_bytes())
    } else {
        world
            .dataworks
            .oss
            .get_object(path, &Params::from_query(raw_query), now_secs)
    };
    record.sim_time = fmt_iso(now);
    record.product = Some("OSS".into());
    record.action = Some(action.into());
    record.status = status;
    record.request_id = Some(rid.clone());
    record.duration_ms = started.elapsed().as_millis() as u64;
    // The path of a pre-signed GET is logged without its query (the signature).
    world.log.push(record);
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-oss-request-id", v);
    }
    resp
}

fn dispatch(
    world: &mut World,
    c: &Classified,
    principal: Option<&Principal>,
    account: &str,
    body: &[u8],
    now: i64,
) -> Result<Value, ApiError> {
    let region = world.config.scenario.region.clone();
    match c.product {
        Product::Mms => {
            let route = c.mms_route.as_ref().expect("MMS requests carry a route");
            mms_routes::handle(&mut world.mms, route, &c.query, body, now, &region)
        }
        Product::Dts => {
            let params = c.rpc_params.as_ref().expect("RPC requests carry params");
            let call = actions::Call {
                params,
                account,
                now,
                region: params.get_any(&["RegionId", "Region"]).unwrap_or(&region),
            };
            let World { dts, ids, .. } = world;
            if legacy::ACTIONS.contains(&c.action.as_str()) {
                legacy::handle(dts, ids, &c.action, call)
            } else {
                actions::handle(dts, ids, &c.action, call)
            }
        }
        Product::DataWorks => {
            let params = c.rpc_params.as_ref().expect("RPC requests carry params");
            dataworks::handle(&mut world.dataworks, &c.action, params, account, now)
        }
        Product::OpenPlatform => {
            let params = c.rpc_params.as_ref().expect("RPC requests carry params");
            dataworks::handle_openplatform(&mut world.dataworks, &c.action, params, account)
        }
        Product::Sts => {
            let params = c.rpc_params.as_ref().expect("RPC requests carry params");
            let spec = world.config.scenario.sts.clone();
            let World { creds, ids, .. } = world;
            sts::handle(
                &c.action,
                params,
                principal,
                creds,
                ids,
                &spec,
                wall_millis(),
            )
        }
    }
}

fn finish(
    world: &mut World,
    mut record: RequestRecord,
    product: Product,
    outcome: Outcome,
    request_id: &str,
    started: Instant,
) -> Response<Body> {
    record.status = outcome.status;
    record.code = outcome.code;
    record.request_id = Some(request_id.to_string());
    record.duration_ms = started.elapsed().as_millis() as u64;
    if record.product.is_none() && outcome.status != 404 {
        record.product = Some(product_name(product).into());
    }
    tracing::debug!(
        action = record.action.as_deref().unwrap_or("-"),
        status = record.status,
        code = record.code.as_deref().unwrap_or("-"),
        access_key_id = record.access_key_id.as_deref().unwrap_or("-"),
        "request"
    );
    world.log.push(record);
    json_response(
        outcome.status,
        &outcome.body,
        request_id,
        outcome.retry_after_ms,
    )
}

/// A JSON response with the headers the gateways send.
pub fn json_response(
    status: u16,
    body: &Value,
    request_id: &str,
    retry_after_ms: Option<u64>,
) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-acs-request-id", v);
    }
    if let Some(ms) = retry_after_ms
        && let Ok(v) = HeaderValue::from_str(&ms.to_string())
    {
        h.insert("x-acs-retry-after", v);
    }
    resp
}
