//! Staff accounts, sessions, API tokens and two-step login secrets.
//!
//! Only persistence lives here: the sign-in policy is `yijian_domain::staff::LoginPolicy`, and
//! password hashing and checking happen in the application layer. Every change is audited in
//! its own transaction.

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::document::sha256_hex;
use yijian_domain::staff::{AccountState, Admission, LoginDecision, LoginPolicy, Role, name_for_record};

use crate::audit::Audit;
use crate::{Store, StoreError, from_micros, micros};

/// A staff account as listed (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("a user named {0} already exists")]
    Exists(String),
    #[error("no user named {0}")]
    NoSuchUser(String),
    #[error("no token with id {0}")]
    NoSuchToken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for StaffError {
    fn from(e: sqlx::Error) -> Self {
        StaffError::Store(StoreError::Database(e))
    }
}

/// A live session's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub name: String,
    pub role: Role,
}

/// An account's sign-in particulars: its state for the policy and its password hash (PHC).
#[derive(Debug, Clone)]
pub struct LoginAccount {
    pub state: AccountState,
    pub password_hash: String,
    /// The sealed TOTP secret, opened; `None` when two-step login is off.
    pub totp_secret: Option<Vec<u8>>,
}

impl Store {
    /// Adds a staff account with the given Argon2id hash (PHC string); audited.
    pub async fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<(), StaffError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at) VALUES ($1, $2, $3, 0, $4, $5) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(micros(now))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::Exists(name.into()));
        }
        self.audit_in(&mut tx, now, Audit::new(actor, "user.add", name, format!("role={}", role.as_str()))).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_users(&self) -> Result<Vec<StaffUser>, StoreError> {
        let rows = sqlx::query("SELECT name, role, disabled, created_at FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                let role: String = r.try_get(1)?;
                Ok(StaffUser {
                    name: r.try_get(0)?,
                    role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
                    disabled: r.try_get::<i64, _>(2)? != 0,
                    created_at: from_micros(r.try_get(3)?)?,
                })
            })
            .collect()
    }

    /// One update of one user's row and its audit entry, together.
    async fn update_user(
        &self,
        name: &str,
        sql: &'static str,
        value: Value<'_>,
        now: Timestamp,
        audit: Audit,
    ) -> Result<(), StaffError> {
        let mut tx = self.begin_write().await?;
        let q = sqlx::query(sql);
        let q = match value {
            Value::Int(v) => q.bind(v),
            Value::Text(v) => q.bind(v.to_string()),
        };
        let done = q.bind(micros(now)).bind(name).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::NoSuchUser(name.into()));
        }
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_user_disabled(
        &self,
        actor: &str,
        name: &str,
        disabled: bool,
        now: Timestamp,
    ) -> Result<(), StaffError> {
        self.update_user(
            name,
            "UPDATE users SET disabled = $1, updated_at = $2 WHERE name = $3",
            Value::Int(disabled as i64),
            now,
            Audit::new(actor, if disabled { "user.disable" } else { "user.enable" }, name, ""),
        )
        .await
    }

    pub async fn set_user_role(&self, actor: &str, name: &str, role: Role, now: Timestamp) -> Result<(), StaffError> {
        self.update_user(
            name,
            "UPDATE users SET role = $1, updated_at = $2 WHERE name = $3",
            Value::Text(role.as_str()),
            now,
            Audit::new(actor, "user.set_role", name, format!("role={}", role.as_str())),
        )
        .await
    }

    /// Replaces a password hash (PHC string) and ends the user's sessions but `keep` (the
    /// session of a user who changed their own password); audited, with how many ended.
    pub async fn set_user_password(
        &self,
        actor: &str,
        name: &str,
        password_hash: &str,
        keep: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StaffError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE name = $3")
            .bind(password_hash)
            .bind(micros(now))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::NoSuchUser(name.into()));
        }
        let ended = sqlx::query("DELETE FROM sessions WHERE user_name = $1 AND token_hash <> $2")
            .bind(name)
            .bind(keep.map(sha256_hex).unwrap_or_default())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let detail = format!("sessions_ended={ended}");
        self.audit_in(&mut tx, now, Audit::new(actor, "user.reset_password", name, detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What sign-in needs to know of an account, if it exists.
    pub async fn login_account(&self, name: &str) -> Result<Option<LoginAccount>, StoreError> {
        let row = sqlx::query("SELECT role, password_hash, disabled, totp_secret FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get(0)?;
        let sealed: Option<Vec<u8>> = r.try_get(3)?;
        Ok(Some(LoginAccount {
            state: AccountState {
                role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
                disabled: r.try_get::<i64, _>(2)? != 0,
            },
            password_hash: r.try_get(1)?,
            totp_secret: sealed.map(|s| self.open_totp(name, &s)).transpose()?,
        }))
    }

    /// Counts an attempt on `subject` (a keyed hash of a name, whether or not it exists) before
    /// its password is checked, in one transaction, so that attempts sent at once are each
    /// counted: the one that reaches the policy's limit locks the subject for those after it.
    /// A lock that has ended starts the count again.
    pub async fn reserve_login_attempt(
        &self,
        subject: &str,
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> Result<Admission, StoreError> {
        let mut tx = self.begin_write().await?;
        let (failures, locked_until): (i64, i64) = sqlx::query_as(
            "INSERT INTO login_attempts (subject, failures, locked_until, updated_at) VALUES ($1, 1, 0, $2) \
             ON CONFLICT (subject) DO UPDATE SET \
               failures = CASE WHEN login_attempts.locked_until > $2 THEN login_attempts.failures \
                               WHEN login_attempts.locked_until > 0 THEN 1 \
                               ELSE login_attempts.failures + 1 END, \
               locked_until = CASE WHEN login_attempts.locked_until > $2 THEN login_attempts.locked_until ELSE 0 END, \
               updated_at = $2 \
             RETURNING failures, locked_until",
        )
        .bind(subject)
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await?;
        if locked_until > micros(now) {
            tx.commit().await?;
            return Ok(Admission::Locked { until: from_micros(locked_until)? });
        }
        let number = failures.clamp(1, i64::from(u32::MAX)) as u32;
        if let Some(until) = policy.lock_for(number, now) {
            sqlx::query("UPDATE login_attempts SET locked_until = $1 WHERE subject = $2")
                .bind(micros(until))
                .bind(subject)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Admission::Check { number })
    }

    /// Accepts a two-step code's time step for the user once: `false` when this step or a
    /// later one was accepted already (a replayed code).
    pub async fn consume_totp_step(&self, name: &str, step: u64) -> Result<bool, StoreError> {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let done = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE name = $2 AND totp_last_step < $1")
            .bind(step)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records what an admitted sign-in attempt (or a check of the current password, `what`)
    /// came to, with its audit entry, in one transaction. An accepted attempt clears the
    /// subject's count and makes a new session (never reuses one) and returns its token: only
    /// the token's hash is stored. The name goes to the audit log cleaned and cut short
    /// ([`name_for_record`]): an unknown one is whatever a stranger typed.
    pub async fn record_login(
        &self,
        subject: &str,
        name: &str,
        decision: LoginDecision,
        what: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let recorded = name_for_record(name);
        let mut tx = self.begin_write().await?;
        let mut token = None;
        let detail = |more: String| {
            if what.is_empty() {
                more
            } else if more.is_empty() {
                what.to_string()
            } else {
                format!("{what}; {more}")
            }
        };
        let audit = match decision {
            LoginDecision::Accept { expires_at, .. } => {
                sqlx::query("DELETE FROM login_attempts WHERE subject = $1").bind(subject).execute(&mut *tx).await?;
                if what.is_empty() {
                    let t = hex::encode(yijian_crypto::random_bytes::<32>());
                    sqlx::query(
                        "INSERT INTO sessions (token_hash, user_name, created_at, expires_at, last_seen) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(sha256_hex(&t))
                    .bind(name)
                    .bind(micros(now))
                    .bind(micros(expires_at))
                    .bind(micros(now))
                    .execute(&mut *tx)
                    .await?;
                    token = Some(t);
                    Audit::new(name, "login", name, "")
                } else {
                    // The right current password: nothing to record beyond the change it allows,
                    // which is audited itself.
                    tx.commit().await?;
                    return Ok(None);
                }
            }
            LoginDecision::Refuse { failures } => {
                Audit::new(name, "login.failed", name, detail(format!("failure {failures} in a row")))
            }
            LoginDecision::LockOut { until: _, failures } => {
                Audit::new(name, "login.lockout", name, detail(format!("after {failures} failures")))
            }
            LoginDecision::Locked { .. } => Audit::new(&recorded, "login.locked", &recorded, detail(String::new())),
            LoginDecision::Unknown { failures, lockout } => {
                let action = if lockout.is_some() { "login.lockout" } else { "login.failed" };
                Audit::new("anonymous", action, &recorded, detail(format!("unknown user; failure {failures} in a row")))
            }
        };
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Deletes sessions past their end or idle longer than `idle`, and counts of sign-in
    /// attempts neither locked nor touched for a day. Returns the sessions deleted.
    pub async fn purge_expired(&self, idle: jiff::SignedDuration, now: Timestamp) -> Result<u64, StoreError> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen <= $2")
            .bind(micros(now))
            .bind(micros(now - idle))
            .execute(&self.pool)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM login_attempts WHERE locked_until <= $1 AND updated_at <= $2")
            .bind(micros(now))
            .bind(micros(now - jiff::SignedDuration::from_hours(24)))
            .execute(&self.pool)
            .await?;
        Ok(sessions)
    }

    /// How many sessions are stored, live or not (for tests and the purge's log line).
    pub async fn session_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(&self.pool).await?)
    }

    /// The user behind a session token, if the session is live (before its end, used within
    /// `idle`) and the account enabled. A use marks the session as seen, at most once a minute.
    pub async fn session_user(
        &self,
        token: &str,
        idle: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Option<SessionUser>, StoreError> {
        let hash = sha256_hex(token);
        let row = sqlx::query(
            "SELECT u.name, u.role, s.last_seen FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen > $3 AND u.disabled = 0",
        )
        .bind(&hash)
        .bind(micros(now))
        .bind(micros(now - idle))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let user = session_user_from_row(&r)?;
        let last_seen: i64 = r.try_get(2)?;
        if last_seen < micros(now - jiff::SignedDuration::from_mins(1)) {
            sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2 AND last_seen < $1")
                .bind(micros(now))
                .bind(&hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(user))
    }

    /// Ends a session; audited when it was live.
    pub async fn logout(&self, token: &str, now: Timestamp) -> Result<(), StoreError> {
        let hash = sha256_hex(token);
        let user: Option<String> =
            sqlx::query_scalar("SELECT user_name FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(&hash)
                .bind(micros(now))
                .fetch_optional(&self.pool)
                .await?;
        let Some(user) = user else { return Ok(()) };
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(hash).execute(&mut *tx).await?;
        self.audit_in(&mut tx, now, Audit::new(&user, "logout", &user, "")).await?;
        tx.commit().await?;
        Ok(())
    }
}

enum Value<'a> {
    Int(i64),
    Text(&'a str),
}

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub user: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
}

impl Store {
    /// Makes a bearer token for a user: `(id, token)`. The token is returned once and stored
    /// only as its hash; the id names it in lists, revocations and the audit log.
    pub async fn create_token(
        &self,
        actor: &str,
        user: &str,
        days: Option<u32>,
        now: Timestamp,
    ) -> Result<(String, String), StaffError> {
        let id = hex::encode(yijian_crypto::random_bytes::<4>());
        let token = format!("yjt_{}", hex::encode(yijian_crypto::random_bytes::<32>()));
        let expires = days.map(|d| micros(now + jiff::SignedDuration::from_hours(24 * i64::from(d))));
        let mut tx = self.begin_write().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM users WHERE name = $1").bind(user).fetch_optional(&mut *tx).await?;
        if exists.is_none() {
            return Err(StaffError::NoSuchUser(user.into()));
        }
        sqlx::query("INSERT INTO api_tokens (id, token_hash, user_name, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, 0)")
            .bind(&id)
            .bind(sha256_hex(&token))
            .bind(user)
            .bind(micros(now))
            .bind(expires)
            .execute(&mut *tx)
            .await?;
        let detail = format!("id={id} days={}", days.map(|d| d.to_string()).unwrap_or("never".into()));
        self.audit_in(&mut tx, now, Audit::new(actor, "token.create", user, detail)).await?;
        tx.commit().await?;
        Ok((id, token))
    }

    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_name, created_at, expires_at, revoked FROM api_tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ApiToken {
                    id: r.try_get(0)?,
                    user: r.try_get(1)?,
                    created_at: from_micros(r.try_get(2)?)?,
                    expires_at: r.try_get::<Option<i64>, _>(3)?.map(from_micros).transpose()?,
                    revoked: r.try_get::<i64, _>(4)? != 0,
                })
            })
            .collect()
    }

    pub async fn revoke_token(&self, actor: &str, id: &str, now: Timestamp) -> Result<(), StaffError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::NoSuchToken(id.into()));
        }
        self.audit_in(&mut tx, now, Audit::new(actor, "token.revoke", id, "")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user behind a bearer token, if it is live and the account enabled.
    pub async fn token_user(&self, token: &str, now: Timestamp) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(
            "SELECT u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name \
             WHERE t.token_hash = $1 AND t.revoked = 0 AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled = 0",
        )
        .bind(sha256_hex(token))
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| session_user_from_row(&r)).transpose()
    }
}

