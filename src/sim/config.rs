//! How a simulator instance is set up: where it listens, the scenario, time scale, seed and the
//! accounts that may sign requests.

use std::net::SocketAddr;
use std::path::Path;

use super::SimArgs;
use super::scenario::{
    AccountSpec, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_ACCOUNT_ID, Scenario,
};

/// Everything needed to start a simulator (see [`super::Simulator::start`]).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to bind; port 0 picks a free one.
    pub listen: SocketAddr,
    pub scenario: Scenario,
    /// Cloud milliseconds per real millisecond; 0 freezes the clock (advance it via the admin API).
    pub time_scale: f64,
    pub seed: u64,
    /// Accounts allowed to sign requests (from the scenario and the command line).
    pub accounts: Vec<AccountSpec>,
    /// Requests kept in the request log.
    pub request_log_capacity: usize,
}

impl SimConfig {
    /// The demo scenario on a random loopback port, at its own time scale (60).
    pub fn demo() -> Self {
        Self::from_scenario(Scenario::demo())
    }

    /// A config for `scenario` on a random loopback port; its time scale and seed apply.
    pub fn from_scenario(scenario: Scenario) -> Self {
        let accounts = resolve_accounts(&scenario, &[], &[]);
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            time_scale: scenario.time_scale.unwrap_or(1.0),
            seed: scenario.seed.unwrap_or(1),
            accounts,
            request_log_capacity: 10_000,
            scenario,
        }
    }

    /// Builds the config of `aliyun-migration-operator sim` from its flags.
    pub fn from_args(args: &SimArgs) -> anyhow::Result<Self> {
        let scenario = match &args.scenario {
            Some(path) => load_scenario(path)?,
            None => Scenario::demo(),
        };
        if args.access_key_id.len() != args.access_key_secret.len() {
            anyhow::bail!(
                "--access-key-id and --access-key-secret must be given the same number of times"
            );
        }
        let accounts = resolve_accounts(&scenario, &args.access_key_id, &args.access_key_secret);
        let mut config = Self::from_scenario(scenario);
        config.listen = args.listen;
        config.accounts = accounts;
        if let Some(scale) = args.time_scale {
            anyhow::ensure!(
                scale.is_finite() && scale >= 0.0,
                "--time-scale must be a non-negative number"
            );
            config.time_scale = scale;
        }
        if let Some(seed) = args.seed {
            config.seed = seed;
        }
        Ok(config)
    }

    /// Sets the time scale.
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the listen address.
    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }
}

fn load_scenario(path: &Path) -> anyhow::Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read scenario {}: {e}", path.display()))?;
    Scenario::from_yaml(&text)
}

/// Scenario accounts plus command-line pairs; the documented default pair when neither names one.
fn resolve_accounts(scenario: &Scenario, ids: &[String], secrets: &[String]) -> Vec<AccountSpec> {
    let mut accounts = scenario.accounts.clone();
    for (id, secret) in ids.iter().zip(secrets) {
        accounts.retain(|a| &a.access_key_id != id);
        accounts.push(AccountSpec {
            access_key_id: id.clone(),
            access_key_secret: secret.clone(),
            account_id: DEFAULT_ACCOUNT_ID.into(),
            active: true,
        });
    }
    if accounts.is_empty() {
        accounts.push(AccountSpec {
            access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
            access_key_secret: DEFAULT_ACCESS_KEY_SECRET.into(),
            account_id: DEFAULT_ACCOUNT_ID.into(),
            active: true,
        });
    }
    accounts
}
