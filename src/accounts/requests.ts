import { Type } from '@sinclair/typebox'
import { NewUserSchema } from './user.js'

/**
 * The answer to a request that may mail an address: one body whether or not the address has an
 * account, so it tells nothing about which addresses do.
 */
export const MailAcceptedSchema = Type.Object({
  detail: Type.String({ description: 'What happens next' })
}, { title: 'MailAccepted', description: 'The request is accepted; a mail may be on its way' })

/** A token from a link in a mail, as the front end posts it. */
export const MailedToken = Type.String({ minLength: 1, maxLength: 256, description: 'The `token` query parameter of the link in the mail' })

export const EmailSchema = NewUserSchema.properties.email
