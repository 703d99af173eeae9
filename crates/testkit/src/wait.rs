//! Waiting for what happens in the background (an indexer, a mail poll, a browser, a process)
//! without fixed sleeps: [`eventually`] returns as soon as its check holds, and
//! [`holds_for`] is the one bounded wait a negative claim ("nothing more arrives") needs.

use std::fmt::Display;
use std::future::Future;
use std::panic::Location;
use std::time::{Duration, Instant};

/// The first pause between two checks; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// What a check answers: whether it holds, with a value, or why not yet.
///
/// - `bool`: holds when `true`;
/// - `Option<T>`: holds when `Some`, giving the `T`;
/// - `Result<T, E>`: holds when `Ok`, giving the `T`; the last `Err` is shown if time runs
///   out, so a check can say what it saw ("the index shows 0 matches", a server's log).
pub trait Outcome {
    type Value;
    /// The value if the check holds, else what it saw instead (if it can say).
    fn into_result(self) -> Result<Self::Value, Option<String>>;
}

impl Outcome for bool {
    type Value = ();
    fn into_result(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Outcome for Result<T, E> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

/// Runs `check` until it holds and returns its value; panics, naming the caller's line and what
/// the check last saw, if it still does not hold after `timeout`. The check runs at least once,
/// and once more at the deadline.
///
/// ```no_run
/// # async fn f(log: impl Fn() -> String) {
/// use std::time::Duration;
/// yijian_testkit::eventually(Duration::from_secs(5), || async {
///     let log = log();
///     if log.contains("ready") { Ok(()) } else { Err(log) }
/// })
/// .await;
/// # }
/// ```
#[track_caller]
pub fn eventually<C, F, O>(timeout: Duration, mut check: C) -> impl Future<Output = O::Value>
where
    C: FnMut() -> F,
    F: Future<Output = O>,
    O: Outcome,
{
    let caller = Location::caller();
    async move {
        let deadline = Instant::now() + timeout;
        let mut pause = FIRST_PAUSE;
        loop {
            let last = match check().await.into_result() {
                Ok(value) => return value,
                Err(last) => last,
            };
            let now = Instant::now();
            if now >= deadline {
                match last {
                    Some(last) => panic!("eventually ({caller}): not so after {timeout:?}; last seen: {last}"),
                    None => panic!("eventually ({caller}): not so after {timeout:?}"),
                }
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }
}

/// Checks, for the whole of `period`, that `check` keeps holding: the bounded wait behind a
/// claim that nothing (more) happens. Panics, naming the caller's line, what the check saw and
/// when, as soon as it fails.
#[track_caller]
pub fn holds_for<C, F, O>(period: Duration, mut check: C) -> impl Future<Output = ()>
where
    C: FnMut() -> F,
    F: Future<Output = O>,
    O: Outcome,
{
    let caller = Location::caller();
    async move {
        let started = Instant::now();
        let end = started + period;
        loop {
            if let Err(seen) = check().await.into_result() {
                let after = started.elapsed();
                match seen {
                    Some(seen) => panic!("holds_for ({caller}): stopped holding after {after:?} of {period:?}: {seen}"),
                    None => panic!("holds_for ({caller}): stopped holding after {after:?} of {period:?}"),
                }
            }
            let now = Instant::now();
            if now >= end {
                return;
            }
            tokio::time::sleep(MAX_PAUSE.min(end - now)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn returns_the_value_once_the_check_holds() {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let got = eventually(Duration::from_secs(5), || async {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            (n >= 3).then_some(n * 10)
        })
        .await;
        assert_eq!(got, 30);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(started.elapsed() < Duration::from_secs(1), "no fixed sleep: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_bool_check_and_a_result_check() {
        eventually(Duration::from_millis(100), || async { true }).await;
        let v: &str = eventually(Duration::from_millis(100), || async { Ok::<_, String>("ok") }).await;
        assert_eq!(v, "ok");
    }

    #[tokio::test]
    #[should_panic(expected = "last seen: 0 of 3 matches")]
    async fn times_out_with_what_it_last_saw() {
        eventually(Duration::from_millis(50), || async { Err::<(), _>("0 of 3 matches") }).await;
    }

    #[tokio::test]
    #[should_panic(expected = "wait.rs")]
    async fn times_out_naming_the_callers_line() {
        eventually(Duration::from_millis(30), || async { false }).await;
    }

    #[tokio::test]
    async fn holds_for_waits_the_whole_period_while_it_holds() {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        holds_for(Duration::from_millis(300), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            true
        })
        .await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(calls.load(Ordering::SeqCst) >= 2, "checked at the start and again later");
    }

    #[tokio::test]
    #[should_panic(expected = "stopped holding")]
    async fn holds_for_fails_as_soon_as_it_stops_holding() {
        let calls = AtomicU32::new(0);
        holds_for(Duration::from_secs(60), || async { calls.fetch_add(1, Ordering::SeqCst) < 2 }).await;
    }
}
