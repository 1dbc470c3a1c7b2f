//! DataSource controller: adopt an MMS data source, check it, scan its metadata.

pub mod decide;
