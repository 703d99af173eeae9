-- Article suggestions (issue 14): which articles of the draft a comment seems to speak to, found
-- off the intake's write path by `yijian_analysis::articles`. A suggestion is never a link by
-- itself: staff accept it (then it is an ordinary article link in comments.articles, audited) or
-- reject it. `state` is `open`, `accepted` or `rejected`; a re-run replaces open suggestions
-- only, so what staff decided stays.
CREATE TABLE article_suggestions (
    consultation_id TEXT NOT NULL,
    comment_id      BIGINT NOT NULL,
    article         BIGINT NOT NULL,
    confidence      DOUBLE PRECISION NOT NULL,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'open',
    decided_by      TEXT,
    decided_at      BIGINT,
    PRIMARY KEY (consultation_id, comment_id, article)
);
-- The queue's filter "suggested for article N" (open ones, above a confidence): one index scan
-- in comment id order, the confidence read from the index.
CREATE INDEX article_suggestions_open ON article_suggestions (consultation_id, article, comment_id, confidence)
    WHERE state = 'open';

-- How far the suggestion pass has read each consultation's comments (by comment id).
CREATE TABLE suggestion_progress (
    consultation_id TEXT PRIMARY KEY,
    through_id      BIGINT NOT NULL
);
