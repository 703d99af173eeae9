-- Instants are Unix microseconds (UTC); each consultation carries its own time zone.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE consultations (
    id              TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    opens_at        INTEGER NOT NULL,
    closes_at       INTEGER NOT NULL,
    demo            INTEGER NOT NULL DEFAULT 0,
    current_version INTEGER NOT NULL,
    meta_json       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- A published text is immutable: a change is a new version.
CREATE TABLE consultation_versions (
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    version         INTEGER NOT NULL,
    canonical_text  TEXT NOT NULL,
    content_sha256  TEXT NOT NULL,
    signature       TEXT NOT NULL,
    published_at    INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, version)
);

CREATE TRIGGER consultation_versions_immutable
BEFORE UPDATE ON consultation_versions
BEGIN
    SELECT RAISE(ABORT, 'a published text is immutable; import a new version');
END;

-- id_number_enc and phone_enc are AEAD envelopes bound to their receipt; id_number_index is
-- HMAC-SHA256 of the normalised ID number. Nothing here holds them in clear.
CREATE TABLE comments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt         TEXT NOT NULL UNIQUE,
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    version         INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    submitted_at    INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'received',
    name            TEXT,
    position        TEXT,
    email           TEXT,
    id_number_enc   BLOB,
    id_number_index BLOB,
    phone_enc       BLOB,
    opinion         TEXT NOT NULL,
    articles        TEXT NOT NULL DEFAULT '[]',
    sender          TEXT,
    note            TEXT
);

CREATE INDEX comments_by_consultation ON comments (consultation_id, submitted_at);
CREATE INDEX comments_by_person ON comments (id_number_index);
