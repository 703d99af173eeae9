//! Staff accounts, sessions, API tokens and two-step login secrets.
//!
//! Only persistence lives here: the sign-in policy is `yijian_domain::staff::LoginPolicy`, and
//! password hashing and checking happen in the application layer. Every change is audited in
//! its own transaction.

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::document::sha256_hex;
use yijian_domain::staff::{AccountState, LoginDecision, Role};

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
            Value::Blob(v) => q.bind(v),
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

    /// Replaces a password hash (PHC string); audited.
    pub async fn set_user_password(
        &self,
        actor: &str,
        name: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<(), StaffError> {
        self.update_user(
            name,
            "UPDATE users SET password_hash = $1, updated_at = $2 WHERE name = $3",
            Value::Text(password_hash),
            now,
            Audit::new(actor, "user.reset_password", name, ""),
        )
        .await
    }

    /// What sign-in needs to know of an account, if it exists.
    pub async fn login_account(&self, name: &str) -> Result<Option<LoginAccount>, StoreError> {
        let row = sqlx::query(
            "SELECT role, password_hash, disabled, failed_logins, locked_until, totp_secret FROM users WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get(0)?;
        let locked_until: i64 = r.try_get(4)?;
        let sealed: Option<Vec<u8>> = r.try_get(5)?;
        Ok(Some(LoginAccount {
            state: AccountState {
                role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
                disabled: r.try_get::<i64, _>(2)? != 0,
                failed_logins: r.try_get::<i64, _>(3)?.clamp(0, i64::from(u32::MAX)) as u32,
                locked_until: (locked_until > 0).then(|| from_micros(locked_until)).transpose()?,
            },
            password_hash: r.try_get(1)?,
            totp_secret: sealed.map(|s| self.open_totp(name, &s)).transpose()?,
        }))
    }

    /// Records what a sign-in attempt came to, with its audit entry, in one transaction. An
    /// accepted attempt makes a new session (never reuses one) and returns its token: only
    /// the token's hash is stored.
    pub async fn record_login(
        &self,
        name: &str,
        decision: LoginDecision,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut token = None;
        let audit = match decision {
            LoginDecision::Accept { expires_at, .. } => {
                sqlx::query("UPDATE users SET failed_logins = 0 WHERE name = $1").bind(name).execute(&mut *tx).await?;
                let t = hex::encode(yijian_crypto::random_bytes::<32>());
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(sha256_hex(&t))
                .bind(name)
                .bind(micros(now))
                .bind(micros(expires_at))
                .execute(&mut *tx)
                .await?;
                token = Some(t);
                Audit::new(name, "login", name, "")
            }
            LoginDecision::Refuse { failures } => {
                sqlx::query("UPDATE users SET failed_logins = $1 WHERE name = $2")
                    .bind(i64::from(failures))
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                Audit::new(name, "login.failed", name, "")
            }
            LoginDecision::LockOut { until, failures } => {
                sqlx::query("UPDATE users SET failed_logins = 0, locked_until = $1 WHERE name = $2")
                    .bind(micros(until))
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                Audit::new(name, "login.lockout", name, format!("after {failures} failures"))
            }
            LoginDecision::Locked { .. } => Audit::new(name, "login.locked", name, ""),
            LoginDecision::Unknown => Audit::new("anonymous", "login.failed", name, "unknown user"),
        };
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The user behind a session token, if the session is live and the account enabled.
    pub async fn session_user(&self, token: &str, now: Timestamp) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(
            "SELECT u.name, u.role FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(sha256_hex(token))
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| session_user_from_row(&r)).transpose()
    }

    /// Ends a session; audited when it was live.
    pub async fn logout(&self, token: &str, now: Timestamp) -> Result<(), StoreError> {
        let Some(user) = self.session_user(token, now).await? else { return Ok(()) };
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(sha256_hex(token)).execute(&mut *tx).await?;
        self.audit_in(&mut tx, now, Audit::new(&user.name, "logout", &user.name, "")).await?;
        tx.commit().await?;
        Ok(())
    }
}

enum Value<'a> {
    Int(i64),
    Text(&'a str),
    Blob(Option<Vec<u8>>),
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

    /// Turns two-step login on (with this secret) or off; audited.
    pub async fn set_totp(
        &self,
        actor: &str,
        name: &str,
        secret: Option<&[u8]>,
        now: Timestamp,
    ) -> Result<(), StaffError> {
        let sealed = secret.map(|s| self.keys.seal(s, &totp_aad(name)));
        self.update_user(
            name,
            "UPDATE users SET totp_secret = $1, updated_at = $2 WHERE name = $3",
            Value::Blob(sealed),
            now,
            Audit::new(actor, if secret.is_some() { "totp.enable" } else { "totp.disable" }, name, ""),
        )
        .await
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
