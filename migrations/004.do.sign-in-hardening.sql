-- Accounts are found by one key, computed by the app alone (NFKC, then lower case: see
-- src/accounts/email-key.ts), so sign-in limits and the lookup agree on which account a username
-- names. Existing rows get PostgreSQL's equivalent, the same for the ASCII addresses registration allows.
ALTER TABLE users ADD COLUMN email_key text;
UPDATE users SET email_key = lower(normalize(email, NFKC));
ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;
CREATE UNIQUE INDEX users_email_key_key ON users (email_key);
DROP INDEX users_email_lower_key;

-- A sign-in ends at ends_at whatever happens (refreshes cannot extend it), or earlier at
-- expires_at when unused (the idle timeout). Access tokens carry the generation of the refresh
-- that issued them; those below min_access_generation are refused (a retried refresh replaced them).
-- client_ip and user_agent are as seen at sign-in, for the user's list of their sign-ins.
ALTER TABLE sessions
  ADD COLUMN ends_at timestamptz,
  ADD COLUMN last_used_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN client_ip text,
  ADD COLUMN user_agent text,
  ADD COLUMN access_generation integer NOT NULL DEFAULT 0,
  ADD COLUMN min_access_generation integer NOT NULL DEFAULT 0;
UPDATE sessions SET ends_at = expires_at, last_used_at = created_at;
ALTER TABLE sessions ALTER COLUMN ends_at SET NOT NULL;
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at);
DROP INDEX sessions_user_id_idx;

-- The token a refresh issued in exchange: a retry within the grace window replaces it.
ALTER TABLE refresh_tokens ADD COLUMN replaced_by bytea;
