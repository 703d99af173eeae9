//! yijian's integration tests: one binary (each extra test binary costs a full link).
//!
//! Tests that need a database run on SQLite and PostgreSQL alike (`on_both_backends!`).
//! PostgreSQL is expected at 127.0.0.1:5432 (trust auth) or `YIJIAN_TEST_POSTGRES`;
//! `scripts/test` starts it where it is missing. `YIJIAN_TEST_BACKENDS=sqlite` runs without
//! it: each test or half of a test left out prints `SKIPPED on PostgreSQL: …`.

mod harness;

mod admin;
mod api;
mod api_schema;
mod audit;
mod browser;
mod campaigns;
mod captcha;
mod cli;
mod demo;
mod durability;
mod files;
mod integrity;
mod mail;
mod nodes;
mod numbers_in_text;
mod operations;
mod overload;
mod pages;
mod privacy;
mod receipts;
mod review;
mod schema;
mod server;
mod sign_in;
mod signals;
mod staff;
mod suggestions;
mod tamper;
mod themes;
