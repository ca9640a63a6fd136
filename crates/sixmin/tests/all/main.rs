//! Every command-line test of `sixmin`, in one test binary (the helpers are the
//! `sixmin-test-utils` crate): each module is one area, run with `cargo test -p sixmin
//! --test all AREA::`.

mod alerting;
mod bad_input;
mod calendar;
mod dashboards;
mod deployment;
mod inputs;
mod kafka;
mod metrics_report;
mod prometheus;
mod report_formats;
mod report_ledger;
mod report_pdf;
mod resume;
mod rule_packs;
mod run_config;
mod sample;
mod service;
mod status_page;
