import type { TeamRole } from './schemas.js'

export interface InvitationMail {
  subject: string
  text: string
  html: string
}

export interface InvitationMailInput {
  teamName: string
  inviterName: string
  role: TeamRole
  token: string
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' }
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => escapes[character])

/** The invitation mail: the team, who invites, as what, and the token to accept with. */
export function invitationMail ({ teamName, inviterName, role, token }: InvitationMailInput): InvitationMail {
  const subject = `${inviterName} invites you to ${teamName} on Spinta`
  const text = `${inviterName} invites you to join the team ${teamName} on Spinta as ${role}.\n\n` +
    `To accept, sign in with this email address and send this token to POST /api/invitations/accept:\n\n${token}\n\n` +
    'The invitation works once and expires in 7 days. If you did not expect it, ignore this mail.\n'
  const html = `<p>${escapeHtml(inviterName)} invites you to join the team <strong>${escapeHtml(teamName)}</strong> on Spinta as ${role}.</p>` +
    '<p>To accept, sign in with this email address and send this token to <code>POST /api/invitations/accept</code>:</p>' +
    `<p><code>${token}</code></p><p>The invitation works once and expires in 7 days. If you did not expect it, ignore this mail.</p>`
  return { subject, text, html }
}
