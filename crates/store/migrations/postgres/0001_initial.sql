-- Instants are Unix microseconds (UTC); each consultation carries its own time zone.
-- Integers are BIGINT throughout so both backends decode them the same way.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE consultations (
    id              TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    opens_at        BIGINT NOT NULL,
    closes_at       BIGINT NOT NULL,
    demo            BIGINT NOT NULL DEFAULT 0,
    current_version BIGINT NOT NULL,
    meta_json       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- A published text is immutable: a change is a new version.
CREATE TABLE consultation_versions (
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    version         BIGINT NOT NULL,
    canonical_text  TEXT NOT NULL,
    content_sha256  TEXT NOT NULL,
    signature       TEXT NOT NULL,
    published_at    BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, version)
);

CREATE FUNCTION consultation_versions_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a published text is immutable; import a new version';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consultation_versions_immutable
BEFORE UPDATE ON consultation_versions
FOR EACH ROW EXECUTE FUNCTION consultation_versions_immutable();

-- id_number_enc and phone_enc are AEAD envelopes bound to their receipt; id_number_index is
-- HMAC-SHA256 of the normalised ID number. Nothing here holds them in clear.
CREATE TABLE comments (
    id              BIGSERIAL PRIMARY KEY,
    receipt         TEXT NOT NULL UNIQUE,
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    version         BIGINT NOT NULL,
    channel         TEXT NOT NULL,
    submitted_at    BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'received',
    name            TEXT,
    position        TEXT,
    email           TEXT,
    id_number_enc   BYTEA,
    id_number_index BYTEA,
    phone_enc       BYTEA,
    opinion         TEXT NOT NULL,
    articles        TEXT NOT NULL DEFAULT '[]',
    sender          TEXT,
    note            TEXT
);

CREATE INDEX comments_by_consultation ON comments (consultation_id, submitted_at);
CREATE INDEX comments_by_person ON comments (id_number_index);
