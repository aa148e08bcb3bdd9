-- Teams, their members and their players. Players are minors: only what the game needs is kept
-- (a birth year, never a date of birth).
CREATE TABLE teams (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_members (
  team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('coach', 'staff', 'guardian')),
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, user_id)
);
-- The caller's teams, and the members list's keyset order.
CREATE INDEX team_members_user_id_idx ON team_members (user_id, team_id);
CREATE INDEX team_members_team_joined_idx ON team_members (team_id, joined_at, user_id);

CREATE TABLE players (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  display_name text NOT NULL,
  birth_year smallint NOT NULL,
  position text NOT NULL CHECK (position IN ('goalkeeper', 'defender', 'midfielder', 'forward')),
  shirt_number smallint CHECK (shirt_number BETWEEN 1 AND 99),
  notes text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT players_team_shirt_number_key UNIQUE (team_id, shirt_number)
);
-- One index per documented sort of the roster: pages are read by keyset (sort key, id), never OFFSET.
CREATE INDEX players_team_display_name_idx ON players (team_id, display_name, id);
CREATE INDEX players_team_created_at_idx ON players (team_id, created_at, id);

-- A guardian sees and corrects the players linked to them. The link goes with the membership.
CREATE TABLE player_guardians (
  team_id uuid NOT NULL,
  player_id uuid NOT NULL REFERENCES players (id) ON DELETE CASCADE,
  user_id uuid NOT NULL,
  PRIMARY KEY (player_id, user_id),
  FOREIGN KEY (team_id, user_id) REFERENCES team_members (team_id, user_id) ON DELETE CASCADE
);
CREATE INDEX player_guardians_member_idx ON player_guardians (team_id, user_id);

-- Only the SHA-256 of an invitation token is stored; accepting sets accepted_at, so a token works once.
CREATE TABLE team_invitations (
  token_hash bytea PRIMARY KEY,
  team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  email text NOT NULL,
  role text NOT NULL CHECK (role IN ('coach', 'staff', 'guardian')),
  invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz
);
CREATE INDEX team_invitations_team_id_idx ON team_invitations (team_id);

-- Who did what to which player, and who read a player's details, when. Append-only: no foreign
-- keys, so deleting a team, player or account leaves the record, and a trigger refuses changes.
CREATE TABLE team_audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id uuid NOT NULL,
  actor_id uuid NOT NULL,
  action text NOT NULL,
  subject_id uuid,
  fields text[] NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX team_audit_team_at_idx ON team_audit (team_id, at, id);
CREATE INDEX team_audit_actor_idx ON team_audit (actor_id, id);

CREATE FUNCTION team_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'team_audit is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER team_audit_no_update_or_delete BEFORE UPDATE OR DELETE ON team_audit
  FOR EACH ROW EXECUTE FUNCTION team_audit_append_only();
CREATE TRIGGER team_audit_no_truncate BEFORE TRUNCATE ON team_audit
  FOR EACH STATEMENT EXECUTE FUNCTION team_audit_append_only();
