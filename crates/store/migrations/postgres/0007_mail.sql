-- The email channel. Every mail that reaches yijian gets a row in `mails`, whatever becomes of
-- it: a comment (state 'comment'), a mail no subject routed (state 'unrouted', until staff assign
-- it), or one that cannot become a comment (state 'rejected', with the reason). The raw message
-- is kept sealed like other personal data, so nothing is ever dropped and every comment's source
-- can be audited. `message_key` is the Message-ID (or a hash of the bytes when there is none):
-- importing the same mail twice adds nothing.
CREATE TABLE mails (
    id              BIGSERIAL PRIMARY KEY,
    message_key     TEXT NOT NULL UNIQUE,
    message_id      TEXT,
    state           TEXT NOT NULL,
    reason          TEXT,
    source          TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    imported_at     BIGINT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    from_name       TEXT,
    from_address    TEXT,
    raw_enc         BYTEA NOT NULL,
    raw_size        BIGINT NOT NULL,
    full_text       TEXT,
    consultation_id TEXT REFERENCES consultations (id),
    comment_id      BIGINT REFERENCES comments (id),
    reply_state     TEXT,
    assigned_by     TEXT,
    assigned_at     BIGINT
);
CREATE INDEX mails_by_state ON mails (state, id);
CREATE UNIQUE INDEX mails_by_comment ON mails (comment_id) WHERE comment_id IS NOT NULL;

-- Attachments of a mail, sealed. An omitted one (over a limit) keeps its name, size and why.
CREATE TABLE mail_attachments (
    id           BIGSERIAL PRIMARY KEY,
    mail_id      BIGINT NOT NULL REFERENCES mails (id),
    position     BIGINT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_enc  BYTEA,
    omitted      TEXT,
    has_text     BIGINT NOT NULL DEFAULT 0,
    note         TEXT
);
CREATE INDEX mail_attachments_by_mail ON mail_attachments (mail_id, position);

-- A comment that came by mail: its Message-ID (for exports), and whether it arrived before the
-- consultation opened or after it closed, for staff to decide.
ALTER TABLE comments ADD COLUMN message_id TEXT;
ALTER TABLE comments ADD COLUMN timing TEXT;

-- Where the IMAP fetch left off, per account and mailbox.
CREATE TABLE imap_cursors (
    mailbox      TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- Automatic mails sent, keyed by a keyed hash of the address, for the per-address rate limit.
CREATE TABLE mail_replies (
    address_index BYTEA NOT NULL,
    sent_at       BIGINT NOT NULL,
    kind          TEXT NOT NULL
);
CREATE INDEX mail_replies_by_address ON mail_replies (address_index, sent_at);
