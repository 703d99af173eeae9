//! Staff: signing in (password, lockout, two-step codes), sessions, API tokens, and accounts.
//!
//! The sign-in policy is `yijian_domain::staff::LOGIN_POLICY`. An attempt is held back before
//! its password is hashed: by its client address's count of failures ([`crate::sign_in_guard::SignInGuard`]), then by
//! its name's count, which the store takes atomically, so that guesses sent at once are each
//! counted; the hash itself waits for one of a few turns. Each attempt's outcome and its audit
//! entry are written together by the store. The current password asked again on the account
//! page goes the same way.

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};
use yijian_domain::staff::{Admission, LOGIN_POLICY, LoginDecision, Permission, Role};
use yijian_store::{ApiToken, SessionUser, StaffUser};

use crate::{App, Error};

/// What a sign-in attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// A new session: its token goes into a cookie; only its hash is stored.
    Session { token: String, role: Role },
    /// Wrong name, password or code: the same answer for each.
    Refused,
    /// Too many failures in a row on this name (known or not): refused until `until`.
    Locked { until: Timestamp },
    /// Too many failures from this client address: try again after `wait`.
    Throttled { wait: SignedDuration },
    /// Too many passwords being checked at once: try again shortly.
    Busy,
}

/// What checking the current password (and code) again came to, on the account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Right,
    /// The password, or the code where two-step login is on, is wrong.
    Wrong,
    Locked {
        until: Timestamp,
    },
    /// Held back by the address's count or a busy server.
    TryLater,
}

/// A change of one's own two-step login.
#[derive(Debug, Clone, Copy)]
pub enum TotpChange<'a> {
    /// On with a new secret (replacing the old one, if any); `new_code` proves the app has it.
    On {
        secret: &'a [u8],
        new_code: &'a str,
    },
    Off,
}

/// What a change of two-step login came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpOutcome {
    Done,
    /// The code of the new secret is wrong: nothing changed.
    WrongNewCode,
    /// The current password (or code) was not right: nothing changed.
    NotVerified(PasswordCheck),
}

/// Verified against when the user does not exist, so that a wrong name takes as long as a
/// wrong password and does not reveal which names exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| yijian_crypto::password::hash("yijian-dummy-password"));

/// Runs Argon2 off the async threads.
async fn verify_password(password: &str, phc: String) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || yijian_crypto::password::verify(&password, &phc)).await.unwrap_or(false)
}

fn unix_secs(now: Timestamp) -> u64 {
    u64::try_from(now.as_second()).unwrap_or(0)
}

/// An admitted or refused attempt, as [`App::attempt`] leaves it.
enum Attempt {
    Decided { decision: LoginDecision, token: Option<String> },
    Throttled(SignedDuration),
    Busy,
}

