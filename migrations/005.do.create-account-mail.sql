-- Set when the owner of the address follows a verification link (or a password reset link, which
-- proves the same). Sign-in does not need it; features that show other people's data do.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Tokens sent by mail: only their SHA-256 is stored. A token is good once, until expires_at, and
-- only while the account is at the token_version it was issued at, so a password change voids
-- every older token. Issuing one deletes the user's earlier tokens of the same purpose.
CREATE TABLE email_tokens (
  token_hash bytea PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('verify-email', 'password-reset')),
  token_version integer NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX email_tokens_user_id_purpose_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_at_idx ON email_tokens (expires_at);

-- Mail waiting to be delivered: a request adds a row and answers, and every instance delivers
-- due rows in the background, claimed with FOR UPDATE SKIP LOCKED so each row goes to one
-- instance. A row is deleted once the SMTP server accepts it, so the links it holds last no
-- longer than delivery takes. user_id (when the mail is about an account) takes pending mail
-- with the account when it is deleted.
CREATE TABLE mail_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  recipient text NOT NULL,
  subject text NOT NULL,
  text_body text NOT NULL,
  html_body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  -- When the next attempt is due; a claim moves it past the claim's lease, so a row whose instance
  -- died mid-delivery is tried again by another.
  next_attempt_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_next_attempt_at_idx ON mail_outbox (next_attempt_at);
CREATE INDEX mail_outbox_user_id_idx ON mail_outbox (user_id);
