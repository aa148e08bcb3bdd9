import { Type, type Static } from '@sinclair/typebox'

// Not blank, and no NUL character (PostgreSQL text cannot hold one).
const text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, pattern: '^(?=[^\\u0000]*$)\\s*\\S', description })
const timestamp = (description: string) => Type.Unsafe<Date>({ type: 'string', format: 'date-time', description })
const uuid = (description: string) => Type.String({ format: 'uuid', description })

export const TEAM_ROLES = ['coach', 'staff', 'guardian'] as const
export const TeamRoleSchema = Type.Union(TEAM_ROLES.map((role) => Type.Literal(role)), {
  description: '`coach` manages the team, its players and members; `staff` reads everything and changes players; ' +
    '`guardian` reads the roster, and reads and corrects the details of the players linked to them'
})
export type TeamRole = Static<typeof TeamRoleSchema>

export const POSITIONS = ['goalkeeper', 'defender', 'midfielder', 'forward'] as const
export const PositionSchema = Type.Union(POSITIONS.map((position) => Type.Literal(position)))

// Answers declare a choice as `enum` and a nullable field as a type array, not as unions: the forms
// fast-json-stringify serializes without trying each branch, and projects for its native mechanism.
const positionValue = Type.Unsafe<Static<typeof PositionSchema>>({ type: 'string', enum: [...POSITIONS] })
const shirtNumberValue = Type.Unsafe<number | null>({ type: ['number', 'null'], multipleOf: 1, description: 'A whole number, or null for none' })

export const TeamIdParams = Type.Object({ team_id: uuid('The team\'s id') })
export const PlayerIdParams = Type.Object({ team_id: uuid('The team\'s id'), player_id: uuid('The player\'s id') })
export const MemberIdParams = Type.Object({ team_id: uuid('The team\'s id'), user_id: uuid('The member\'s user id') })
export const GuardianLinkParams = Type.Object({ ...PlayerIdParams.properties, user_id: uuid('The guardian\'s user id') })

const teamExample = { id: '0b6f3c52-8a7e-4d5b-9c1f-2e3d4a5b6c7d', name: 'U12 Falcons', created_at: '2025-02-01T10:00:00.000Z', updated_at: '2025-02-01T10:00:00.000Z' }

export const NewTeamSchema = Type.Object({
  name: text(100, 'The team\'s name, 1 to 100 characters')
}, { additionalProperties: false, examples: [{ name: 'U12 Falcons' }] })

export const TeamPatchSchema = Type.Object({
  name: Type.Optional(NewTeamSchema.properties.name)
}, { additionalProperties: false, examples: [{ name: 'U13 Falcons' }] })

export const TeamSchema = Type.Object({
  id: uuid('The team\'s id'),
  name: Type.String(),
  created_at: timestamp('When the team was created'),
  updated_at: timestamp('When the team last changed')
}, { description: 'A team', examples: [teamExample] })
export type Team = Static<typeof TeamSchema>

export const MyTeamSchema = Type.Object({
  ...TeamSchema.properties,
  role: TeamRoleSchema
}, { description: 'A team the caller is a member of, with the caller\'s role in it', examples: [{ ...teamExample, role: 'coach' }] })

const playerFields = {
  display_name: text(60, 'How the player is called in the app: a first name or nickname, not a full legal name'),
  birth_year: Type.Integer({ minimum: 1900, maximum: 2100, description: 'The year of birth (the age group), never a date of birth' }),
  position: PositionSchema,
  shirt_number: Type.Integer({ minimum: 1, maximum: 99, description: 'Unique within the team' }),
  notes: Type.String({ maxLength: 2000, pattern: '^[^\\u0000]*$', description: 'Free text for the team\'s coaches, staff and the player\'s guardians' })
}

const playerExample = {
  id: '7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6',
  team_id: teamExample.id,
  display_name: 'Mia',
  birth_year: 2014,
  position: 'midfielder',
  shirt_number: 8,
  notes: 'Left-footed',
  created_at: '2025-02-01T10:05:00.000Z',
  updated_at: '2025-02-01T10:05:00.000Z'
}

