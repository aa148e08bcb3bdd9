import { Type, type Static } from '@sinclair/typebox'

// pg returns a Date; the serializer writes it as ISO 8601.
const Time = (description: string) => Type.Unsafe<Date>({ type: 'string', format: 'date-time', description })

/** One sign-in, as its user sees it in the list of their sign-ins. */
export const SessionSchema = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The sign-in\'s id: `DELETE /api/users/me/sessions/{id}` ends it' }),
  created_at: Time('When the user signed in'),
  last_used_at: Time('The last sign-in or refresh'),
  expires_at: Time('When it ends unless refreshed before (REFRESH_TOKEN_EXPIRE_DAYS after its last use)'),
  ends_at: Time('When it ends however often it is refreshed (SESSION_LIFETIME_DAYS after sign-in)'),
  client_ip: Type.Union([Type.String(), Type.Null()], { description: 'The client IP address at sign-in, as the server saw it' }),
  user_agent: Type.Union([Type.String(), Type.Null()], { description: 'The User-Agent header at sign-in (its first 512 characters)' }),
  current: Type.Boolean({ description: 'Whether the access token of this request belongs to this sign-in' })
}, {
  description: 'A sign-in of the user',
  examples: [{
    id: '9d2c6a51-8f0b-4f5e-9a43-1c2b3d4e5f60',
    created_at: '2025-01-15T09:30:00.000Z',
    last_used_at: '2025-01-16T18:02:11.000Z',
    expires_at: '2025-01-30T18:02:11.000Z',
    ends_at: '2025-02-14T09:30:00.000Z',
    client_ip: '203.0.113.7',
    user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)',
    current: true
  }]
})

export type Session = Static<typeof SessionSchema>
