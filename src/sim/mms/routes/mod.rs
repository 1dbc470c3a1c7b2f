//! MMS ROA routing (method + path → action) and the handlers, with server-side filters,
//! sorting and paging. Every handler returns the `data` member of the response.

mod call;
mod databases;
mod jobs;
mod listing;
mod partitions;
mod scans;
mod sources;
mod tables;
mod tasks;
mod timers;

use serde_json::Value;

use super::engine::Mms;
use crate::sim::clock::SimMillis;
use crate::sim::wire::{ApiError, Params};
use call::Call;

pub use sources::{SOURCE_TYPES, config_templates};

/// The MMS API version.
pub const VERSION: &str = "2022-01-04";
/// Path prefix of every MMS operation.
pub const PREFIX: &str = "/api/v1/mms/";

/// A matched route: the action name and the path parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub action: &'static str,
    pub args: Vec<String>,
}

const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "datasources", "ListMmsDataSources"),
    ("POST", "datasources", "CreateMmsDataSource"),
    ("GET", "configItems", "ListMmsDataSourceConfigItems"),
    ("GET", "datasources/{}", "GetMmsDataSource"),
    ("PUT", "datasources/{}", "UpdateMmsDataSource"),
    ("DELETE", "datasources/{}", "DeleteMmsDataSource"),
    ("POST", "datasources/{}/scans", "CreateMmsFetchMetadataJob"),
    ("GET", "datasources/{}/scans/{}", "GetMmsFetchMetadataJob"),
    ("GET", "datasources/{}/dbs", "ListMmsDbs"),
    ("GET", "datasources/{}/dbs/{}", "GetMmsDb"),
    ("PUT", "datasources/{}/dbs/{}", "UpdateMmsDb"),
    ("GET", "datasources/{}/tables", "ListMmsTables"),
    ("PUT", "datasources/{}/tables", "UpdateMmsTables"),
    ("GET", "datasources/{}/tables/{}", "GetMmsTable"),
    ("PUT", "datasources/{}/tables/{}", "UpdateMmsTable"),
    ("GET", "datasources/{}/partitions", "ListMmsPartitions"),
    ("GET", "datasources/{}/partitions/{}", "GetMmsPartition"),
    ("POST", "datasources/{}/jobs", "CreateMmsJob"),
    ("GET", "datasources/{}/jobs", "ListMmsJobs"),
    ("GET", "datasources/{}/jobs/{}", "GetMmsJob"),
    ("POST", "datasources/{}/jobs/{}", "DeleteMmsJob"),
    ("POST", "datasources/{}/jobs/{}/start", "StartMmsJob"),
    ("POST", "datasources/{}/jobs/{}/stop", "StopMmsJob"),
    ("POST", "datasources/{}/jobs/{}/retry", "RetryMmsJob"),
    ("GET", "datasources/{}/tasks", "ListMmsTasks"),
    ("GET", "datasources/{}/tasks/{}", "GetMmsTask"),
    ("POST", "datasources/{}/tasks/{}/retry", "RetryMmsTask"),
    ("GET", "datasources/{}/tasks/{}/logs", "ListMmsTaskLogs"),
    ("GET", "datasources/{}/asyncTasks/{}", "GetMmsAsyncTask"),
    ("POST", "datasources/{}/timers", "CreateMmsTimer"),
    ("GET", "datasources/{}/timers", "ListMmsTimers"),
    ("GET", "datasources/{}/timers/{}", "GetMmsTimer"),
    ("PUT", "datasources/{}/timers/{}", "UpdateMmsTimer"),
    ("DELETE", "datasources/{}/timers/{}", "DeleteMmsTimer"),
    (
        "POST",
        "datasources/{}/timers/{}/trigger",
        "TriggerMmsTimer",
    ),
    ("GET", "datasources/{}/timers/{}/logs", "ListMmsTimerLogs"),
];

