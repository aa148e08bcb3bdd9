CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  password_hash text NOT NULL,
  full_name text NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One account per address whatever its case (Ana@Example.com is ana@example.com); the address is
-- kept as typed. Lookups compare lower(email), which this index serves.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
