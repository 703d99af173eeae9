//! What holds sign-in back before a password is hashed: a count of failed attempts per client
//! address, and a bound on the Argon2 hashes running at once (each takes 19 MiB, so a flood of
//! logins must wait its turn, briefly, rather than exhaust memory).
//!
//! The count per name lives in the store (`Store::reserve_login_attempt`), shared by every node;
//! this one is per process, like the submission limit in `yijian-web`, and kept apart from it:
//! it counts failures, not requests, and a success gives its attempt back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Semaphore, SemaphorePermit};
use yijian_domain::staff::LoginPolicy;

/// Argon2 hashes at once: 8 × 19 MiB.
pub const MAX_CONCURRENT_HASHES: usize = 8;
/// How long an attempt waits for its turn to hash before it is answered "busy, try again".
pub const HASH_WAIT: Duration = Duration::from_secs(5);
/// Addresses remembered at most; past this the windows that have ended are forgotten, and if
/// that is not enough, all are (the count per name still holds).
const MAX_ADDRESSES: usize = 100_000;

/// A client as the address throttle counts it: an IPv4 address, or an IPv6 /64, which one
/// machine usually has whole.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

struct Window {
    start: Timestamp,
    failures: u32,
}

pub struct SignInGuard {
    policy: LoginPolicy,
    hashes: Semaphore,
    addresses: Mutex<HashMap<IpAddr, Window>>,
}

impl SignInGuard {
    pub fn new(policy: LoginPolicy) -> SignInGuard {
        SignInGuard { policy, hashes: Semaphore::new(MAX_CONCURRENT_HASHES), addresses: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt from `client` as a failure until it succeeds ([`Self::give_back`]);
    /// `Err(wait)` when the address has failed too often in its window.
    pub fn take(&self, client: IpAddr, now: Timestamp) -> Result<(), SignedDuration> {
        let key = client_key(client);
        let mut map = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ADDRESSES {
            let window = self.policy.address_window;
            map.retain(|_, w| w.start + window > now);
            if map.len() >= MAX_ADDRESSES {
                map.clear();
            }
        }
        let w = map.entry(key).or_insert(Window { start: now, failures: 0 });
        if w.start + self.policy.address_window <= now {
            *w = Window { start: now, failures: 0 };
        }
        if w.failures >= self.policy.max_failures_per_address {
            return Err((w.start + self.policy.address_window).duration_since(now));
        }
        w.failures += 1;
        Ok(())
    }

    /// A successful attempt does not count against its address.
    pub fn give_back(&self, client: IpAddr) {
        let mut map = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = map.get_mut(&client_key(client)) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    /// A turn to hash, waiting at most [`HASH_WAIT`]; `None` when the server is too busy.
    pub async fn hash_turn(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(HASH_WAIT, self.hashes.acquire()).await.ok()?.ok()
    }

    /// A turn to hash, however long it takes (for a new password, behind a session or the CLI).
    pub async fn hash_turn_patiently(&self) -> SemaphorePermit<'_> {
        self.hashes.acquire().await.expect("the semaphore is never closed")
    }
}

#[cfg(test)]
mod tests {
    use yijian_domain::staff::LOGIN_POLICY;

    use super::*;

    #[test]
    fn an_address_fails_so_often_in_its_window_and_a_success_gives_its_attempt_back() {
        let g = SignInGuard::new(LOGIN_POLICY);
        let now: Timestamp = "2025-05-12T08:00:00Z".parse().unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..LOGIN_POLICY.max_failures_per_address {
            g.take(ip, now).unwrap();
        }
        assert_eq!(g.take(ip, now).unwrap_err(), LOGIN_POLICY.address_window);
        g.give_back(ip);
        assert!(g.take(ip, now).is_ok());
        assert!(g.take("192.0.2.2".parse().unwrap(), now).is_ok(), "another address is not held back");
        assert!(g.take(ip, now + LOGIN_POLICY.address_window).is_ok(), "a new window");
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