impl App {
    async fn hash_password(&self, password: &str) -> String {
        // A new password is hashed behind a session: it waits its turn however long it takes.
        let _turn = self.sign_in_guard.hash_turn_patiently().await;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || yijian_crypto::password::hash(&password))
            .await
            .expect("hashing does not panic")
    }

    /// The key under which attempts on a name are counted: a keyed hash, so that whatever a
    /// stranger types is stored short and not as typed.
    fn login_subject(&self, name: &str) -> String {
        hex::encode(&self.mac("login-subject", name)[..16])
    }

    /// How long an unused session lives.
    pub fn session_idle(&self) -> SignedDuration {
        self.options.session_idle.unwrap_or(LOGIN_POLICY.session_idle)
    }

    /// One attempt on `name`'s password, and with `code` its two-step code where that is on
    /// (`None`: the code is not asked). `what` is empty for a sign-in, else says what asked
    /// for the password again, and no session is made.
    async fn attempt(
        &self,
        name: &str,
        password: &str,
        code: Option<&str>,
        client: Option<IpAddr>,
        what: &str,
        now: Timestamp,
    ) -> Result<Attempt, Error> {
        if let Some(ip) = client
            && let Err(wait) = self.sign_in_guard.take(ip, now)
        {
            tracing::warn!(%ip, "sign-in attempts from this address held back");
            return Ok(Attempt::Throttled(wait));
        }
        let subject = self.login_subject(name);
        let number = match self.store.reserve_login_attempt(&subject, &LOGIN_POLICY, now).await? {
            Admission::Check { number } => number,
            Admission::Locked { until } => {
                let decision = LoginDecision::Locked { until };
                self.store.record_login(&subject, name, decision, what, now).await?;
                return Ok(Attempt::Decided { decision, token: None });
            }
        };
        let account = self.store.login_account(name).await?;
        let phc = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
        let password_ok = {
            let Some(_turn) = self.sign_in_guard.hash_turn().await else {
                // Counted against the name all the same: waiting out a busy server gains no try.
                tracing::warn!("a sign-in attempt was turned away: too many passwords being checked");
                return Ok(Attempt::Busy);
            };
            verify_password(password, phc).await
        };
        let code_ok = match (account.as_ref().and_then(|a| a.totp_secret.as_deref()), code) {
            (Some(secret), Some(code)) if password_ok => {
                match yijian_crypto::totp::step_of(secret, code, unix_secs(now)) {
                    // A code's step is accepted once: a replayed code fails.
                    Some(step) => self.store.consume_totp_step(name, step).await?,
                    None => false,
                }
            }
            (Some(_), Some(_)) => false,
            _ => true,
        };
        let decision = LOGIN_POLICY.decide(account.as_ref().map(|a| &a.state), number, password_ok && code_ok, now);
        let token = self.store.record_login(&subject, name, decision, what, now).await?;
        if let (LoginDecision::Accept { .. }, Some(ip)) = (decision, client) {
            self.sign_in_guard.give_back(ip);
        }
        Ok(Attempt::Decided { decision, token })
    }

    /// Checks a name, password and (with two-step login on) the current code, from an unknown
    /// address. See [`App::sign_in_from`].
    pub async fn sign_in(&self, name: &str, password: &str, totp_code: &str, now: Timestamp) -> Result<SignIn, Error> {
        self.sign_in_from(None, name, password, totp_code, now).await
    }

    /// Checks a name, password and (with two-step login on) the current code. Five attempts in
    /// a row on a name, known or not, lock it for 15 minutes; an address that fails too often
    /// is held back; every attempt that gets that far is audited; success makes a new session
    /// and purges the sessions that have ended.
    pub async fn sign_in_from(
        &self,
        client: Option<IpAddr>,
        name: &str,
        password: &str,
        totp_code: &str,
        now: Timestamp,
    ) -> Result<SignIn, Error> {
        Ok(match self.attempt(name, password, Some(totp_code), client, "", now).await? {
            Attempt::Decided { decision: LoginDecision::Accept { role, .. }, token: Some(token) } => {
                if let Err(e) = self.purge_sessions(now).await {
                    tracing::warn!(error = %e, "purging ended sessions failed");
                }
                SignIn::Session { token, role }
            }
            Attempt::Decided {
                decision:
                    LoginDecision::LockOut { until, .. }
                    | LoginDecision::Locked { until }
                    | LoginDecision::Unknown { lockout: Some(until), .. },
                ..
            } => SignIn::Locked { until },
            Attempt::Decided { .. } => SignIn::Refused,
            Attempt::Throttled(wait) => SignIn::Throttled { wait },
            Attempt::Busy => SignIn::Busy,
        })
    }

    /// The user behind a session cookie's token, if the session is live: before its end, and
    /// used within the idle timeout.
    pub async fn session_user(&self, token: &str, now: Timestamp) -> Result<Option<SessionUser>, Error> {
        Ok(self.store.session_user(token, self.session_idle(), now).await?)
    }

    /// Deletes the sessions that have ended or gone idle; how many.
    pub async fn purge_sessions(&self, now: Timestamp) -> Result<u64, Error> {
        Ok(self.store.purge_expired(self.session_idle(), now).await?)
    }

    /// The user behind an API bearer token, if it is live.
    pub async fn token_user(&self, token: &str, now: Timestamp) -> Result<Option<SessionUser>, Error> {
        Ok(self.store.token_user(token, now).await?)
    }

    pub async fn sign_out(&self, token: &str, now: Timestamp) -> Result<(), Error> {
        Ok(self.store.logout(token, now).await?)
    }

    /// Whether `password` (and `code`, where two-step login is on and it is given) is the
    /// user's, for changes that ask for it again. It counts like a sign-in attempt: towards
    /// the lockout, and audited when wrong.
    pub async fn check_password(
        &self,
        user: &SessionUser,
        password: &str,
        code: Option<&str>,
        client: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<PasswordCheck, Error> {
        let what = "the current password, asked again";
        Ok(match self.attempt(&user.name, password, code, client, what, now).await? {
            Attempt::Decided { decision: LoginDecision::Accept { .. }, .. } => PasswordCheck::Right,
            Attempt::Decided {
                decision: LoginDecision::LockOut { until, .. } | LoginDecision::Locked { until },
                ..
            } => PasswordCheck::Locked { until },
            Attempt::Decided { .. } => PasswordCheck::Wrong,
            Attempt::Throttled(_) | Attempt::Busy => PasswordCheck::TryLater,
        })
    }

    /// Whether two-step login is on for this user.
    pub async fn totp_enabled(&self, name: &str) -> Result<bool, Error> {
        Ok(self.store.totp_secret(name).await?.is_some())
    }

    /// The user changes their own password, having given the current one (checked by the
    /// caller with [`App::check_password`]). Their other sessions end; `session`, the one
    /// they are using, stays.
    pub async fn change_password(
        &self,
        user: &SessionUser,
        session: Option<&str>,
        new: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let phc = self.hash_password(new).await;
        Ok(self.store.set_user_password(&user.name, &user.name, &phc, session, now).await?)
    }

    /// The user turns two-step login on, replaces its secret, or turns it off. Each needs the
    /// current password, and the current code when it is on; turning it on needs the new
    /// secret's code too, whose step is then not accepted again.
    pub async fn change_totp(
        &self,
        user: &SessionUser,
        current_password: &str,
        current_code: &str,
        change: TotpChange<'_>,
        client: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<TotpOutcome, Error> {
        let new = match change {
            TotpChange::On { secret, new_code } => {
                let step = (secret.len() >= 16)
                    .then(|| yijian_crypto::totp::step_of(secret, new_code, unix_secs(now)))
                    .flatten();
                let Some(step) = step else { return Ok(TotpOutcome::WrongNewCode) };
                Some((secret, step))
            }
            TotpChange::Off => None,
        };
        let check = self.check_password(user, current_password, Some(current_code), client, now).await?;
        if check != PasswordCheck::Right {
            return Ok(TotpOutcome::NotVerified(check));
        }
        let action = match (new.is_some(), self.totp_enabled(&user.name).await?) {
            (true, false) => "totp.enable",
            (true, true) => "totp.replace",
            (false, _) => "totp.disable",
        };
        self.store.set_totp(&user.name, &user.name, new, action, now).await?;
        Ok(TotpOutcome::Done)
    }

    /// Staff accounts, for an admin.
    pub async fn users(&self, user: &SessionUser) -> Result<Vec<StaffUser>, Error> {
        self.require(user, Permission::ManageUsers)?;
        Ok(self.store.list_users().await?)
    }
}

/// Account and token administration from the command line, where the operator (`actor`, e.g.
/// `cli:root`) has the machine and so every power.
impl App {
    pub async fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        password: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let phc = self.hash_password(password).await;
        Ok(self.store.add_user(actor, name, role, &phc, now).await?)
    }

    pub async fn list_users(&self) -> Result<Vec<StaffUser>, Error> {
        Ok(self.store.list_users().await?)
    }

    pub async fn set_user_disabled(
        &self,
        actor: &str,
        name: &str,
        disabled: bool,
        now: Timestamp,
    ) -> Result<(), Error> {
        Ok(self.store.set_user_disabled(actor, name, disabled, now).await?)
    }

    pub async fn set_user_role(&self, actor: &str, name: &str, role: Role, now: Timestamp) -> Result<(), Error> {
        Ok(self.store.set_user_role(actor, name, role, now).await?)
    }

    /// Sets a user's password and ends all their sessions.
    pub async fn reset_password(&self, actor: &str, name: &str, password: &str, now: Timestamp) -> Result<(), Error> {
        let phc = self.hash_password(password).await;
        Ok(self.store.set_user_password(actor, name, &phc, None, now).await?)
    }

    /// Turns a user's two-step login off, for one who lost their authenticator; they may sign
    /// in with the password alone and set it up again.
    pub async fn reset_totp(&self, actor: &str, name: &str, now: Timestamp) -> Result<(), Error> {
        Ok(self.store.set_totp(actor, name, None, "totp.reset", now).await?)
    }

    /// Makes a bearer token for a user: `(id, token)`; the token is shown once.
    pub async fn create_token(
        &self,
        actor: &str,
        user: &str,
        days: Option<u32>,
        now: Timestamp,
    ) -> Result<(String, String), Error> {
        Ok(self.store.create_token(actor, user, days, now).await?)
    }

    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>, Error> {
        Ok(self.store.list_tokens().await?)
    }

    pub async fn revoke_token(&self, actor: &str, id: &str, now: Timestamp) -> Result<(), Error> {
        Ok(self.store.revoke_token(actor, id, now).await?)
    }

    /// The audit log, oldest first.
    pub async fn audit_entries(&self) -> Result<Vec<yijian_store::AuditEntry>, Error> {
        Ok(self.store.audit_entries().await?)
    }

    /// Checks the audit chain; `Err(seq)` names the first entry altered, removed or inserted.
    pub async fn verify_audit_chain(&self) -> Result<Result<usize, i64>, Error> {
        Ok(self.store.verify_audit_chain().await?)
    }

    /// Checks the audit chain and, against it, the anchors kept outside the database.
    pub async fn verify_audit(&self) -> Result<yijian_store::AuditVerdict, Error> {
        Ok(self.store.verify_audit().await?)
    }
}
