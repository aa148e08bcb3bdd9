import type { FastifyInstance } from 'fastify'
import type { TeamRole } from '../src/teams/schemas.js'
import { bearer, newAccount, signedIn } from './accounts.js'

export interface Account {
  id: string
  email: string
  authorization: string
}

export interface LogLines {
  lines: Array<Record<string, unknown>>
}

/** A new account, signed in. */
export async function signUp (app: FastifyInstance, name = 'user'): Promise<Account> {
  const { id, email, access_token: accessToken } = await signedIn(app, newAccount(name))
  return { id, email, ...bearer(accessToken) }
}

/** The token of the last invitation mail to `email`, from the app's log. */
export function invitationToken (logs: LogLines, email: string): string {
  const mail = logs.lines.filter((line) => line.msg === 'invitation mail' && (line.mail as { to?: string }).to === email).at(-1)?.mail as { text: string } | undefined
  const token = /\n\n([A-Za-z0-9_-]{43})\n\n/.exec(mail?.text ?? '')?.[1]
  if (token === undefined) throw new Error(`no invitation mail to ${email} in the log`)
  return token
}

/** Invites `account` to the team as `role` through the API and accepts with the mailed token. */
export async function join (app: FastifyInstance, logs: LogLines, coach: Account, teamId: string, account: Account, role: TeamRole): Promise<void> {
  const invited = await app.inject({ method: 'POST', url: `/api/teams/${teamId}/invitations`, headers: { authorization: coach.authorization }, payload: { email: account.email, role } })
  if (invited.statusCode !== 202) throw new Error(`invitation answered ${invited.statusCode}: ${invited.body}`)
  const accepted = await app.inject({ method: 'POST', url: '/api/invitations/accept', headers: { authorization: account.authorization }, payload: { token: invitationToken(logs, account.email) } })
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
