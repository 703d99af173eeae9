-- The review queue at a million comments (issue 4): every filter answered from indexes alone.
--
-- Tags, like articles, get a table kept from comments.tags by triggers, so that the tag filter
-- reads an index instead of every comment's JSON.
CREATE TABLE comment_tags (
    consultation_id TEXT NOT NULL,
    tag             TEXT NOT NULL,
    comment_id      BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, tag, comment_id)
);

-- A tag taken off is deleted by its whole key, one at a time: the function's cached plan for
-- `tag IN (SELECT …)` used the key without the tag and read the consultation's every row.
CREATE FUNCTION comment_tags_sync() RETURNS trigger AS $$
DECLARE
    gone TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        FOR gone IN SELECT jsonb_array_elements_text(OLD.tags::jsonb)
                 EXCEPT SELECT jsonb_array_elements_text(NEW.tags::jsonb) LOOP
            DELETE FROM comment_tags WHERE consultation_id = OLD.consultation_id AND tag = gone AND comment_id = OLD.id;
        END LOOP;
    END IF;
    INSERT INTO comment_tags (consultation_id, tag, comment_id)
    SELECT NEW.consultation_id, n, NEW.id FROM jsonb_array_elements_text(NEW.tags::jsonb) n
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER comment_tags_insert AFTER INSERT ON comments
FOR EACH ROW WHEN (NEW.tags <> '[]') EXECUTE FUNCTION comment_tags_sync();

CREATE TRIGGER comment_tags_update AFTER UPDATE OF tags ON comments
FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags) EXECUTE FUNCTION comment_tags_sync();

INSERT INTO comment_tags (consultation_id, tag, comment_id)
SELECT c.consultation_id, t, c.id FROM comments c, jsonb_array_elements_text(c.tags::jsonb) t
WHERE c.tags <> '[]'
ON CONFLICT DO NOTHING;

-- The same for articles: the old function looked for a comment's rows by comment_id, which no
-- index leads with, so each change of articles read all of its consultation's rows.
CREATE OR REPLACE FUNCTION comment_articles_sync() RETURNS trigger AS $$
DECLARE
    gone BIGINT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        FOR gone IN SELECT o::bigint FROM jsonb_array_elements_text(OLD.articles::jsonb) o
                 EXCEPT SELECT n::bigint FROM jsonb_array_elements_text(NEW.articles::jsonb) n LOOP
            DELETE FROM comment_articles
            WHERE consultation_id = OLD.consultation_id AND article = gone AND comment_id = OLD.id;
        END LOOP;
    END IF;
    IF NEW.articles <> '[]' THEN
        INSERT INTO comment_articles (consultation_id, article, comment_id)
        SELECT NEW.consultation_id, a::bigint, NEW.id FROM jsonb_array_elements_text(NEW.articles::jsonb) a
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER comment_articles_update ON comments;
CREATE TRIGGER comment_articles_update AFTER UPDATE OF articles ON comments
FOR EACH ROW WHEN (OLD.articles IS DISTINCT FROM NEW.articles) EXECUTE FUNCTION comment_articles_sync();

-- The queue in arrival order, carrying what the status, mark and date filters need, so that
-- they and their counts can be answered by index-only scans. It replaces comments_page: still
-- one index for the intake to write.
DROP INDEX comments_page;
CREATE INDEX comments_queue ON comments (consultation_id, id, submitted_at, disposition, moderation);

-- Disposed and marked comments in arrival order. Partial: the intake writes neither.
CREATE INDEX comments_disposed ON comments (consultation_id, id) WHERE disposition IS NOT NULL;
CREATE INDEX comments_marked ON comments (consultation_id, id) WHERE moderation IS NOT NULL;

ANALYZE comments;
ANALYZE comment_articles;
ANALYZE comment_tags;
