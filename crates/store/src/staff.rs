//! Staff accounts and the append-only, hash-chained audit log.

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::document::sha256_hex;
use yijian_domain::staff::Role;

use crate::{Store, StoreError, from_micros, micros};

/// A staff account as listed (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of the first entry's predecessor.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What each entry's hash covers, unambiguously: every field, length-prefixed.
fn entry_hash(seq: i64, at: i64, actor: &str, action: &str, subject: &str, detail: &str, prev: &str) -> String {
    let mut s = format!("yijian-audit-v1\n{seq}\n{at}\n");
    for field in [actor, action, subject, detail, prev] {
        s.push_str(&format!("{}:{field}\n", field.len()));
    }
    sha256_hex(&s)
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

impl Store {
    /// Appends to the audit log. Concurrent writers each get their own sequence number: a
    /// clash on `seq` means another entry landed first, and the append is retried on top of it.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<AuditEntry, StoreError> {
        for _ in 0..20 {
            let at = Timestamp::now();
            let last: Option<(i64, String)> =
                sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?;
            let (seq, prev) = match last {
                Some((s, h)) => (s + 1, h),
                None => (1, GENESIS.to_string()),
            };
            let hash = entry_hash(seq, micros(at), actor, action, subject, detail, &prev);
            let inserted = sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (seq) DO NOTHING",
            )
            .bind(seq)
            .bind(micros(at))
            .bind(actor)
            .bind(action)
            .bind(subject)
            .bind(detail)
            .bind(&prev)
            .bind(&hash)
            .execute(&self.pool)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(AuditEntry {
                    seq,
                    at,
                    actor: actor.into(),
                    action: action.into(),
                    subject: subject.into(),
                    detail: detail.into(),
                    prev_hash: prev,
                    hash,
                });
            }
        }
        Err(StoreError::Corrupt("the audit log stayed contended through 20 attempts".into()))
    }

    /// The whole log, oldest first.
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let rows =
            sqlx::query("SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get(0)?,
                    at: from_micros(r.try_get(1)?)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    prev_hash: r.try_get(6)?,
                    hash: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Checks the chain; `Err(seq)` names the first entry that was altered, removed or inserted.
    pub async fn verify_audit_chain(&self) -> Result<Result<usize, i64>, StoreError> {
        let entries = self.audit_entries().await?;
        let mut prev = GENESIS.to_string();
        for (i, e) in entries.iter().enumerate() {
            let expected = entry_hash(e.seq, micros(e.at), &e.actor, &e.action, &e.subject, &e.detail, &prev);
            if e.seq != i as i64 + 1 || e.prev_hash != prev || e.hash != expected {
                return Ok(Err(e.seq));
            }
            prev = e.hash.clone();
        }
        Ok(Ok(entries.len()))
    }

    /// Adds a staff account with an Argon2id hash of its password; audited.
    pub async fn add_user(&self, actor: &str, name: &str, role: Role, password: &str) -> Result<(), StaffError> {
        let phc = hash_blocking(password).await;
        let now = micros(Timestamp::now());
        let done = sqlx::query(
            "INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at) VALUES ($1, $2, $3, 0, $4, $5) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(phc)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::Exists(name.into()));
        }
        self.audit(actor, "user.add", name, &format!("role={}", role.as_str())).await?;
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

    async fn update_user(&self, name: &str, sql: &'static str, value: Value<'_>) -> Result<(), StaffError> {
        let q = sqlx::query(sql);
        let q = match value {
            Value::Int(v) => q.bind(v),
            Value::Text(v) => q.bind(v.to_string()),
        };
        let done = q.bind(micros(Timestamp::now())).bind(name).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::NoSuchUser(name.into()));
        }
        Ok(())
    }

    pub async fn set_user_disabled(&self, actor: &str, name: &str, disabled: bool) -> Result<(), StaffError> {
        self.update_user(
            name,
            "UPDATE users SET disabled = $1, updated_at = $2 WHERE name = $3",
            Value::Int(disabled as i64),
        )
        .await?;
        self.audit(actor, if disabled { "user.disable" } else { "user.enable" }, name, "").await?;
        Ok(())
    }

    pub async fn set_user_role(&self, actor: &str, name: &str, role: Role) -> Result<(), StaffError> {
        self.update_user(
            name,
            "UPDATE users SET role = $1, updated_at = $2 WHERE name = $3",
            Value::Text(role.as_str()),
        )
        .await?;
        self.audit(actor, "user.set_role", name, &format!("role={}", role.as_str())).await?;
        Ok(())
    }

    pub async fn set_user_password(&self, actor: &str, name: &str, password: &str) -> Result<(), StaffError> {
        let phc = hash_blocking(password).await;
        self.update_user(
            name,
            "UPDATE users SET password_hash = $1, updated_at = $2 WHERE name = $3",
            Value::Text(&phc),
        )
        .await?;
        self.audit(actor, "user.reset_password", name, "").await?;
        Ok(())
    }

    /// The user's role if the name and password match an enabled account.
    pub async fn check_password(&self, name: &str, password: &str) -> Result<Option<Role>, StoreError> {
        let row = sqlx::query("SELECT role, password_hash, disabled FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let (role, phc, disabled): (String, String, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || yijian_crypto::password::verify(&password, &phc))
            .await
            .unwrap_or(false);
        Ok((matches && disabled == 0).then(|| Role::parse(&role)).flatten())
    }
}

