/**
 * Every mail the app sends: subject, plain text and HTML, in one place. Values are escaped in the
 * HTML part; links point at the front end (APP_URL), which reads `token` from the query string and
 * posts it to the API.
 */

/** A mail's content, ready for `fastify.mail.send({ to, ...content })`. */
export interface MailContent {
  subject: string
  text: string
  html: string
}

/** Front-end pages the mails link to, below APP_URL. */
export const frontEndPaths = {
  verifyEmail: 'verify-email',
  resetPassword: 'reset-password',
  acceptInvitation: 'accept-invitation',
  signIn: 'sign-in'
} as const

const APP = 'Spinta'

export function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`)
}

/** APP_URL joined with a front-end page, with the token in the query when there is one. */
export function appLink (appUrl: string, page: string, token?: string): string {
  const url = new URL(page, appUrl.endsWith('/') ? appUrl : `${appUrl}/`)
  if (token !== undefined) url.searchParams.set('token', token)
  return url.href
}

/** A paragraph of plain text, or a link (`[label, href]`) shown as a button in HTML. */
type Block = string | [label: string, href: string]

function compose (subject: string, greeting: string, blocks: Block[]): MailContent {
  const text = [greeting, ...blocks.map((block) => typeof block === 'string' ? block : `${block[0]}: ${block[1]}`), `— ${APP}`].join('\n\n')
  const body = [greeting, ...blocks].map((block) => typeof block === 'string'
    ? `<p>${escapeHtml(block)}</p>`
    : `<p><a href="${escapeHtml(block[1])}">${escapeHtml(block[0])}</a></p><p style="font-size:12px;color:#555">${escapeHtml(block[1])}</p>`)
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>` +
    `<body style="font-family:sans-serif;line-height:1.5">${body.join('')}<p>— ${APP}</p></body></html>`
  return { subject, text, html }
}

const hello = (name: string) => `Hello ${name},`

export interface Recipient {
  /** The account's full name, for the greeting. */
  name: string
  appUrl: string
}

export function verifyEmail ({ name, appUrl, token, hours }: Recipient & { token: string, hours: number }): MailContent {
  return compose(`Confirm your email address for ${APP}`, hello(name), [
    `Please confirm that this is your email address. The link works once, for ${hours} hours.`,
    ['Confirm my email address', appLink(appUrl, frontEndPaths.verifyEmail, token)],
    `If you did not create a ${APP} account, ignore this mail: nothing happens without the link.`
  ])
}

export function registrationAttempt ({ name, appUrl }: Recipient): MailContent {
  return compose(`Someone tried to register at ${APP} with your address`, hello(name), [
    `Someone, maybe you, just tried to create a ${APP} account with this email address. It already has an account, so nothing was changed.`,
    ['If it was you, sign in', appLink(appUrl, frontEndPaths.signIn)],
    ['or, if you forgot your password, reset it', appLink(appUrl, frontEndPaths.resetPassword)],
    'If it was not you, you need not do anything.'
  ])
}

export function passwordReset ({ name, appUrl, token, minutes }: Recipient & { token: string, minutes: number }): MailContent {
  return compose(`Reset your ${APP} password`, hello(name), [
    `Someone, hopefully you, asked to reset the password of your ${APP} account. The link works once, for ${minutes} minutes.`,
    ['Choose a new password', appLink(appUrl, frontEndPaths.resetPassword, token)],
    'If you did not ask for this, ignore this mail: your password stays as it is.'
  ])
}

export function passwordChanged ({ name, appUrl }: Recipient): MailContent {
  return compose(`Your ${APP} password was changed`, hello(name), [
    `The password of your ${APP} account was just changed, and every device signed in to it was signed out.`,
    ['If it was not you, reset your password now', appLink(appUrl, frontEndPaths.resetPassword)]
  ])
}

export function teamInvitation ({ appUrl, teamName, inviterName, role, token, days }: Pick<Recipient, 'appUrl'> & { teamName: string, inviterName: string, role: string, token: string, days: number }): MailContent {
  return compose(`${inviterName} invites you to ${teamName} on ${APP}`, 'Hello,', [
    `${inviterName} invites you to join the team ${teamName} on ${APP} as ${role}. ` +
      `To accept, sign in with this email address, verified, and follow the link. It works once, for ${days} days.`,
    ['Accept the invitation', appLink(appUrl, frontEndPaths.acceptInvitation, token)],
    'If you did not expect this invitation, ignore this mail: nothing happens without the link.'
  ])
}

export function accountDeleted ({ name }: Pick<Recipient, 'name'>): MailContent {
  return compose(`Your ${APP} account was deleted`, hello(name), [
    `Your ${APP} account and the data it held were deleted at your request. This is the last mail you get from us.`,
    'If you did not ask for this, someone knew your password and the account cannot be restored: register again if you wish.'
  ])
}
