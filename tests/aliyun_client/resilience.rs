//! Retries, backoff, `x-acs-retry-after`, timeouts, dropped connections, the idempotency rule,
//! the rate limiter, the call deadline and the observer — all with short delays.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aliyun_migration_operator::aliyun::dts::{CreateDtsInstanceRequest, CreateMigrationJobRequest};
use aliyun_migration_operator::aliyun::mms::CreateMmsJobRequest;
use aliyun_migration_operator::aliyun::{
    Admission, CallObserver, Cloud, CloudConfig, ErrorClass, ErrorKind, Pacing, Priority,
    RateLimit, RateLimits, RetryPolicy,
};
use serde_json::json;

use crate::fake::{AK_ID, AK_SECRET, Fake, Reply, creds, verify_v3};

fn job() -> Reply {
    Reply::json(json!({"requestId": "R-OK", "data": {"id": 42, "name": "j"}}))
}

fn create_req() -> CreateMmsJobRequest {
    CreateMmsJobRequest {
        name: "j".into(),
        src_db_name: "db".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn throttling_is_retried_with_fresh_signatures() {
    let fake = Fake::start().await;
    fake.push(
        "GetMmsJob",
        Reply::error(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        ),
    );
    fake.push("GetMmsJob", Reply::error(503, "ServiceUnavailable", "busy"));
    fake.push("GetMmsJob", job());
    let mms = fake.cloud().mms("cn-hangzhou", creds());
    let got = mms.get_job(1, 42).await.unwrap();
    assert_eq!(got.id, 42);
    let recs = fake.requests_for("GetMmsJob");
    assert_eq!(recs.len(), 3);
    for rec in &recs {
        verify_v3(rec, AK_ID, AK_SECRET);
    }
    let nonces: std::collections::HashSet<_> = recs
        .iter()
        .map(|r| r.header("x-acs-signature-nonce").unwrap().to_string())
        .collect();
    assert_eq!(nonces.len(), 3, "a fresh nonce per attempt");
    let gaps: Vec<Duration> = recs.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(18)),
        "backoff waited: {gaps:?}"
    );
}

#[tokio::test]
async fn x_acs_retry_after_is_honoured() {
    let fake = Fake::start().await;
    fake.push(
        "DescribeDtsJobDetail",
        Reply::error(400, "Throttling.Api", "slow down").header("x-acs-retry-after", "300"),
    );
    fake.push(
        "DescribeDtsJobDetail",
        Reply::json(json!({"Success": true, "Status": "Migrating"})),
    );
    let config = CloudConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(1),
            jitter: false,
        },
        ..fake.config()
    };
    let dts = Cloud::new(config).unwrap().dts("cn-hangzhou", creds());
    let status = dts
        .describe_dts_job_detail(&aliyun_migration_operator::aliyun::dts::DtsJobRef::job("j"))
        .await
        .unwrap();
    assert!(status.state.is_some());
    let recs = fake.requests_for("DescribeDtsJobDetail");
    let gap = recs[1].at - recs[0].at;
    assert!(gap >= Duration::from_millis(290), "waited only {gap:?}");
    assert!(gap < Duration::from_millis(1500), "waited {gap:?}");
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_max_attempts() {
    let fake = Fake::start().await;
    fake.set_default("GetMmsJob", Reply::error(500, "InternalError", "boom"));
    let mms = fake.cloud().mms("cn-hangzhou", creds());
    let err = mms.get_job(1, 42).await.unwrap_err();
    assert_eq!(fake.requests_for("GetMmsJob").len(), 3);
    assert_eq!(err.attempts(), 3);
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(
        (err.code(), err.http_status()),
        (Some("InternalError"), Some(500))
    );
    assert_eq!(
        (err.product(), err.action()),
        (Some("mms"), Some("GetMmsJob"))
    );
}

