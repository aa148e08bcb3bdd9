import { Type } from '@fastify/type-provider-typebox'

/** A user as every route returns it; the password hash is not part of it. */
export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String({ format: 'email', description: 'As registered; sign-in ignores its letter case' }),
  full_name: Type.String(),
  is_active: Type.Boolean({ description: 'Deactivated accounts cannot sign in' }),
  // pg returns a Date; the serializer writes it as ISO 8601.
  created_at: Type.Unsafe<Date>({ type: 'string', format: 'date-time' })
}, {
  description: 'A user account',
  examples: [{
    id: '4b4f8f4e-3f1d-4c55-9a57-3f0f7b1c2d10',
    email: 'ana.coach@example.com',
    full_name: 'Ana Coach',
    is_active: true,
    created_at: '2025-01-15T09:30:00.000Z'
  }]
})