export const NewPlayerSchema = Type.Object({
  display_name: playerFields.display_name,
  birth_year: playerFields.birth_year,
  position: playerFields.position,
  shirt_number: Type.Optional(playerFields.shirt_number),
  notes: Type.Optional(playerFields.notes)
}, { additionalProperties: false, examples: [{ display_name: 'Mia', birth_year: 2014, position: 'midfielder', shirt_number: 8, notes: 'Left-footed' }] })
export type NewPlayer = Static<typeof NewPlayerSchema>

/** A change to a player: any member of the new player; null removes an optional one (RFC 7396). */
export const PlayerPatchSchema = Type.Object({
  display_name: Type.Optional(playerFields.display_name),
  birth_year: Type.Optional(playerFields.birth_year),
  position: Type.Optional(playerFields.position),
  shirt_number: Type.Optional(Type.Union([playerFields.shirt_number, Type.Null()])),
  notes: Type.Optional(Type.Union([playerFields.notes, Type.Null()]))
}, { additionalProperties: false, examples: [{ shirt_number: 10, notes: null }] })

export const PlayerSchema = Type.Object({
  id: uuid('The player\'s id'),
  team_id: uuid('The team\'s id'),
  display_name: Type.String(),
  birth_year: Type.Integer(),
  position: positionValue,
  shirt_number: shirtNumberValue,
  notes: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  created_at: timestamp('When the player was added'),
  updated_at: timestamp('When the player\'s details last changed')
}, { description: 'A player\'s details', examples: [playerExample] })
export type Player = Static<typeof PlayerSchema>

/** A roster line: what every member may see of a player; the details (birth year, notes) are read one player at a time. */
export const RosterEntrySchema = Type.Object({
  id: PlayerSchema.properties.id,
  display_name: Type.String(),
  position: positionValue,
  shirt_number: shirtNumberValue,
  created_at: timestamp('When the player was added')
}, { description: 'A player on the roster', examples: [{ id: playerExample.id, display_name: 'Mia', position: 'midfielder', shirt_number: 8, created_at: playerExample.created_at }] })
export type RosterEntry = Static<typeof RosterEntrySchema>

export const MemberSchema = Type.Object({
  user_id: uuid('The member\'s user id'),
  email: Type.String({ format: 'email' }),
  full_name: Type.String(),
  role: TeamRoleSchema,
  joined_at: timestamp('When the member joined'),
  player_ids: Type.Array(Type.String({ format: 'uuid' }), { maxItems: 1000, description: 'For a guardian, the players linked to them' })
}, {
  description: 'A member of a team',
  examples: [{ user_id: '4b4f8f4e-3f1d-4c55-9a57-3f0f7b1c2d10', email: 'ana.coach@example.com', full_name: 'Ana Coach', role: 'coach', joined_at: '2025-02-01T10:00:00.000Z', player_ids: [] }]
})
export type Member = Static<typeof MemberSchema>

export const InvitationSchema = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254, description: 'Where the invitation goes; only the account with this email can accept it' }),
  role: TeamRoleSchema
}, { additionalProperties: false, examples: [{ email: 'sam.staff@example.com', role: 'staff' }] })
export type Invitation = Static<typeof InvitationSchema>

export const AcceptInvitationSchema = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'The token from the invitation mail' })
}, { additionalProperties: false, examples: [{ token: 'kq3R0yq1b8HfW3o6e2s6mQ9cZJvYd4fW0n1xTt5u7aA' }] })

export const AuditEntrySchema = Type.Object({
  id: Type.String({ description: 'The entry\'s number, rising' }),
  actor_id: uuid('Who acted'),
  action: Type.String({ description: '`player.create`, `player.update`, `player.delete` or `player.read` (details read by someone other than a coach)' }),
  subject_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The player concerned' }),
  fields: Type.Array(Type.String(), { maxItems: 20, description: 'For a change, the names of the fields it changed' }),
  at: timestamp('When')
}, {
  description: 'One audit entry',
  examples: [{ id: '42', actor_id: '4b4f8f4e-3f1d-4c55-9a57-3f0f7b1c2d10', action: 'player.update', subject_id: playerExample.id, fields: ['shirt_number'], at: '2025-02-01T10:06:00.000Z' }]
})
export type AuditEntry = Static<typeof AuditEntrySchema>
