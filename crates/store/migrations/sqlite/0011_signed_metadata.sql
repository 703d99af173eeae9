-- What citizens rely on beside a draft's text (its title, issuer, dates, the mailbox and the
-- subject phrase of the email channel, the consultation id and its version) is signed with the
-- key that signs texts. NULL on a consultation published before this: see
-- Store::sign_unsigned_metadata.
ALTER TABLE consultations ADD COLUMN meta_signature TEXT;

-- What a receipt look-up tells: the disposition and reasoning as the last published report
-- carried them, never the live values staff edit afterwards.
ALTER TABLE comments ADD COLUMN published_disposition TEXT;
ALTER TABLE comments ADD COLUMN published_reason TEXT;

-- Consultations whose report was published before this kept no snapshot: a look-up showed the
-- live value, so that is the best record there is of what was told.
UPDATE comments SET published_disposition = disposition, published_reason = disposition_reason
WHERE disposition IS NOT NULL
  AND (moderation IS NULL OR moderation NOT IN ('spam', 'hidden'))
  AND consultation_id IN (SELECT consultation_id FROM reports);

-- Each signature of a consultation's metadata is on record in the keyed audit log; loading a
-- consultation reads the latest, so a rolled-back version or date is refused.
CREATE INDEX audit_log_signed_metadata ON audit_log (subject, seq) WHERE action = 'consultation.signed';
