import { Type, type Static } from '@sinclair/typebox'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-policy.js'

/** A user as every route returns it; the password hash is not part of it. */
export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String({ format: 'email', description: 'As registered; sign-in ignores its letter case' }),
  full_name: Type.String(),
  is_active: Type.Boolean({ description: 'Deactivated accounts cannot sign in' }),
  email_verified: Type.Boolean({ description: 'Whether the owner of the address confirmed it (POST /api/auth/verify-email). Sign-in does not need it; seeing other people\'s data, such as joining a team, does' }),
  // pg returns a Date; the serializer writes it as ISO 8601.
  created_at: Type.Unsafe<Date>({ type: 'string', format: 'date-time' })
}, {
  description: 'A user account',
  examples: [{
    id: '4b4f8f4e-3f1d-4c55-9a57-3f0f7b1c2d10',
    email: 'ana.coach@example.com',
    full_name: 'Ana Coach',
    is_active: true,
    email_verified: true,
    created_at: '2025-01-15T09:30:00.000Z'
  }]
})

export type User = Static<typeof UserSchema>

/** A registration: what a new account is made from. */
export const NewUserSchema = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: Type.String({
    maxLength: PASSWORD_MAX_LENGTH,
    description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters (Unicode NFKC), any characters, no rules on their kinds; ` +
      'not one of the common or breached passwords attackers try first, and not containing the name part of the email'
  }),
  // Not blank, and no NUL character (PostgreSQL text cannot hold one). Each part is checked once, in
  // linear time: Ajv runs the pattern even on a value maxLength has refused, up to the body limit.
  full_name: Type.String({ minLength: 1, maxLength: 200, pattern: '^(?=[^\\u0000]*$)\\s*\\S' })
}, {
  additionalProperties: false,
  examples: [{ email: 'ana.coach@example.com', password: 'correct horse battery staple', full_name: 'Ana Coach' }]
})

export type NewUser = Static<typeof NewUserSchema>
