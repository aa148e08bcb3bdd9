import type { User } from '../accounts/user.js'

export type Eligibility = { eligible: true } | { eligible: false, reason: string }

/**
 * Whether `user` may join a team through an invitation sent to `invitedEmail`: the one place that
 * decides it, so that requiring a verified email is a change here only.
 */
export function joinEligibility (user: User, invitedEmail: string): Eligibility {
  if (user.email.toLowerCase() !== invitedEmail.toLowerCase()) {
    return { eligible: false, reason: 'This invitation was sent to another email address' }
  }
  return { eligible: true }
}
