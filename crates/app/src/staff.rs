//! Staff: signing in (password, lockout, two-step codes), sessions, API tokens, and accounts.
//!
//! The sign-in policy is `yijian_domain::staff::LOGIN_POLICY`; passwords are hashed and
//! checked here, off the async threads; each attempt's outcome and its audit entry are written
//! together by the store.

use jiff::Timestamp;
use yijian_domain::staff::{LOGIN_POLICY, LoginDecision, Permission, Role};
use yijian_store::{ApiToken, SessionUser, StaffUser};

use crate::{App, Error};

/// What a sign-in attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// A new session: its token goes into a cookie; only its hash is stored.
    Session {
        token: String,
        role: Role,
    },
    Refused,
    Locked {
        until: Timestamp,
    },
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

async fn hash_password(password: &str) -> String {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || yijian_crypto::password::hash(&password)).await.expect("hashing does not panic")
}

impl App {
    /// Checks a name, password and (with two-step login on) the current code. Five failures in
    /// a row lock the account for 15 minutes; every attempt is audited; success makes a new
    /// session.
    pub async fn sign_in(&self, name: &str, password: &str, totp_code: &str, now: Timestamp) -> Result<SignIn, Error> {
        let account = self.store.login_account(name).await?;
        let phc = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
        let password_ok = verify_password(password, phc).await;
        let code_ok = match account.as_ref().and_then(|a| a.totp_secret.as_deref()) {
            Some(secret) => yijian_crypto::totp::check(secret, totp_code),
            None => true,
        };
        let decision = LOGIN_POLICY.decide(account.as_ref().map(|a| &a.state), password_ok && code_ok, now);
        let token = self.store.record_login(name, decision, now).await?;
        Ok(match (decision, token) {
            (LoginDecision::Accept { role, .. }, Some(token)) => SignIn::Session { token, role },
            (LoginDecision::LockOut { until, .. } | LoginDecision::Locked { until }, _) => SignIn::Locked { until },
            _ => SignIn::Refused,
        })
    }

    /// The user behind a session cookie's token, if the session is live.
    pub async fn session_user(&self, token: &str, now: Timestamp) -> Result<Option<SessionUser>, Error> {
        Ok(self.store.session_user(token, now).await?)
    }

    /// The user behind an API bearer token, if it is live.
    pub async fn token_user(&self, token: &str, now: Timestamp) -> Result<Option<SessionUser>, Error> {
        Ok(self.store.token_user(token, now).await?)
    }

    pub async fn sign_out(&self, token: &str, now: Timestamp) -> Result<(), Error> {
        Ok(self.store.logout(token, now).await?)
    }

    /// Whether `password` is the user's, for changes that ask for it again.
    pub async fn check_password(&self, name: &str, password: &str) -> Result<Option<Role>, Error> {
        let Some(account) = self.store.login_account(name).await? else { return Ok(None) };
        let ok = verify_password(password, account.password_hash).await;
        Ok((ok && !account.state.disabled).then_some(account.state.role))
    }

    /// Whether two-step login is on for this user.
    pub async fn totp_enabled(&self, name: &str) -> Result<bool, Error> {
        Ok(self.store.totp_secret(name).await?.is_some())
    }

    /// The user changes their own password.
    pub async fn change_password(&self, user: &SessionUser, new: &str, now: Timestamp) -> Result<(), Error> {
        let phc = hash_password(new).await;
        Ok(self.store.set_user_password(&user.name, &user.name, &phc, now).await?)
    }

    /// The user turns two-step login on (with this secret) or off.
    pub async fn set_totp(&self, user: &SessionUser, secret: Option<&[u8]>, now: Timestamp) -> Result<(), Error> {
        Ok(self.store.set_totp(&user.name, &user.name, secret, now).await?)
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
        let phc = hash_password(password).await;
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

    pub async fn reset_password(&self, actor: &str, name: &str, password: &str, now: Timestamp) -> Result<(), Error> {
        let phc = hash_password(password).await;
        Ok(self.store.set_user_password(actor, name, &phc, now).await?)
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
