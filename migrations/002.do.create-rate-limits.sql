-- The sign-in and registration limits' counts, shared by every instance. One row per counted key
-- (a limit's name and a digest of the client), alive until expires_at; the app deletes expired
-- rows in batches, by expires_at. UNLOGGED: counts last a minute, so they skip the write-ahead log
-- (and replicas); a database crash empties the table, which costs at most a minute of counting.
CREATE UNLOGGED TABLE rate_limits (
  key text PRIMARY KEY,
  count integer NOT NULL,
  expires_at timestamptz NOT NULL
);

CREATE INDEX rate_limits_expires_at_idx ON rate_limits (expires_at);
