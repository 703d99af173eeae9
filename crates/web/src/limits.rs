//! Per-client limits (on submissions, on captchas, on receipt look-ups), finding the client's
//! address, and the server's connection limits and timeouts.
//!
//! A limit is per client overall, whichever node it reaches: where several nodes share a
//! PostgreSQL database, the count is kept there (one statement a check, see
//! `Store::rate_check`); a SQLite installation is one node and counts in its own memory.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How many requests of a kind one client may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

/// Counts requests per client, as [`client_key`] names clients.
pub enum Limiter {
    /// In this process's memory: one node.
    Memory { limiter: DefaultKeyedRateLimiter<IpAddr>, clock: DefaultClock },
    /// In the database every node shares, under a name for the kind of request.
    /// (The app boxed: it is several times the size of the in-memory limiter.)
    Shared { app: Box<yijian_app::App>, kind: &'static str, limit: RateLimit },
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        let per_minute = NonZeroU32::new(limit.per_minute.max(1)).expect("at least 1");
        let burst = NonZeroU32::new(limit.burst.max(1)).expect("at least 1");
        Limiter::Memory {
            limiter: RateLimiter::dashmap(Quota::per_minute(per_minute).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// A limit on `kind` counted where every node of `app`'s installation sees it: in the
    /// database when it may be shared (PostgreSQL), else in memory.
    pub fn for_app(app: &yijian_app::App, kind: &'static str, limit: RateLimit) -> Limiter {
        if app.database_is_shared() {
            Limiter::Shared { app: Box::new(app.clone()), kind, limit }
        } else {
            Limiter::new(limit)
        }
    }

    /// `Err(wait)` when the client at `ip` must wait before asking again.
    pub async fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = client_key(ip);
        match self {
            Limiter::Memory { limiter, clock } => {
                if limiter.len() > 100_000 {
                    limiter.retain_recent();
                }
                limiter.check_key(&key).map_err(|not_until| not_until.wait_time_from(clock.now()))
            }
            Limiter::Shared { app, kind, limit } => {
                let interval = Duration::from_secs(60) / limit.per_minute.max(1);
                match app.rate_check(&format!("{kind}:{key}"), jiff::Timestamp::now(), interval, limit.burst).await {
                    Ok(verdict) => verdict,
                    // A limit is a protection, not a gate: a database that cannot count lets
                    // the request through (and what it asks of the database will fail anyway).
                    Err(e) => {
                        tracing::warn!(error = %e, kind, "could not count a request against its limit");
                        Ok(())
                    }
                }
            }
        }
    }
}

/// The client an address belongs to, for limits: an IPv4 address is one client, and so is an
/// IPv6 /64 (the smallest network a provider hands out, so its holder can pick any of 2^64
/// addresses in it). An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is the IPv4 address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        },
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
/// right-most address in X-Forwarded-For that is not itself a trusted proxy. An untrusted
/// peer's X-Forwarded-For is ignored, so nobody can pick their own address.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.ip();
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

/// Seconds for a Retry-After header, rounded up.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        let trusted: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        assert_eq!(client_ip(proxy, &h, &trusted), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(stranger, &h, &trusted), stranger.ip());
        assert_eq!(client_ip(proxy, &h, &[]), proxy.ip());
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy.ip());
    }

    #[test]
    fn a_burst_then_a_wait() {
        let l = Limiter::new(RateLimit { per_minute: 6, burst: 2 });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(block_on(l.check(ip)).is_ok());
        assert!(block_on(l.check(ip)).is_ok());
        let wait = block_on(l.check(ip)).unwrap_err();
        assert!(wait <= Duration::from_secs(10) && wait > Duration::ZERO, "{wait:?}");
        assert_eq!(retry_after_secs(wait), wait.as_secs() + 1);
        assert!(block_on(l.check("192.0.2.2".parse().unwrap())).is_ok(), "another address is not held back");
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), ip("2001:db8:1:2::"));
        assert_ne!(client_key(ip("2001:db8:1:3::1")), client_key(ip("2001:db8:1:2::1")));
        assert_eq!(client_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_key(ip("192.0.2.7")), ip("192.0.2.7"));
        let l = Limiter::new(RateLimit { per_minute: 1, burst: 1 });
        assert!(block_on(l.check(ip("2001:db8:1:2::1"))).is_ok());
        assert!(block_on(l.check(ip("2001:db8:1:2::2"))).is_err(), "a neighbour in the /64 shares the limit");
        assert!(block_on(l.check(ip("2001:db8:1:3::1"))).is_ok());
    }
}
