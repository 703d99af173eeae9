-- Campaign membership moves from `comments.campaign_id` to a narrow table of its own (issue 13).
--
-- A comment's row is wide (the opinion, sealed personal data, review fields), and PostgreSQL and
-- SQLite both write a whole new row when one column of it changes. Placing half a million
-- comments in campaigns therefore rewrote half a million wide rows: 14 of the 34 seconds of a
-- first `campaigns detect` on a million comments, and most of what the background pass added to
-- the intake's cost. A row here is four integers' worth. `submitted_at` is copied (it never
-- changes) so that a campaign's size, span and histogram are read from here alone.
CREATE TABLE campaign_members (
    comment_id      BIGINT PRIMARY KEY REFERENCES comments (id),
    consultation_id TEXT NOT NULL,
    campaign_id     BIGINT NOT NULL REFERENCES campaigns (id),
    submitted_at    BIGINT NOT NULL
);
-- The queue's campaign filters, in comment id order: one campaign's members, and every member
-- of any.
CREATE INDEX campaign_members_by_campaign ON campaign_members (consultation_id, campaign_id, comment_id);
CREATE INDEX campaign_members_in_consultation ON campaign_members (consultation_id, comment_id);

INSERT INTO campaign_members (comment_id, consultation_id, campaign_id, submitted_at)
    SELECT id, consultation_id, campaign_id, submitted_at FROM comments WHERE campaign_id IS NOT NULL;

DROP INDEX comments_by_campaign;
DROP INDEX comments_in_campaigns;
ALTER TABLE comments DROP COLUMN campaign_id;