/// Matches a request to an MMS operation; `None` if nothing matches.
pub fn match_route(method: &str, path: &str) -> Option<Route> {
    let rest = path.strip_prefix(PREFIX)?;
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    for (m, pattern, action) in ROUTES {
        if !m.eq_ignore_ascii_case(method) {
            continue;
        }
        let pat: Vec<&str> = pattern.split('/').collect();
        if pat.len() != segments.len() {
            continue;
        }
        let mut args = Vec::new();
        let ok = pat.iter().zip(&segments).all(|(p, s)| {
            if *p == "{}" {
                args.push(
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned(),
                );
                true
            } else {
                p == s
            }
        });
        if ok {
            return Some(Route { action, args });
        }
    }
    None
}

/// Whether some route has this path with another method (to tell 404 from wrong method).
pub fn path_exists(path: &str) -> bool {
    ["GET", "POST", "PUT", "DELETE"]
        .iter()
        .any(|m| match_route(m, path).is_some())
}

/// Handles an MMS operation against the state; `now` is the simulated time.
pub fn handle(
    mms: &mut Mms,
    route: &Route,
    query: &Params,
    body: &[u8],
    now: SimMillis,
    region: &str,
) -> Result<Value, ApiError> {
    let Some(handler) = handler(route.action) else {
        return Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("Unknown action {}.", route.action),
        ));
    };
    let call = Call {
        route,
        query,
        body,
        now,
        region,
    };
    handler(mms, &call)
}

/// Acts on the state for one action and returns the `data` member of the answer.
type Handler = fn(&mut Mms, &Call<'_>) -> Result<Value, ApiError>;

/// The handler of each action of [`ROUTES`].
fn handler(action: &str) -> Option<Handler> {
    let handler: Handler = match action {
        "ListMmsDataSources" => sources::list,
        "CreateMmsDataSource" => sources::create,
        "ListMmsDataSourceConfigItems" => sources::list_config_items,
        "GetMmsDataSource" => sources::get,
        "UpdateMmsDataSource" => sources::update,
        "DeleteMmsDataSource" => sources::delete,
        "CreateMmsFetchMetadataJob" => scans::start_scan,
        "GetMmsFetchMetadataJob" => scans::get_scan,
        "GetMmsAsyncTask" => scans::get_async_task,
        "ListMmsDbs" => databases::list,
        "GetMmsDb" => databases::get,
        "UpdateMmsDb" => databases::update,
        "ListMmsTables" => tables::list,
        "UpdateMmsTables" => tables::update_many,
        "GetMmsTable" => tables::get,
        "UpdateMmsTable" => tables::update,
        "ListMmsPartitions" => partitions::list,
        "GetMmsPartition" => partitions::get,
        "CreateMmsJob" => jobs::create,
        "ListMmsJobs" => jobs::list,
        "GetMmsJob" => jobs::get,
        "DeleteMmsJob" => jobs::delete,
        "StartMmsJob" => jobs::start,
        "StopMmsJob" => jobs::stop,
        "RetryMmsJob" => jobs::retry,
        "ListMmsTasks" => tasks::list,
        "GetMmsTask" => tasks::get,
        "RetryMmsTask" => tasks::retry,
        "ListMmsTaskLogs" => tasks::list_logs,
        "CreateMmsTimer" => timers::create,
        "ListMmsTimers" => timers::list,
        "GetMmsTimer" => timers::get,
        "UpdateMmsTimer" => timers::update,
        "DeleteMmsTimer" => timers::delete,
        "TriggerMmsTimer" => timers::trigger,
        "ListMmsTimerLogs" => timers::list_logs,
        _ => return None,
    };
    Some(handler)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_sdk_paths() {
        let r = match_route("POST", "/api/v1/mms/datasources/2000001/jobs/7").unwrap();
        assert_eq!(r.action, "DeleteMmsJob");
        assert_eq!(r.args, vec!["2000001", "7"]);
        assert_eq!(
            match_route("GET", "/api/v1/mms/datasources/1/tasks/2/logs")
                .unwrap()
                .action,
            "ListMmsTaskLogs"
        );
        assert!(match_route("DELETE", "/api/v1/mms/datasources/1/jobs/7").is_none());
        assert!(path_exists("/api/v1/mms/datasources/1/jobs/7"));
    }

    #[test]
    fn every_route_has_a_handler() {
        for (_, _, action) in ROUTES {
            assert!(handler(action).is_some(), "{action} has no handler");
        }
    }
}
