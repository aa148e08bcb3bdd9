ALTER TABLE refresh_tokens DROP COLUMN replaced_by;

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
DROP INDEX sessions_user_id_created_at_idx;
ALTER TABLE sessions
  DROP COLUMN ends_at,
  DROP COLUMN last_used_at,
  DROP COLUMN client_ip,
  DROP COLUMN user_agent,
  DROP COLUMN access_generation,
  DROP COLUMN min_access_generation;

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
DROP INDEX users_email_key_key;
ALTER TABLE users DROP COLUMN email_key;
