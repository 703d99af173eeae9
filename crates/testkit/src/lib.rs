//! What yijian's tests and benchmarks share (never shipped):
//!
//! - [`backends`]: which database backends a run covers, from `YIJIAN_TEST_BACKENDS`
//!   (`sqlite`, `postgres`, or both, the default), and the loud line a skipped test prints;
//! - [`postgres`]: a PostgreSQL database made for one test (or benchmark) and dropped after it;
//! - [`wait`]: [`eventually`] polls a check until it holds, and [`holds_for`] asserts that
//!   something stays true for a while, instead of fixed sleeps and hand-written poll loops;
//! - [`synthetic`]: the deterministic generator of Chinese opinions and whole comments used by
//!   the benchmarks and the store's tests.
//!
//! The mail test corpus and the mail servers stay in `yijian-mailgen`.

pub mod backends;
pub mod postgres;
pub mod synthetic;
pub mod wait;

pub use backends::{Backend, selected_backends};
pub use postgres::PgDatabase;
pub use wait::{eventually, holds_for};
