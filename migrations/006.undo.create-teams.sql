DROP TABLE team_audit;
DROP FUNCTION team_audit_append_only();
DROP TABLE team_invitations;
DROP TABLE player_guardians;
DROP TABLE players;
DROP TABLE team_members;
DROP TABLE teams;
