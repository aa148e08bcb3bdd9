import type { Outbox } from '../mail/outbox.js'
import { accountDeleted, passwordChanged, passwordReset, registrationAttempt, verifyEmail } from '../mail/templates.js'
import type { EmailTokenStore } from './email-tokens.js'
import type { User } from './user.js'

/** The mails of an account's life, each queued in the outbox (none waits for delivery). */
export interface AccountMail {
  /** A verification link, replacing any earlier one. */
  verification: (user: User) => Promise<void>
  /** To the owner of an address someone tried to register again. */
  registrationAttempt: (user: User) => Promise<void>
  /** A password reset link, replacing any earlier one. */
  passwordReset: (user: User) => Promise<void>
  /** The password was changed or reset. */
  passwordChanged: (user: User) => Promise<void>
  /** The account is gone: the mail is not tied to it, or it would be deleted with it. */
  accountDeleted: (user: User) => Promise<void>
}

export interface AccountMailOptions {
  tokens: EmailTokenStore
  mail: Pick<Outbox, 'send'>
  appUrl: string
  verifyEmailHours: number
  passwordResetMinutes: number
}

export function accountMail ({ tokens, mail, appUrl, verifyEmailHours: hours, passwordResetMinutes: minutes }: AccountMailOptions): AccountMail {
  const to = (user: User) => ({ to: user.email, userId: user.id })
  const recipient = (user: User) => ({ name: user.full_name, appUrl })
  return {
    async verification (user) {
      const token = await tokens.issue(user.id, 'verify-email', hours * 3_600_000)
      if (token !== null) await mail.send({ ...to(user), ...verifyEmail({ ...recipient(user), token, hours }) })
    },
    async registrationAttempt (user) {
      await mail.send({ ...to(user), ...registrationAttempt(recipient(user)) })
    },
    async passwordReset (user) {
      const token = await tokens.issue(user.id, 'password-reset', minutes * 60_000)
      if (token !== null) await mail.send({ ...to(user), ...passwordReset({ ...recipient(user), token, minutes }) })
    },
    async passwordChanged (user) {
      await mail.send({ ...to(user), ...passwordChanged(recipient(user)) })
    },
    async accountDeleted (user) {
      await mail.send({ to: user.email, ...accountDeleted(recipient(user)) })
    }
  }
}
