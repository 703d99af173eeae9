-- The review of a comment: staff's classification sits beside the citizen's words, which never
-- change. The partial indexes cost the intake nothing: a new comment has no disposition and no
-- moderation, so it enters neither.
ALTER TABLE comments ADD COLUMN disposition TEXT;
ALTER TABLE comments ADD COLUMN disposition_reason TEXT;
ALTER TABLE comments ADD COLUMN moderation TEXT;
ALTER TABLE comments ADD COLUMN moderation_reason TEXT;
ALTER TABLE comments ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE comments ADD COLUMN excerpt TEXT;
ALTER TABLE comments ADD COLUMN reviewed_by TEXT;
ALTER TABLE comments ADD COLUMN reviewed_at INTEGER;

CREATE INDEX comments_page ON comments (consultation_id, id);
CREATE INDEX comments_by_position ON comments (consultation_id, position, id);
CREATE INDEX comments_by_channel ON comments (consultation_id, channel, id);
CREATE INDEX comments_by_disposition ON comments (consultation_id, disposition, id) WHERE disposition IS NOT NULL;
CREATE INDEX comments_by_moderation ON comments (consultation_id, moderation, id) WHERE moderation IS NOT NULL;

-- Which articles a comment addresses, kept from comments.articles by triggers so that the
-- filter and the counts by article use an index, and no code path can forget it.
CREATE TABLE comment_articles (
    consultation_id TEXT NOT NULL,
    article         INTEGER NOT NULL,
    comment_id      INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, article, comment_id)
);

CREATE TRIGGER comment_articles_insert AFTER INSERT ON comments WHEN NEW.articles <> '[]'
BEGIN
    INSERT OR IGNORE INTO comment_articles (consultation_id, article, comment_id)
    SELECT NEW.consultation_id, value, NEW.id FROM json_each(NEW.articles);
END;

CREATE TRIGGER comment_articles_update AFTER UPDATE OF articles ON comments
BEGIN
    DELETE FROM comment_articles WHERE comment_id = NEW.id AND consultation_id = NEW.consultation_id;
    INSERT OR IGNORE INTO comment_articles (consultation_id, article, comment_id)
    SELECT NEW.consultation_id, value, NEW.id FROM json_each(NEW.articles);
END;

INSERT INTO comment_articles (consultation_id, article, comment_id)
SELECT c.consultation_id, j.value, c.id FROM comments c, json_each(c.articles) j;

-- A consultation written in the back office but not yet published: the whole consultation file.
CREATE TABLE consultation_drafts (
    id         TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE consultations ADD COLUMN archived_at INTEGER;

-- What changed in a published consultation's schedule, and why: shown on its public page.
CREATE TABLE consultation_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    at              INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    old_closes_at   INTEGER,
    new_closes_at   INTEGER,
    reason          TEXT NOT NULL,
    actor           TEXT NOT NULL
);

-- Each publication of an adoption report is kept; the newest is the public one.
CREATE TABLE reports (
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    revision        INTEGER NOT NULL,
    published_at    INTEGER NOT NULL,
    published_by    TEXT NOT NULL,
    report_json     TEXT NOT NULL,
    PRIMARY KEY (consultation_id, revision)
);
