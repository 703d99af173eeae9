-- Bearer tokens for /api/v1/admin. Like sessions, only the SHA-256 of a token is stored;
-- the token itself is shown once, when it is made.
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_name  TEXT NOT NULL REFERENCES users (name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked    BIGINT NOT NULL DEFAULT 0
);
