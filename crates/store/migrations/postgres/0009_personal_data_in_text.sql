-- ID and phone numbers citizens write into free text (issue 11). An opinion keeps them masked in
-- `opinion`, the column every reader uses (the queue, search, exports, excerpts, the report);
-- the text as written is sealed in opinion_enc, bound to the comment's receipt, and is set only
-- when masking changed something.
ALTER TABLE comments ADD COLUMN opinion_enc BYTEA;

-- A mail's decoded text is sealed like its raw bytes, bound to its message key; full_text is
-- left empty from now on.
ALTER TABLE mails ADD COLUMN full_text_enc BYTEA;

-- Comments stored before this migration still hold their numbers in clear. The store masks
-- and seals them once, at start-up, in batches: those up to through_id, resuming after done_id,
-- and then deletes this row. (Mail text still in full_text is sealed by the same pass.)
CREATE TABLE masking_backlog (
    through_id BIGINT NOT NULL,
    done_id    BIGINT NOT NULL
);
INSERT INTO masking_backlog (through_id, done_id) SELECT MAX(id), 0 FROM comments HAVING COUNT(*) > 0;
