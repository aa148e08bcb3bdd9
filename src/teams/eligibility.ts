import { emailKey } from '../accounts/email-key.js'
import type { User } from '../accounts/user.js'

export type Eligibility = { eligible: true } | { eligible: false, reason: string }

/**
 * Whether `user` may join a team through an invitation sent to `invitedEmail`: the one place that
 * decides it, so that requiring a verified email is a change here only.
 */
export function joinEligibility (user: User, invitedEmail: string): Eligibility {
  if (emailKey(user.email) !== emailKey(invitedEmail)) {
    return { eligible: false, reason: 'This invitation was sent to another email address' }
  }
  // Members see other people's data (minors' among them): the address must be proven to be theirs.
  if (!user.email_verified) {
    return { eligible: false, reason: 'Verify your email address first (POST /api/auth/verify-email with the token from its mail), then accept the invitation' }
  }
  return { eligible: true }
}
