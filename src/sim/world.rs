//! Everything the simulator knows, behind one lock: clock, ids, credentials, faults, limits,
//! the request log and the services. Handlers lock it, bring the services up to the
//! current simulated time, act, and unlock; nothing awaits while holding it.

use super::auth::Credentials;
use super::clock::{SimClock, SimMillis, parse_time, wall_millis};
use super::config::SimConfig;
use super::dataworks::DataWorks;
use super::dts::Dts;
use super::faults::Faults;
use super::ids::IdGen;
use super::mms::Mms;
use super::ratelimit::RateLimiter;
use super::reqlog::RequestLog;

/// The simulator's whole state.
#[derive(Debug)]
pub struct World {
    pub config: SimConfig,
    pub clock: SimClock,
    pub ids: IdGen,
    pub creds: Credentials,
    pub faults: Faults,
    pub limits: RateLimiter,
    pub log: RequestLog,
    pub mms: Mms,
    pub dts: Dts,
    pub dataworks: DataWorks,
    /// Secrets each account sent, in memory for the `echoSecrets` fault only.
    pub seen_secrets: super::echo::SeenSecrets,
}

impl World {
    /// The state at start-up as the config and its scenario describe it.
    pub fn new(config: &SimConfig) -> anyhow::Result<Self> {
        let scenario = &config.scenario;
        let start = match &scenario.start_time {
            Some(text) => parse_time(text)
                .ok_or_else(|| anyhow::anyhow!("startTime {text:?} is not an RFC 3339 time"))?,
            None => wall_millis(),
        };
        Ok(Self {
            clock: SimClock::new(start, config.time_scale),
            ids: IdGen::new(config.seed),
            creds: Credentials::new(&config.accounts),
            faults: Faults::new(scenario.faults.clone()),
            limits: RateLimiter::new(scenario.rate_limits.clone()),
            log: RequestLog::new(config.request_log_capacity),
            mms: Mms::new(&scenario.mms, &scenario.region, start)?,
            dts: Dts::new(scenario.dts.clone(), config.seed),
            dataworks: DataWorks::new(&scenario.dataworks, &scenario.region, config.seed),
            seen_secrets: Default::default(),
            config: config.clone(),
        })
    }

    /// Brings both services up to the current simulated time and returns it.
    pub fn advance(&mut self) -> SimMillis {
        let now = self.clock.now();
        self.mms.advance(now);
        self.dts.advance(now);
        self.dataworks.advance(now);
        now
    }

    /// Back to the initial state (same scenario, seed and time scale); the request log is
    /// cleared too, its sequence numbers keep increasing.
    pub fn reset(&mut self) -> anyhow::Result<()> {
        let mut fresh = World::new(&self.config)?;
        fresh.clock.set_scale(self.clock.scale());
        let mut log = std::mem::replace(&mut self.log, RequestLog::new(1));
        log.clear();
        fresh.log = log;
        *self = fresh;
        Ok(())
    }
}
