//! DtsMigration controller: buy, configure, precheck, follow lag, suspend, stop, release.

pub mod decide;