enum Value<'a> {
    Int(i64),
    Text(&'a str),
}

async fn hash_blocking(password: &str) -> String {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || yijian_crypto::password::hash(&password)).await.expect("hashing does not panic")
}

/// Failed logins in a row before an account is locked, and for how long.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);
/// How long a session lasts.
pub const SESSION_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(8);

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// A new session: its token goes into a cookie, only its hash into the database.
    LoggedIn {
        token: String,
        role: Role,
    },
    Refused,
    Locked {
        until: Timestamp,
    },
}

/// A live session's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub name: String,
    pub role: Role,
}

/// Verified against when the user does not exist, so that a wrong name takes as long as a
/// wrong password and does not reveal which names exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| yijian_crypto::password::hash("yijian-dummy-password"));

impl Store {
    /// Checks a name and password. Five failures in a row lock the account for 15 minutes;
    /// every attempt is audited; success makes a new session (never reuses one).
    /// With two-step login on, `totp_code` must be the current code as well.
    pub async fn login(&self, name: &str, password: &str, totp_code: &str) -> Result<LoginOutcome, StoreError> {
        let now = Timestamp::now();
        let totp_ok = match self.totp_secret(name).await? {
            Some(secret) => yijian_crypto::totp::check(&secret, totp_code),
            None => true,
        };
        let row =
            sqlx::query("SELECT role, password_hash, disabled, failed_logins, locked_until FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        let (role, phc, disabled, failed, locked_until) = match row {
            Some(r) => (
                Some(r.try_get::<String, _>(0)?),
                r.try_get::<String, _>(1)?,
                r.try_get::<i64, _>(2)? != 0,
                r.try_get::<i64, _>(3)?,
                r.try_get::<i64, _>(4)?,
            ),
            None => (None, DUMMY_HASH.clone(), false, 0, 0),
        };
        let pw = password.to_string();
        let matches =
            tokio::task::spawn_blocking(move || yijian_crypto::password::verify(&pw, &phc)).await.unwrap_or(false);
        if locked_until > micros(now) {
            self.audit(name, "login.locked", name, "").await?;
            return Ok(LoginOutcome::Locked { until: from_micros(locked_until)? });
        }
        let role = role.as_deref().and_then(Role::parse);
        match role {
            Some(role) if matches && totp_ok && !disabled => {
                sqlx::query("UPDATE users SET failed_logins = 0 WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                let token = hex::encode(yijian_crypto::random_bytes::<32>());
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(sha256_hex(&token))
                .bind(name)
                .bind(micros(now))
                .bind(micros(now + SESSION_LIFETIME))
                .execute(&self.pool)
                .await?;
                self.audit(name, "login", name, "").await?;
                Ok(LoginOutcome::LoggedIn { token, role })
            }
            Some(_) => {
                let failed = failed + 1;
                if failed >= MAX_FAILED_LOGINS {
                    let until = now + LOCKOUT;
                    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = $1 WHERE name = $2")
                        .bind(micros(until))
                        .bind(name)
                        .execute(&self.pool)
                        .await?;
                    self.audit(name, "login.lockout", name, &format!("after {failed} failures")).await?;
                    return Ok(LoginOutcome::Locked { until });
                }
                sqlx::query("UPDATE users SET failed_logins = $1 WHERE name = $2")
                    .bind(failed)
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                self.audit(name, "login.failed", name, "").await?;
                Ok(LoginOutcome::Refused)
            }
            None => {
                self.audit("anonymous", "login.failed", name, "unknown user").await?;
                Ok(LoginOutcome::Refused)
            }
        }
    }

    /// The user behind a session token, if the session is live and the account enabled.
    pub async fn session_user(&self, token: &str) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(
            "SELECT u.name, u.role FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(sha256_hex(token))
        .bind(micros(Timestamp::now()))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| session_user_from_row(&r)).transpose()
    }

