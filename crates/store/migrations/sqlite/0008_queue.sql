-- The review queue at a million comments (issue 4): every filter answered from indexes alone.
--
-- Tags, like articles, get a table kept from comments.tags by triggers, so that the tag filter
-- reads an index instead of every comment's JSON.
CREATE TABLE comment_tags (
    consultation_id TEXT NOT NULL,
    tag             TEXT NOT NULL,
    comment_id      INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, tag, comment_id)
) WITHOUT ROWID;

CREATE TRIGGER comment_tags_insert AFTER INSERT ON comments WHEN NEW.tags <> '[]'
BEGIN
    INSERT OR IGNORE INTO comment_tags (consultation_id, tag, comment_id)
    SELECT NEW.consultation_id, value, NEW.id FROM json_each(NEW.tags);
END;

-- The rows to delete are named by the old value, so each is found by its key.
CREATE TRIGGER comment_tags_update AFTER UPDATE OF tags ON comments WHEN OLD.tags IS NOT NEW.tags
BEGIN
    DELETE FROM comment_tags
    WHERE consultation_id = OLD.consultation_id AND tag IN (SELECT value FROM json_each(OLD.tags))
      AND comment_id = OLD.id;
    INSERT OR IGNORE INTO comment_tags (consultation_id, tag, comment_id)
    SELECT NEW.consultation_id, value, NEW.id FROM json_each(NEW.tags);
END;

INSERT OR IGNORE INTO comment_tags (consultation_id, tag, comment_id)
SELECT c.consultation_id, j.value, c.id FROM comments c, json_each(c.tags) j WHERE c.tags <> '[]';

-- The same for articles: the old trigger looked for a comment's rows by comment_id, which no
-- index leads with, so each change of articles read all of its consultation's rows.
DROP TRIGGER comment_articles_update;
CREATE TRIGGER comment_articles_update AFTER UPDATE OF articles ON comments WHEN OLD.articles IS NOT NEW.articles
BEGIN
    DELETE FROM comment_articles
    WHERE consultation_id = OLD.consultation_id AND article IN (SELECT value FROM json_each(OLD.articles))
      AND comment_id = OLD.id;
    INSERT OR IGNORE INTO comment_articles (consultation_id, article, comment_id)
    SELECT NEW.consultation_id, value, NEW.id FROM json_each(NEW.articles);
END;

-- The queue in arrival order, carrying what the status, mark and date filters need, so that
-- they and their counts never read a comment's row. It replaces comments_page: still one index
-- for the intake to write.
DROP INDEX comments_page;
CREATE INDEX comments_queue ON comments (consultation_id, id, submitted_at, disposition, moderation);

-- Disposed and marked comments in arrival order. Partial: the intake writes neither.
CREATE INDEX comments_disposed ON comments (consultation_id, id) WHERE disposition IS NOT NULL;
CREATE INDEX comments_marked ON comments (consultation_id, id) WHERE moderation IS NOT NULL;
