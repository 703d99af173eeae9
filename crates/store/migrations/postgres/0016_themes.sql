-- Themes (issue 14): the main points made about each article (`article`), or about the draft as
-- a whole (`article` NULL), found by `yijian_analysis::themes` among the comments' distinct texts
-- (a campaign's members follow its representative) and confirmed by staff.
--
-- `label_by` is set when staff named the theme: a rebuild never renames it. A merged theme keeps
-- its row with `merged_into` set and no members, so links to it still lead somewhere. The
-- decision (`disposition`, `disposition_reason`) is given to the members whose own decision, or
-- whose campaign's, does not win over it (comments.decision_source).
CREATE TABLE themes (
    id                 BIGSERIAL PRIMARY KEY,
    consultation_id    TEXT NOT NULL REFERENCES consultations (id),
    article            BIGINT,
    label              TEXT NOT NULL,
    label_by           TEXT,
    key_phrases        TEXT NOT NULL DEFAULT '[]',
    representatives    TEXT NOT NULL DEFAULT '[]',
    stance             TEXT NOT NULL,
    comments           BIGINT NOT NULL DEFAULT 0,
    distinct_texts     BIGINT NOT NULL DEFAULT 0,
    confirmed          BIGINT NOT NULL DEFAULT 0,
    disposition        TEXT,
    disposition_reason TEXT,
    merged_into        BIGINT,
    changed_by         TEXT,
    changed_at         BIGINT
);
CREATE INDEX themes_by_article ON themes (consultation_id, article, comments DESC, id);

ALTER TABLE comments ADD COLUMN theme_id BIGINT;
-- Whose decision the comment's disposition is: `own`, `campaign` or `theme` (NULL: none, or
-- one from before this column, which counts as the comment's own).
ALTER TABLE comments ADD COLUMN decision_source TEXT;
CREATE INDEX comments_by_theme ON comments (consultation_id, theme_id, id) WHERE theme_id IS NOT NULL;
