-- A TOTP secret, sealed with the master key and bound to its user, like other secrets.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