#[tokio::test]
async fn terminal_errors_are_not_retried() {
    let fake = Fake::start().await;
    fake.set_default("GetMmsJob", Reply::error(400, "InvalidParameter", "bad id"));
    fake.set_default("StartMmsJob", Reply::error(403, "Forbidden.RAM", "no"));
    let mms = fake.cloud().mms("cn-hangzhou", creds());
    let err = mms.get_job(1, 42).await.unwrap_err();
    assert!(err.is_terminal());
    let err2 = mms.start_job(1, 42).await.unwrap_err();
    assert!(err2.is_terminal());
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn timeouts_are_retried_for_reads_but_not_for_untokened_creates() {
    let fake = Fake::start().await;
    let config = CloudConfig {
        attempt_timeout: Duration::from_millis(200),
        ..fake.config()
    };
    let mms = Cloud::new(config).unwrap().mms("cn-hangzhou", creds());
    fake.push("GetMmsJob", job().delay(Duration::from_millis(800)));
    fake.push("GetMmsJob", job());
    let start = Instant::now();
    mms.get_job(1, 42).await.unwrap();
    assert_eq!(fake.requests_for("GetMmsJob").len(), 2);
    assert!(start.elapsed() < Duration::from_secs(3));

    fake.push("CreateMmsJob", job().delay(Duration::from_millis(800)));
    fake.push("CreateMmsJob", job());
    let err = mms.create_job(1, &create_req()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        err.is_retryable(),
        "the caller may retry after adopting by name"
    );
    assert_eq!(
        fake.requests_for("CreateMmsJob").len(),
        1,
        "CreateMmsJob must not be resent"
    );
}

#[tokio::test]
async fn untokened_creates_are_retried_only_when_throttled() {
    let fake = Fake::start().await;
    let mms = fake.cloud().mms("cn-hangzhou", creds());
    fake.push(
        "CreateMmsJob",
        Reply::error(503, "ServiceUnavailable", "busy"),
    );
    let err = mms.create_job(1, &create_req()).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(fake.requests_for("CreateMmsJob").len(), 1);

    fake.push(
        "CreateMmsJob",
        Reply::error(400, "Throttling.User", "flow control"),
    );
    fake.push(
        "CreateMmsJob",
        Reply::json(json!({"requestId": "r", "data": {"asyncTaskId": 9}})),
    );
    assert_eq!(mms.create_job(1, &create_req()).await.unwrap(), 9);
    assert_eq!(fake.requests_for("CreateMmsJob").len(), 3);
}

#[tokio::test]
async fn dropped_connections() {
    let fake = Fake::start().await;
    let cloud = fake.cloud();
    fake.push("GetMmsJob", Reply::dropped());
    fake.push("GetMmsJob", job());
    cloud
        .mms("cn-hangzhou", creds())
        .get_job(1, 42)
        .await
        .unwrap();
    assert_eq!(fake.requests_for("GetMmsJob").len(), 2);

    fake.push("CreateDtsInstance", Reply::dropped());
    let err = cloud
        .dts("cn-hangzhou", creds())
        .create_dts_instance(&CreateDtsInstanceRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert_eq!(
        fake.requests_for("CreateDtsInstance").len(),
        1,
        "never buy twice"
    );
}

#[tokio::test]
async fn refused_connections_are_retried_even_for_creates() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = CloudConfig {
        endpoint_override: Some(format!("http://127.0.0.1:{port}")),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            jitter: true,
        },
        rate_limits: RateLimits::unlimited(),
        ..CloudConfig::default()
    };
    let err = Cloud::new(config)
        .unwrap()
        .mms("cn-hangzhou", creds())
        .create_job(1, &create_req())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert_eq!(err.attempts(), 3, "nothing was sent, so retrying is safe");
    assert!(
        !err.to_string().contains("http://"),
        "no URL in errors: {err}"
    );
}

#[tokio::test]
async fn client_token_makes_creates_retryable() {
    let fake = Fake::start().await;
    fake.push(
        "CreateMigrationJob",
        Reply::error(500, "InternalError", "x"),
    );
    fake.push(
        "CreateMigrationJob",
        Reply::json(json!({"Success": "true", "MigrationJobId": "dtsabc"})),
    );
    let dts = fake.cloud().dts("cn-hangzhou", creds());
    let id = dts
        .create_migration_job(&CreateMigrationJobRequest {
            region: "cn-hangzhou".into(),
            migration_job_class: "small".into(),
            client_token: Some("k8s-uid-1".into()),
        })
        .await
        .unwrap();
    assert_eq!(id, "dtsabc");
    let recs = fake.requests_for("CreateMigrationJob");
    assert_eq!(recs.len(), 2);
    assert!(
        recs.iter()
            .all(|r| r.query_value("ClientToken") == Some("k8s-uid-1"))
    );
}

#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(String, String, String)>>,
    waits: Mutex<Vec<Duration>>,
    retries: Mutex<Vec<u32>>,
}

impl CallObserver for Recorder {
    fn call_finished(&self, product: &str, action: &str, outcome: &str, _latency: Duration) {
        self.calls
            .lock()
            .unwrap()
            .push((product.into(), action.into(), outcome.into()));
    }
    fn rate_limited(&self, _product: &str, waited: Duration) {
        self.waits.lock().unwrap().push(waited);
    }
    fn retrying(&self, _product: &str, _action: &str, attempt: u32, _delay: Duration) {
        self.retries.lock().unwrap().push(attempt);
    }
}

