-- Signals and "not written by me" (issue 13).
--
-- Two keyed hashes (HMAC under keys derived from the master key, like id_number_index) are
-- written with each comment, so that signals can be computed without keeping anything in clear:
--
-- client_net_index: the client's network (IPv4 /24, IPv6 /64), for bursts. Mail and manual
--   entries have none. Cleared after the retention period (signals.address_retention_days).
-- id_prefix_index: the ID number's first 14 digits (region and birth date), for runs of
--   generated-looking numbers. The sequence codes are not stored apart: the background pass
--   unseals the ID numbers of only those comments whose prefix is shared by enough others.
ALTER TABLE comments ADD COLUMN client_net_index BYTEA;
ALTER TABLE comments ADD COLUMN id_prefix_index BYTEA;

-- Partial: a comment without the value enters neither.
CREATE INDEX comments_by_client_net ON comments (consultation_id, client_net_index, submitted_at)
    WHERE client_net_index IS NOT NULL;
-- The retention pass finds what to clear by age.
CREATE INDEX comments_client_net_age ON comments (submitted_at) WHERE client_net_index IS NOT NULL;
CREATE INDEX comments_by_id_prefix ON comments (consultation_id, id_prefix_index) WHERE id_prefix_index IS NOT NULL;

-- A comment's signals, one row each, written by the background pass (never by the intake).
-- Keyed like comment_tags, so that the queue's signal filter is one index scan in id order.
CREATE TABLE comment_signals (
    consultation_id TEXT NOT NULL,
    signal          TEXT NOT NULL,
    comment_id      BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, signal, comment_id)
);
CREATE INDEX comment_signals_by_comment ON comment_signals (comment_id);

-- How far the signal pass has read (the highest comment id it has seen).
CREATE TABLE signal_progress (
    name       TEXT PRIMARY KEY,
    high_water BIGINT NOT NULL
);

-- A request by a person who says comments were made under their ID number without them. All
-- of it is personal data: sealed (bound to the request's reference), the ID number also as
-- its keyed hash. `comments` is how many comments it named: for staff, never for the requester.
CREATE TABLE disputes (
    id              BIGSERIAL PRIMARY KEY,
    reference       TEXT NOT NULL UNIQUE,
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    received_at     BIGINT NOT NULL,
    id_number_enc   BYTEA NOT NULL,
    id_number_index BYTEA NOT NULL,
    phone_enc       BYTEA,
    email_enc       BYTEA,
    comments        BIGINT NOT NULL
);
CREATE INDEX disputes_by_consultation ON disputes (consultation_id, id);

-- Which comments each request named.
CREATE TABLE dispute_comments (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    comment_id BIGINT NOT NULL,
    PRIMARY KEY (dispute_id, comment_id)
);

-- Where each disputed comment stands: decision NULL while staff have not decided, then
-- `upheld` or `rejected`.
CREATE TABLE comment_disputes (
    comment_id      BIGINT PRIMARY KEY,
    consultation_id TEXT NOT NULL,
    decision        TEXT,
    reason          TEXT,
    decided_by      TEXT,
    decided_at      BIGINT
);
CREATE INDEX comment_disputes_by_consultation ON comment_disputes (consultation_id, comment_id);
