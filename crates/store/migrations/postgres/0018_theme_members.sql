-- Theme membership moves from `comments.theme_id` to a table of its own (issue 14), so that a
-- comment on several articles is among the main points of each: one membership per scope, the
-- scope being the theme's article (0 for the draft as a whole, articles count from 1), so that a
-- comment is in at most one theme of each article. `scope` is the theme's, copied so that the
-- unique index can say so; a merge only ever joins themes of one article.
CREATE TABLE theme_members (
    theme_id        BIGINT NOT NULL REFERENCES themes (id),
    comment_id      BIGINT NOT NULL REFERENCES comments (id),
    consultation_id TEXT NOT NULL,
    scope           BIGINT NOT NULL,
    PRIMARY KEY (theme_id, comment_id)
);
CREATE UNIQUE INDEX theme_members_one_per_scope ON theme_members (comment_id, scope);
-- The queue's theme filter and a theme's page, in comment id order.
CREATE INDEX theme_members_by_theme ON theme_members (consultation_id, theme_id, comment_id);

INSERT INTO theme_members (theme_id, comment_id, consultation_id, scope)
    SELECT c.theme_id, c.id, c.consultation_id, COALESCE(t.article, 0)
    FROM comments c JOIN themes t ON t.id = c.theme_id;

DROP INDEX comments_by_theme;
ALTER TABLE comments DROP COLUMN theme_id;
