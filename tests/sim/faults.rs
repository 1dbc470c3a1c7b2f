//! Faults (errors, throttling, slow answers, dropped connections, lost responses), rate limits, determinism
//! with a seed, and the `sim` command's start-up line and clean shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aliyun_migration_operator::sim::scenario::{FaultKind, FaultRule, Scenario};
use aliyun_migration_operator::sim::{SimConfig, Simulator};

use crate::support::{Client, MIGRATION_PURCHASE, frozen};

#[tokio::test]
async fn one_shot_faults_fail_throttle_slow_and_drop() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let admin = sim.admin();

    admin
        .fail_next("DescribeDtsJobs", 2, "ServiceUnavailable", 503)
        .await
        .unwrap();
    for _ in 0..2 {
        let r = c.dts("DescribeDtsJobs", &[]).await;
        assert_eq!((r.status, r.code()), (503, Some("ServiceUnavailable")));
    }
    assert_eq!(c.dts("DescribeDtsJobs", &[]).await.status, 200);

    admin.throttle_next("*", 1, 1500).await.unwrap();
    let r = c.dts("DescribeDtsJobs", &[]).await;
    assert_eq!((r.status, r.code()), (400, Some("Throttling.User")));
    assert_eq!(r.headers["x-acs-retry-after"], "1500");

    admin.slow_next("DescribeDtsJobs", 1, 400).await.unwrap();
    let started = Instant::now();
    assert_eq!(c.dts("DescribeDtsJobs", &[]).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));

    admin.drop_next("DescribeDtsJobs", 1).await.unwrap();
    let http = crate::support::http();
    let dropped = http
        .post(format!(
            "{}/?Action=DescribeDtsJobs&Version=2020-01-01",
            sim.base_url()
        ))
        .send()
        .await;
    // Unsigned: refused before faults apply, so the fault is still armed for a signed call.
    assert_eq!(dropped.unwrap().status(), 400);
    let signed = c.try_dts("DescribeDtsJobs", &[]).await;
    assert!(
        signed.is_err(),
        "the connection is closed without an answer: {signed:?}"
    );
    assert_eq!(c.dts("DescribeDtsJobs", &[]).await.status, 200);

    let log = admin.requests_for("DescribeDtsJobs").await.unwrap();
    let faults: Vec<&str> = log.iter().filter_map(|r| r.fault.as_deref()).collect();
    assert_eq!(
        faults,
        [
            "error:ServiceUnavailable",
            "error:ServiceUnavailable",
            "error:Throttling.User",
            "slow:400ms",
            "drop"
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_response_still_takes_effect() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let admin = sim.admin();
    admin
        .lose_response_next("CreateDtsInstance", 1)
        .await
        .unwrap();
    let params = MIGRATION_PURCHASE;
    let lost = c.try_dts("CreateDtsInstance", &params).await;
    assert!(lost.is_err(), "no answer reaches the caller: {lost:?}");
    let bought = admin.dts_jobs().await.unwrap();
    assert_eq!(bought.len(), 1, "the purchase happened: {bought:#?}");
    assert_eq!(c.dts("CreateDtsInstance", &params).await.status, 200);
    assert_eq!(admin.dts_jobs().await.unwrap().len(), 2);
    let log = admin.requests_for("CreateDtsInstance").await.unwrap();
    let faults: Vec<Option<&str>> = log.iter().map(|r| r.fault.as_deref()).collect();
    assert_eq!(faults, [Some("lose-response"), None]);
    assert_eq!(log[0].status, 200, "logged as served");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_delayed_answer_is_committed_before_it_is_sent() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let admin = sim.admin();
    admin
        .delay_answer_next("CreateDtsInstance", 1, 1500)
        .await
        .unwrap();
    let params = MIGRATION_PURCHASE;
    let (answer, ()) = tokio::join!(c.dts("CreateDtsInstance", &params), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let bought = admin.dts_jobs().await.unwrap();
        assert_eq!(bought.len(), 1, "bought before the answer: {bought:#?}");
        let log = admin.requests_for("CreateDtsInstance").await.unwrap();
        assert_eq!(log[0].fault.as_deref(), Some("delay-answer:1500ms"));
    });
    assert_eq!(answer.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn echo_faults_repeat_the_request_secrets_in_every_field_kind() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let admin = sim.admin();
    let password = "Pl4nted/DB+Pass\"w0rd=";
    let configure = [
        ("DtsJobName", "echo"),
        ("JobType", "MIGRATION"),
        ("StructureInitialization", "true"),
        ("DataInitialization", "true"),
        ("DataSynchronization", "false"),
        ("SourceEndpointInstanceType", "RDS"),
        ("SourceEndpointInstanceID", "rm-echo"),
        ("SourceEndpointEngineName", "MySQL"),
        ("SourceEndpointUserName", "u"),
        ("SourceEndpointPassword", password),
        ("DestinationEndpointInstanceType", "RDS"),
        ("DestinationEndpointInstanceID", "rm-echo2"),
        ("DestinationEndpointEngineName", "MySQL"),
        ("DbList", r#"{"shop":{"name":"shop","all":true}}"#),
    ];
    admin
        .echo_secrets_next("ConfigureDtsJob", 1, Some(500), None)
        .await
        .unwrap();
    let error = c.dts("ConfigureDtsJob", &configure).await;
    assert_eq!(error.status, 500);
    let message = error.body["Message"].as_str().unwrap();
    assert!(message.contains(password), "{message}");
    assert!(
        message.contains(aliyun_migration_operator::sim::scenario::DEFAULT_ACCESS_KEY_SECRET),
        "{message}"
    );
    assert!(
        message.contains("Pl4nted%2FDB%2BPass%22w0rd%3D"),
        "{message}"
    );

    admin
        .echo_secrets_next("DescribeDtsJobs", 1, Some(200), None)
        .await
        .unwrap();
    let business = c.dts("DescribeDtsJobs", &[]).await;
    assert_eq!(business.body["Success"], false);
    assert!(
        business.body["DynamicMessage"]
            .as_str()
            .unwrap()
            .contains(password),
        "an earlier password of the account is echoed: {:?}",
        business.body
    );

    assert_eq!(c.dts("ConfigureDtsJob", &configure).await.status, 200);
    admin
        .echo_secrets_next("DescribeDtsJobs", 1, None, None)
        .await
        .unwrap();
    let text = c.dts("DescribeDtsJobs", &[]).await;
    assert_eq!(text.status, 200);
    assert!(
        text.body.to_string().contains("Pl4nted/DB+Pass"),
        "free text carries it: {}",
        text.body
    );
    assert!(
        text.body["DtsJobList"][0]["DtsJobId"]
            .as_str()
            .is_some_and(|id| !id.contains("echo")),
        "ids are left alone"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limits_answer_with_throttling_and_retry_after() {
    let mut config = SimConfig::demo().with_time_scale(0.0);
    config
        .scenario
        .rate_limits
        .per_account
        .insert("DescribeDtsJobs".into(), 3);
    let sim = Simulator::start(config).await.unwrap();
    let c = Client::new(&sim);
    let mut throttled = 0;
    for _ in 0..10 {
        let r = c.dts("DescribeDtsJobs", &[]).await;
        if r.status == 400 {
            assert_eq!(r.code(), Some("Throttling.User"));
            let after: u64 = r.headers["x-acs-retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=1000).contains(&after));
            throttled += 1;
        }
    }
    assert!(
        throttled >= 3,
        "at most 3 per second get through: {throttled} throttled"
    );
    let other = Client::with_key(
        &sim,
        "LTAI5tSimulatorLocal0002",
        "SimLocalSecret0002NotARealKey0",
    );
    assert_eq!(
        other.dts("DescribeDtsJobs", &[]).await.status,
        200,
        "limits are per account"
    );
    sim.shutdown().await;
}

async fn run_with_seed(seed: u64) -> (Vec<u16>, String) {
    let mut scenario = Scenario::demo();
    scenario.faults.push(FaultRule {
        action: "DescribeDtsJobs".into(),
        kind: FaultKind::Error,
        rate: 0.5,
        code: None,
        http_status: None,
        message: None,
        delay: None,
    });
    scenario.rate_limits.per_account_default = 1000;
    let sim = Simulator::start(
        SimConfig::from_scenario(scenario)
            .with_time_scale(0.0)
            .with_seed(seed),
    )
    .await
    .unwrap();
    let c = Client::new(&sim);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(c.dts("DescribeDtsJobs", &[]).await.status);
    }
    let r = c
        .dts(
            "CreateDtsInstance",
            &[
                ("PayType", "PostPaid"),
                ("Type", "MIGRATION"),
                ("SourceRegion", "cn-hangzhou"),
                ("DestinationRegion", "cn-hangzhou"),
            ],
        )
        .await;
    sim.shutdown().await;
    (statuses, r.body["JobId"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn the_seed_makes_runs_repeatable() {
    let (a, id_a) = run_with_seed(42).await;
    let (b, id_b) = run_with_seed(42).await;
    assert_eq!((a.clone(), id_a.clone()), (b, id_b));
    assert!(
        a.contains(&500) && a.contains(&200),
        "a 50 % fault rate shows both: {a:?}"
    );
    let (_, id_c) = run_with_seed(43).await;
    assert_ne!(id_a, id_c);
}

#[tokio::test]
async fn admin_clock_and_reset() {
    let sim = frozen().await;
    let admin = sim.admin();
    let before = admin.clock().await.unwrap();
    let after = admin.advance(90.0).await.unwrap();
    assert_eq!(after.now_millis - before.now_millis, 90_000);
    assert!(
        admin.set_time("2000-01-01T00:00:00Z").await.is_err(),
        "the clock never goes back"
    );
    let c = Client::new(&sim);
    c.dts(
        "CreateDtsInstance",
        &[
            ("PayType", "PostPaid"),
            ("Type", "MIGRATION"),
            ("SourceRegion", "cn-hangzhou"),
            ("DestinationRegion", "cn-hangzhou"),
        ],
    )
    .await;
    assert_eq!(admin.dts_jobs().await.unwrap().len(), 1);
    admin.reset().await.unwrap();
    assert!(admin.dts_jobs().await.unwrap().is_empty());
    assert!(admin.requests(0).await.unwrap().is_empty());
    sim.shutdown().await;
}

#[test]
fn the_command_prints_its_address_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aliyun-migration-operator"))
        .args(["sim", "--listen", "127.0.0.1:0", "--time-scale", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .expect("the simulator prints its address")
            .unwrap();
        printed.push(line.clone());
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_string();
        }
    };
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"));
    let text = printed.join("\n");
    assert!(text.contains("LTAI5tSimulatorLocal0001"));
    assert!(
        !text.contains("SimLocalSecret0001NotARealKey0"),
        "the secret is never printed"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            assert!(code.success(), "exit status {code}");
            break;
        }
        assert!(Instant::now() < deadline, "the simulator did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}
