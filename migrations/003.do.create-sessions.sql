-- Raised when the password changes. Access tokens and sign-ins carry the version they were issued
-- at, so every one issued before the change stops working at once.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- One row per sign-in. Its refresh tokens go with it, so ending a sign-in (sign-out, a reused
-- token, a password change) is one DELETE, and no token can outlive its sign-in.
CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_version integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- The expiry of its newest refresh token: past it the whole sign-in is over.
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Only the SHA-256 of each token is stored. Used tokens stay until they expire, so presenting one
-- again is recognised as reuse.
CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