#[tokio::test]
async fn rate_limiter_spaces_calls_and_reports_waits() {
    let fake = Fake::start().await;
    fake.set_default("GetMmsJob", job());
    let observer = Arc::new(Recorder::default());
    let config = CloudConfig {
        rate_limits: RateLimits {
            mms: RateLimit {
                per_second: 10,
                burst: 1,
            },
            ..RateLimits::unlimited()
        },
        observer: Some(observer.clone()),
        ..fake.config()
    };
    let mms = Cloud::new(config).unwrap().mms("cn-hangzhou", creds());
    let start = Instant::now();
    for _ in 0..6 {
        mms.get_job(1, 42).await.unwrap();
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(450),
        "6 calls at 10/s took {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(observer.waits.lock().unwrap().len() >= 4);
    assert_eq!(observer.calls.lock().unwrap().len(), 6);
}

#[tokio::test]
async fn a_reconciling_client_never_waits_for_a_token_and_keeps_its_place() {
    let fake = Fake::start().await;
    fake.set_default("GetMmsJob", job());
    fake.set_default(
        "CreateMmsJob",
        Reply::json(json!({"requestId": "R", "data": {"asyncTaskId": 7}})),
    );
    let config = CloudConfig {
        rate_limits: RateLimits {
            mms: RateLimit {
                per_second: 1,
                burst: 1,
            },
            ..RateLimits::unlimited()
        },
        ..fake.config()
    };
    let cloud = Cloud::new(config).unwrap();
    let reconcile = |ticket: &str, priority| {
        cloud
            .mms("cn-hangzhou", creds())
            .with_pacing(Pacing::Requeue {
                ticket: ticket.into(),
                priority,
            })
    };
    reconcile("first", Priority::Poll)
        .get_job(1, 42)
        .await
        .unwrap();
    let poller = reconcile("poller", Priority::Poll);
    // No token left: the call fails at once, unsent, with the wait instead of sleeping.
    let started = Instant::now();
    let err = poller.get_job(1, 42).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(err.kind(), ErrorKind::Queued);
    let wait = err
        .queued_wait()
        .expect("a queued error says how long to wait");
    assert!(
        wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    assert_eq!(fake.requests_for("GetMmsJob").len(), 1);
    // A create arriving later goes before the queued poll...
    let create = reconcile("create", Priority::Mutation);
    assert!(matches!(
        create.admit("CreateMmsJob"),
        Admission::Queued { ahead: 0, .. }
    ));
    tokio::time::sleep(wait).await;
    assert!(
        poller
            .get_job(1, 42)
            .await
            .unwrap_err()
            .queued_wait()
            .is_some()
    );
    // ...and the token it takes ahead is the one its call then uses.
    assert_eq!(create.admit("CreateMmsJob"), Admission::Now);
    assert_eq!(create.create_job(1, &create_req()).await.unwrap(), 7);
    assert_eq!(fake.requests_for("CreateMmsJob").len(), 1);
}

#[tokio::test]
async fn default_limits_keep_describe_dts_job_detail_under_40_in_any_second() {
    let fake = Fake::start().await;
    fake.set_default(
        "DescribeDtsJobDetail",
        Reply::json(json!({"Success": true})),
    );
    let config = CloudConfig {
        rate_limits: RateLimits::default(),
        ..fake.config()
    };
    let dts = Cloud::new(config).unwrap().dts("cn-hangzhou", creds());
    let job = aliyun_migration_operator::aliyun::dts::DtsJobRef::job("j");
    let start = Instant::now();
    let calls = (0..40).map(|_| dts.describe_dts_job_detail(&job));
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    let elapsed = start.elapsed();
    // A burst of 10, then 30 more at 25/s.
    assert!(elapsed >= Duration::from_millis(1100), "{elapsed:?}");
    let recs = fake.requests_for("DescribeDtsJobDetail");
    assert_eq!(recs.len(), 40);
    let busiest = recs
        .iter()
        .map(|a| {
            recs.iter()
                .filter(|b| b.at >= a.at && b.at - a.at < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(busiest < 40, "{busiest} calls in one second");
}

#[tokio::test]
async fn the_call_deadline_bounds_retries() {
    let fake = Fake::start().await;
    fake.set_default(
        "GetMmsJob",
        Reply::error(503, "ServiceUnavailable", "busy").header("x-acs-retry-after", "1000"),
    );
    let config = CloudConfig {
        call_deadline: Duration::from_millis(300),
        retry: RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
            jitter: false,
        },
        ..fake.config()
    };
    let start = Instant::now();
    let err = Cloud::new(config)
        .unwrap()
        .mms("cn-hangzhou", creds())
        .get_job(1, 42)
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(err.code(), Some("ServiceUnavailable"));
    assert_eq!(
        fake.requests_for("GetMmsJob").len(),
        1,
        "a 1 s wait does not fit in 300 ms"
    );
}

#[tokio::test]
async fn the_observer_sees_outcomes_and_retries() {
    let fake = Fake::start().await;
    let observer = Arc::new(Recorder::default());
    let cloud = Cloud::new(CloudConfig {
        observer: Some(observer.clone()),
        ..fake.config()
    })
    .unwrap();
    let mms = cloud.mms("cn-hangzhou", creds());
    fake.push("GetMmsJob", Reply::error(400, "Throttling.User", "x"));
    fake.push("GetMmsJob", job());
    mms.get_job(1, 42).await.unwrap();
    fake.push("GetMmsTask", Reply::error(404, "TaskNotFound", "gone"));
    mms.get_task(1, 7).await.unwrap_err();
    fake.set_default("ListMmsJobs", Reply::error(400, "Throttling.User", "x"));
    mms.list_jobs(1, &Default::default()).await.unwrap_err();
    let calls = observer.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            ("mms".into(), "GetMmsJob".into(), "ok".into()),
            ("mms".into(), "GetMmsTask".into(), "not_found".into()),
            ("mms".into(), "ListMmsJobs".into(), "throttled".into()),
        ]
    );
    assert_eq!(*observer.retries.lock().unwrap(), [1, 1, 2]);
}
