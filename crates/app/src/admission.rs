//! Refusing comments early when the node is overloaded, so that those it takes are answered in
//! time and those it cannot take are answered at once.
//!
//! A full intake queue ([`yijian_store::Store::intake_has_room`]) catches a writer that cannot
//! keep up. It does not catch a node whose CPU cannot: under a flood from thousands of
//! connections every submission waits for its turn on the cores between its steps, the queue
//! never fills, and the time to answer grows with the crowd until clients time out. What grows
//! is the time a submission spends between being let in and being stored (its sojourn), so that
//! is what is watched, with the rule of CoDel (Nichols and Jacobson, "Controlling Queue Delay",
//! 2012): a sojourn above [`TARGET`] now and then is a burst and is let be; when even the
//! shortest sojourn over a whole [`INTERVAL`] was above it (and the interval saw at least
//! [`CROWD`] submissions, so that one slow disk write on a quiet node is not taken for a
//! flood), the node is overloaded, and new
//! submissions are refused (503, Retry-After, what was typed kept) for the next interval, before
//! any work is spent on them. One interval later the rule looks again at what was let in.
//!
//! Written here rather than taken from a crate: tower's load-shedding layers refuse on a
//! concurrency limit, which a crowd of slow connections reaches without any overload, or miss
//! a CPU-bound node that never reaches it; the rule is a dozen lines.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The sojourn a node should keep: the p99 asked of the intake.
pub const TARGET: Duration = Duration::from_millis(50);
/// How long the sojourn must stay above [`TARGET`] to count as overload, and how long new
/// submissions are then refused before the rule looks again.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// How many submissions an interval must see to count as overloaded.
pub const CROWD: u32 = 32;

#[derive(Debug)]
struct State {
    /// The interval being watched began at this instant…
    started: Instant,
    /// … and the shortest sojourn recorded in it, if any, of `seen`.
    shortest: Option<Duration>,
    seen: u32,
    /// Refusing until this instant.
    refusing_until: Option<Instant>,
}

/// The admission rule of one node.
#[derive(Debug)]
pub struct Admission {
    state: Mutex<State>,
}

impl Admission {
    pub fn new(now: Instant) -> Admission {
        Admission { state: Mutex::new(State { started: now, shortest: None, seen: 0, refusing_until: None }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a submission arriving now is let in.
    pub fn admit(&self, now: Instant) -> bool {
        let mut s = self.state();
        if s.refusing_until.is_some_and(|until| now < until) {
            return false;
        }
        if now.duration_since(s.started) >= INTERVAL {
            // An interval ended: overloaded if a crowd came and even its quickest was too slow.
            let overloaded = s.seen >= CROWD && s.shortest.is_some_and(|d| d > TARGET);
            s.started = now;
            s.shortest = None;
            s.seen = 0;
            if overloaded {
                s.refusing_until = Some(now + INTERVAL);
                return false;
            }
            s.refusing_until = None;
        }
        true
    }

    /// Records how long a submission that was let in took, from [`Admission::admit`] to stored
    /// (or refused by a full queue).
    pub fn record(&self, sojourn: Duration) {
        let mut s = self.state();
        s.shortest = Some(s.shortest.map_or(sojourn, |d| d.min(sojourn)));
        s.seen = s.seen.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn record_n(a: &Admission, n: u32, sojourn: Duration) {
        for _ in 0..n {
            a.record(sojourn);
        }
    }

    #[test]
    fn slow_sojourns_for_a_whole_interval_refuse_the_next() {
        let t0 = Instant::now();
        let a = Admission::new(t0);
        // A burst: slow submissions among quick ones are not overload.
        assert!(a.admit(t0));
        record_n(&a, 100, MS(300));
        a.record(MS(5));
        assert!(a.admit(t0 + MS(101)), "the shortest was 5 ms");
        // Every submission of an interval slow: the next interval refuses.
        record_n(&a, CROWD - 1, MS(80));
        a.record(MS(60));
        assert!(a.admit(t0 + MS(150)), "still within the interval");
        assert!(!a.admit(t0 + MS(202)), "the interval ended with its shortest at 60 ms");
        assert!(!a.admit(t0 + MS(250)));
        assert!(!a.admit(t0 + MS(301)));
        // The refusal ends after an interval; the rule looks again at what is let in then.
        assert!(a.admit(t0 + MS(303)));
        record_n(&a, CROWD, MS(3));
        assert!(a.admit(t0 + MS(404)), "quick again");
    }

    #[test]
    fn an_idle_or_quiet_interval_is_not_overload() {
        let t0 = Instant::now();
        let a = Admission::new(t0);
        assert!(a.admit(t0 + MS(500)), "nothing recorded");
        assert!(a.admit(t0 + MS(1_000)));
        record_n(&a, CROWD, TARGET);
        assert!(a.admit(t0 + MS(1_200)), "at the target is not above it");
        // One slow write on a quiet node (a test, a disk hiccup): a few slow sojourns only.
        record_n(&a, CROWD - 1, MS(900));
        assert!(a.admit(t0 + MS(1_400)));
        assert!(a.admit(t0 + MS(1_401)));
    }
}
