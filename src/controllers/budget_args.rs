//! The account budget flags of `run`: how many calls per second one account may make in one
//! region, per product (client-side; Alibaba Cloud throttles beyond its own limits).

use crate::aliyun::{Product, RateLimit, RateLimits};

/// The one per-account limit DTS documents: DescribeDtsJobDetail, 40 calls/s per account and
/// region (`docs/cloud-apis.md#documented-rate-limits`). A ceiling above it would be throttled
/// by DTS.
pub const DTS_DETAIL_DOCUMENTED: u32 = 40;

/// Budget ceilings (calls per second per account and region).
#[derive(clap::Args, Debug, Clone)]
pub struct BudgetArgs {
    /// MaxCompute MMS calls per second per account and region (MMS documents no limit; the
    /// default is what the client has always assumed). Reads stretch their intervals to fit.
    #[arg(long, env = "AMO_MMS_CALLS_PER_SECOND", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub mms_calls_per_second: u32,
    /// DTS calls per second per account and region, DescribeDtsJobDetail excepted (DTS
    /// documents no figure for them).
    #[arg(long, env = "AMO_DTS_CALLS_PER_SECOND", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub dts_calls_per_second: u32,
    /// DescribeDtsJobDetail calls per second per account and region; at most the documented 40
    /// (with its burst of 10 it stays at or under 34 in any second by default).
    #[arg(long, env = "AMO_DTS_DETAIL_CALLS_PER_SECOND", default_value_t = 25,
          value_parser = clap::value_parser!(u32).range(1..=(DTS_DETAIL_DOCUMENTED as i64)))]
    pub dts_detail_calls_per_second: u32,
}

impl BudgetArgs {
    /// The client's rate limits: the defaults' bursts with these sustained rates. A burst never
    /// lets one second exceed the documented DescribeDtsJobDetail limit.
    pub fn rate_limits(&self) -> RateLimits {
        let defaults = RateLimits::default();
        let detail_burst = 10.min(DTS_DETAIL_DOCUMENTED + 1 - self.dts_detail_calls_per_second);
        RateLimits {
            mms: RateLimit {
                per_second: self.mms_calls_per_second,
                ..defaults.mms
            },
            dts: RateLimit {
                per_second: self.dts_calls_per_second,
                ..defaults.dts
            },
            actions: vec![(
                Product::Dts,
                "DescribeDtsJobDetail".to_string(),
                RateLimit {
                    per_second: self.dts_detail_calls_per_second,
                    burst: detail_burst.max(1),
                },
            )],
            ..defaults
        }
    }
}

impl Default for BudgetArgs {
    fn default() -> Self {
        Self {
            mms_calls_per_second: 8,
            dts_calls_per_second: 8,
            dts_detail_calls_per_second: 25,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_clients_defaults() {
        let limits = BudgetArgs::default().rate_limits();
        let defaults = RateLimits::default();
        assert_eq!(limits.mms, defaults.mms);
        assert_eq!(limits.dts, defaults.dts);
        assert_eq!(limits.actions, defaults.actions);
    }

    #[test]
    fn no_ceiling_lets_describe_dts_job_detail_exceed_its_documented_limit() {
        for per_second in 1..=DTS_DETAIL_DOCUMENTED {
            let limits = BudgetArgs {
                dts_detail_calls_per_second: per_second,
                ..BudgetArgs::default()
            }
            .rate_limits();
            let detail = limits.actions[0].2;
            assert!(
                detail.max_in_any_second() <= DTS_DETAIL_DOCUMENTED,
                "{per_second}/s: {detail:?}"
            );
        }
    }

    #[test]
    fn ceilings_above_the_documented_limit_are_refused() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            budget: BudgetArgs,
        }
        use clap::Parser;
        assert!(Cli::try_parse_from(["x", "--dts-detail-calls-per-second", "41"]).is_err());
        assert!(Cli::try_parse_from(["x", "--mms-calls-per-second", "0"]).is_err());
        let cli = Cli::try_parse_from(["x", "--mms-calls-per-second", "20"]).unwrap();
        assert_eq!(cli.budget.rate_limits().mms.per_second, 20);
    }
}
