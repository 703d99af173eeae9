-- Campaigns (issue 13): comments of one consultation whose texts are copies or near-copies of
-- one another, found by `yijian_analysis::campaigns` off the intake's write path.
--
-- A campaign keeps its id across re-runs of the detection (a re-run gives each group found the
-- id of the campaign that holds most of its members), so that what staff decided stays with it.
-- `disposition`, `moderation` and `tags` are the decision staff gave the campaign as a whole;
-- with `inherit`, members that join later are given it too. A campaign a re-run no longer finds
-- keeps its row (and its decision, for the record) with `size` 0.
CREATE TABLE campaigns (
    id                 BIGSERIAL PRIMARY KEY,
    consultation_id    TEXT NOT NULL REFERENCES consultations (id),
    representative     BIGINT NOT NULL,
    size               BIGINT NOT NULL,
    first_at           BIGINT NOT NULL,
    last_at            BIGINT NOT NULL,
    disposition        TEXT,
    disposition_reason TEXT,
    moderation         TEXT,
    moderation_reason  TEXT,
    tags               TEXT NOT NULL DEFAULT '[]',
    inherit            BIGINT NOT NULL DEFAULT 1,
    decided_by         TEXT,
    decided_at         BIGINT
);
CREATE INDEX campaigns_by_size ON campaigns (consultation_id, size DESC, id);

ALTER TABLE comments ADD COLUMN campaign_id BIGINT;
-- The queue's campaign filters: one campaign's members in id order, and every member of any.
CREATE INDEX comments_by_campaign ON comments (consultation_id, campaign_id, id) WHERE campaign_id IS NOT NULL;
CREATE INDEX comments_in_campaigns ON comments (consultation_id, id) WHERE campaign_id IS NOT NULL;

-- How far the detection has looked at each consultation's comments (by comment id): the
-- background pass places only comments above it.
CREATE TABLE campaign_progress (
    consultation_id TEXT PRIMARY KEY,
    through_id      BIGINT NOT NULL
);
