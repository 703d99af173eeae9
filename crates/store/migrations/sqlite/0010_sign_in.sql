-- Sign-in attempts, counted per subject (a keyed hash of the name typed, whether or not such
-- a user exists) before the password is checked, so that parallel guesses are all counted and
-- an unknown name is locked like a real one. The count in `users.failed_logins` and
-- `users.locked_until` is no longer read.
CREATE TABLE login_attempts (
    subject      TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX login_attempts_updated ON login_attempts (updated_at);

-- The last TOTP time step accepted for the user: a code is accepted once.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- When a session was last used, for the idle timeout; sessions of before count from their start.
ALTER TABLE sessions ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen = created_at;
CREATE INDEX sessions_user ON sessions (user_name);
CREATE INDEX sessions_expires ON sessions (expires_at);
