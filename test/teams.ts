import type { FastifyInstance } from 'fastify'
import type { TeamRole } from '../src/teams/schemas.js'
import { bearer, newAccount, signedIn } from './accounts.js'
import { tokenIn, type TestSmtpServer } from './smtp.js'

export interface Account {
  id: string
  email: string
  authorization: string
}

/** A new account, signed in; its address is not verified yet (see verifyEmail). */
export async function signUp (app: FastifyInstance, name = 'user'): Promise<Account> {
  const { id, email, access_token: accessToken } = await signedIn(app, newAccount(name))
  return { id, email, ...bearer(accessToken) }
}

const verified = new Set<string>()

/**
 * Verifies the account's address the way its owner would: the verification mail registration sent
 * (the first mail to the address the SMTP server received), its token posted to verify-email.
 */
export async function verifyEmail (app: FastifyInstance, smtp: TestSmtpServer, account: Account): Promise<void> {
  if (verified.has(account.email)) return
  const token = tokenIn(await smtp.nextMail(account.email))
  const answered = await app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: { token } })
  if (answered.statusCode !== 204) throw new Error(`verifying ${account.email} answered ${answered.statusCode}: ${answered.body}`)
  verified.add(account.email)
}

/** Invites `email` to the team as `role` through the API: the token of the invitation mail the SMTP server received. */
export async function invite (app: FastifyInstance, smtp: TestSmtpServer, coach: Account, teamId: string, email: string, role: TeamRole): Promise<string> {
  const invited = await app.inject({ method: 'POST', url: `/api/teams/${teamId}/invitations`, headers: { authorization: coach.authorization }, payload: { email, role } })
  if (invited.statusCode !== 202) throw new Error(`invitation answered ${invited.statusCode}: ${invited.body}`)
  return tokenIn(await smtp.nextMail(email))
}

/** Verifies the account's address, invites it to the team as `role` and accepts with the mailed token. */
export async function join (app: FastifyInstance, smtp: TestSmtpServer, coach: Account, teamId: string, account: Account, role: TeamRole): Promise<void> {
  await verifyEmail(app, smtp, account)
  const token = await invite(app, smtp, coach, teamId, account.email, role)
  const accepted = await app.inject({ method: 'POST', url: '/api/invitations/accept', headers: { authorization: account.authorization }, payload: { token } })
  if (accepted.statusCode !== 200) throw new Error(`accepting answered ${accepted.statusCode}: ${accepted.body}`)
}

/** A team and its creator, the coach. */
export async function createTeam (app: FastifyInstance, coach: Account, name = 'U12 Falcons'): Promise<string> {
  const created = await app.inject({ method: 'POST', url: '/api/teams', headers: { authorization: coach.authorization }, payload: { name } })
  if (created.statusCode !== 201) throw new Error(`team creation answered ${created.statusCode}: ${created.body}`)
  return created.json().id
}

export async function addPlayer (app: FastifyInstance, account: Account, teamId: string, player: Record<string, unknown>): Promise<string> {
  const created = await app.inject({ method: 'POST', url: `/api/teams/${teamId}/players`, headers: { authorization: account.authorization }, payload: player })
  if (created.statusCode !== 201) throw new Error(`adding a player answered ${created.statusCode}: ${created.body}`)
  return created.json().id
}

/** Env overrides for tests that sign many accounts in from one address. */
export const manySignIns = { PASSWORD_CHECKS_PER_MINUTE: '100000', LOGIN_ATTEMPTS_PER_MINUTE: '100000', MAIL_REQUESTS_PER_MINUTE: '100000' }