fn totp_aad(name: &str) -> Vec<u8> {
    format!("users.totp_secret:{name}").into_bytes()
}

impl Store {
    fn open_totp(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.keys
            .open(sealed, &totp_aad(name))
            .map(|p| p.to_vec())
            .map_err(|e| StoreError::Corrupt(format!("totp of {name}: {e}")))
    }

    /// The user's TOTP secret, if two-step login is on.
    pub async fn totp_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sealed: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT totp_secret FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        sealed.flatten().map(|s| self.open_totp(name, &s)).transpose()
    }

    /// Turns two-step login on (with this secret, whose code of time step `step` proved it
    /// set up, so that code is not accepted again) or off; audited as `action`
    /// (`totp.enable`, `totp.replace`, `totp.disable`, `totp.reset`).
    pub async fn set_totp(
        &self,
        actor: &str,
        name: &str,
        secret: Option<(&[u8], u64)>,
        action: &str,
        now: Timestamp,
    ) -> Result<(), StaffError> {
        let sealed = secret.map(|(s, _)| self.keys.seal(s, &totp_aad(name)));
        let step = secret.map(|(_, step)| i64::try_from(step).unwrap_or(i64::MAX)).unwrap_or(0);
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = $2, updated_at = $3 WHERE name = $4")
                .bind(sealed)
                .bind(step)
                .bind(micros(now))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::NoSuchUser(name.into()));
        }
        self.audit_in(&mut tx, now, Audit::new(actor, action, name, "")).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A `(name, role)` row as the user behind a session or a token.
fn session_user_from_row(r: &sqlx::any::AnyRow) -> Result<SessionUser, StoreError> {
    let role: String = r.try_get(1)?;
    Ok(SessionUser {
        name: r.try_get(0)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
    })
}
