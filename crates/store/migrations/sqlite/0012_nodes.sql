-- Several nodes on one database: what each node used to keep in its own memory and must now
-- share, so that whichever node answers a request sees what the others did. SQLite is one
-- node's own file: it keeps used captchas and rate limits in memory (see store/src/shared.rs),
-- and has these two tables only so that the schemas of the two backends agree.
CREATE TABLE captcha_uses (
    nonce      TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX captcha_uses_expires ON captcha_uses (expires_at);

CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY,
    tat    INTEGER NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- Work only one node may do at a time (polling the mailbox): held until `expires_at` and
-- renewed by its holder while it works; taken over by another node once it has expired.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Requests every node must act on once (rebuilding its own search index): a counter each node
-- compares with the last value it acted on.
CREATE TABLE node_signals (
    name       TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);
INSERT INTO node_signals (name, generation)
    SELECT 'search_reindex', 1 FROM settings WHERE key = 'search_reindex_requested';
DELETE FROM settings WHERE key = 'search_reindex_requested';

-- The web form's id, stored with the comment it produced: a form resubmitted to another node
-- finds the first receipt instead of storing a second comment.
ALTER TABLE comments ADD COLUMN form_id TEXT;
CREATE UNIQUE INDEX comments_form_id ON comments (form_id) WHERE form_id IS NOT NULL;
