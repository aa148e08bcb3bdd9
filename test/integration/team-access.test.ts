import t from 'tap'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { startSmtpServer } from '../smtp.js'
import type { TeamRole } from '../../src/teams/schemas.js'
import { addPlayer, createTeam, join, manySignIns, signUp, type Account } from '../teams.js'

/**
 * The role table of the issue, written here independently of the code: who may use each operation
 * under a team. Every operation of the OpenAPI document under /api/teams/{team_id} must be in it.
 */
const everyone: TeamRole[] = ['coach', 'staff', 'guardian']
const roleTable: Record<string, { roles: TeamRole[], linkedGuardian?: boolean }> = {
  getTeam: { roles: everyone },
  updateTeam: { roles: ['coach'] },
  deleteTeam: { roles: ['coach'] },
  listPlayers: { roles: everyone },
  createPlayer: { roles: ['coach', 'staff'] },
  getPlayer: { roles: everyone, linkedGuardian: true },
  updatePlayer: { roles: everyone, linkedGuardian: true },
  deletePlayer: { roles: ['coach'] },
  linkGuardian: { roles: ['coach'] },
  unlinkGuardian: { roles: ['coach'] },
  listMembers: { roles: ['coach', 'staff'] },
  removeMember: { roles: ['coach'] },
  inviteMember: { roles: ['coach'] },
  listTeamAudit: { roles: ['coach'] }
}

interface Operation {
  operationId: string
  security?: unknown[]
  requestBody?: { content: Record<string, { schema: { examples?: unknown[] }, example?: unknown }> }
}

const NO_TEAM = 'There is no team with this id'
const database = await startTestDatabase(t)
const smtp = await startSmtpServer(t)
const app = await buildApp(t, testEnv(database, { ...manySignIns, SMTP_URL: smtp.url, MAIL_RETRY_MIN_MS: '20', MAIL_RETRY_MAX_MS: '200' }))
const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
const operations = Object.entries(document.paths as Record<string, Record<string, Operation>>)
  .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })))

// One team with a member of every role, a guardian linked to the player and one who is not, and
// a user who coaches another team.
const coach = await signUp(app, 'coach')
const staff = await signUp(app, 'staff')
const linkedGuardian = await signUp(app, 'guardian')
const otherGuardian = await signUp(app, 'guardian')
const outsider = await signUp(app, 'outsider')
const teamId = await createTeam(app, coach)
await createTeam(app, outsider, 'Other team')
await join(app, smtp, coach, teamId, staff, 'staff')
await join(app, smtp, coach, teamId, linkedGuardian, 'guardian')
await join(app, smtp, coach, teamId, otherGuardian, 'guardian')
const playerId = await addPlayer(app, coach, teamId, { display_name: 'Mia', birth_year: 2014, position: 'midfielder' })
const linked = await app.inject({ method: 'PUT', url: `/api/teams/${teamId}/players/${playerId}/guardians/${linkedGuardian.id}`, headers: { authorization: coach.authorization } })
if (linked.statusCode !== 204) throw new Error(`linking answered ${linked.statusCode}`)

// A user id that is no member: operations on a member or link then change nothing, and a stale
// If-Match stops every allowed change after the access check, so the walk leaves the team as it is.
const params: Record<string, string> = { team_id: teamId, player_id: playerId, user_id: '00000000-0000-4000-8000-000000000000' }

function request (method: string, path: string, operation: Operation, account?: Account) {
  const json = operation.requestBody?.content['application/json']
  const body = json?.example ?? json?.schema.examples?.[0]
  return app.inject({
    method,
    url: path.replace(/\{(\w+)\}/g, (_, name: string) => params[name]),
    headers: { ...(account === undefined ? {} : { authorization: account.authorization }), 'if-match': '"stale"' },
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> })
  })
}

const callers: Array<{ name: string, account: Account, role?: TeamRole, linked?: boolean }> = [
  { name: 'a non-member', account: outsider },
  { name: 'the coach', account: coach, role: 'coach' },
  { name: 'staff', account: staff, role: 'staff' },
  { name: 'a guardian linked to the player', account: linkedGuardian, role: 'guardian', linked: true },
  { name: 'a guardian not linked to the player', account: otherGuardian, role: 'guardian', linked: false }
]

t.test('every operation of the document, as a non-member and as each role, answers as the role table says', async (t) => {
  const teamOperations = operations.filter(({ path }) => path.startsWith('/api/teams/{team_id}'))
  t.ok(teamOperations.length >= 14, `${teamOperations.length} operations under a team`)
  for (const { method, path, operation } of operations) {
    const name = `${method} ${path} (${operation.operationId})`
    if ((operation.security ?? []).length === 0) {
      t.notOk(path.startsWith('/api/teams') || path.startsWith('/api/invitations'), `${name} is public, and not a team operation`)
      continue
    }
    t.equal((await request(method, path, operation)).statusCode, 401, `${name} without a token`)
    const rule = roleTable[operation.operationId]
    if (!path.startsWith('/api/teams/{team_id}')) {
      t.equal(rule, undefined, `${name} is not under a team`)
      // The accounts' own operations have rules of their own (a password to know, say).
      if (!/^\/api\/(teams|invitations)\b/.test(path)) continue
      for (const { name: caller, account } of callers) {
        const answer = await request(method, path, operation, account)
        t.notOk([401, 403, 404].includes(answer.statusCode), `${name} as ${caller}: any signed-in user (answered ${answer.statusCode})`)
      }
      continue
    }
    if (rule === undefined) {
      t.fail(`${name} is missing from the role table of this test: every team operation must be in it`)
      continue
    }
    for (const { name: caller, account, role, linked } of callers) {
      const answer = await request(method, path, operation, account)
      const where = `${name} as ${caller}`
      if (role === undefined) {
        t.same([answer.statusCode, answer.json().detail], [404, NO_TEAM], `${where}: 404, as for no team`)
      } else if (rule.roles.includes(role) && (role !== 'guardian' || rule.linkedGuardian !== true || linked === true)) {
        const refusedByAccess = answer.statusCode === 403 || answer.statusCode === 401 || (answer.statusCode === 404 && answer.json().detail === NO_TEAM)
        t.notOk(refusedByAccess, `${where}: allowed (answered ${answer.statusCode})`)
      } else {
        t.equal(answer.statusCode, 403, `${where}: 403`)
      }
    }
  }
})

t.test('the team is as it was: the walk changed nothing the role table forbids', async (t) => {
  const team = await app.inject({ method: 'GET', url: `/api/teams/${teamId}`, headers: { authorization: coach.authorization } })
  t.equal(team.json().name, 'U12 Falcons')
  const members = await app.inject({ method: 'GET', url: `/api/teams/${teamId}/members`, headers: { authorization: coach.authorization } })
  t.equal(members.json().items.length, 4)
})

t.test('a route with a :team_id parameter and no teamAccess stops the app from starting', async (t) => {
  await t.rejects(buildApp(t, testEnv(database), {
    extend: (fastify) => { fastify.get('/api/teams/:team_id/unchecked', async () => 'open') }
  }), /GET \/api\/teams\/:team_id\/unchecked has a :team_id parameter but no config.teamAccess/)
})