    pub async fn logout(&self, token: &str) -> Result<(), StoreError> {
        if let Some(user) = self.session_user(token).await? {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(sha256_hex(token))
                .execute(&self.pool)
                .await?;
            self.audit(&user.name, "logout", &user.name, "").await?;
        }
        Ok(())
    }
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
    ) -> Result<(String, String), StaffError> {
        if !self.list_users().await?.iter().any(|u| u.name == user) {
            return Err(StaffError::NoSuchUser(user.into()));
        }
        let id = hex::encode(yijian_crypto::random_bytes::<4>());
        let token = format!("yjt_{}", hex::encode(yijian_crypto::random_bytes::<32>()));
        let now = Timestamp::now();
        let expires = days.map(|d| micros(now + jiff::SignedDuration::from_hours(24 * i64::from(d))));
        sqlx::query("INSERT INTO api_tokens (id, token_hash, user_name, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, 0)")
            .bind(&id)
            .bind(sha256_hex(&token))
            .bind(user)
            .bind(micros(now))
            .bind(expires)
            .execute(&self.pool)
            .await?;
        self.audit(
            actor,
            "token.create",
            user,
            &format!("id={id} days={}", days.map(|d| d.to_string()).unwrap_or("never".into())),
        )
        .await?;
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

    pub async fn revoke_token(&self, actor: &str, id: &str) -> Result<(), StaffError> {
        let done = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = $1").bind(id).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::NoSuchToken(id.into()));
        }
        self.audit(actor, "token.revoke", id, "").await?;
        Ok(())
    }

    /// The user behind a bearer token, if it is live and the account enabled.
    pub async fn token_user(&self, token: &str) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(
            "SELECT u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name \
             WHERE t.token_hash = $1 AND t.revoked = 0 AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled = 0",
        )
        .bind(sha256_hex(token))
        .bind(micros(Timestamp::now()))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| session_user_from_row(&r)).transpose()
    }
}

fn totp_aad(name: &str) -> Vec<u8> {
    format!("users.totp_secret:{name}").into_bytes()
}

impl Store {
    /// The user's TOTP secret, if two-step login is on.
    pub async fn totp_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sealed: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT totp_secret FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        sealed
            .flatten()
            .map(|s| {
                self.keys
                    .open(&s, &totp_aad(name))
                    .map(|p| p.to_vec())
                    .map_err(|e| StoreError::Corrupt(format!("totp of {name}: {e}")))
            })
            .transpose()
    }

    /// Turns two-step login on (with this secret) or off; audited.
    pub async fn set_totp(&self, actor: &str, name: &str, secret: Option<&[u8]>) -> Result<(), StaffError> {
        let sealed = secret.map(|s| self.keys.seal(s, &totp_aad(name)));
        let done = sqlx::query("UPDATE users SET totp_secret = $1, updated_at = $2 WHERE name = $3")
            .bind(sealed)
            .bind(micros(Timestamp::now()))
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StaffError::NoSuchUser(name.into()));
        }
        self.audit(actor, if secret.is_some() { "totp.enable" } else { "totp.disable" }, name, "").await?;
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
