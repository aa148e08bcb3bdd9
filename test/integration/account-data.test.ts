import t from 'tap'
import { buildApp, startSharedDatabase } from '../helper.js'
import { bearer, newAccount, refresh, signedIn, signIn } from '../accounts.js'
import { startSmtpServer } from '../smtp.js'
import { exportedTables } from '../../src/accounts/export.js'
import { TEAM_TABLES_EXPORTED } from '../../src/teams/export.js'
import { emailKey } from '../../src/accounts/email-key.js'
import { ACCOUNT_COUNT_NAMES, accountDigest } from '../../src/rate-limits/counts.js'

const smtp = await startSmtpServer(t)
const { admin, env } = await startSharedDatabase(t, { SMTP_URL: smtp.url, MAIL_RETRY_MIN_MS: '20', MAIL_RETRY_MAX_MS: '200' })

/**
 * The rate-limit counts that belong to the account of `email`: its guessing limits and known
 * clients (the per-address mail limit protects the address, not the account, and stays).
 */
async function countsOf (email: string): Promise<number> {
  const { rows } = await admin.query("SELECT count(*)::int AS n FROM rate_limits WHERE split_part(key, ' ', 2) = $1 AND split_part(key, ' ', 1) = ANY($2)",
    [accountDigest(emailKey(email)), ACCOUNT_COUNT_NAMES])
  return rows[0].n
}

const deleteMe = (app: Awaited<ReturnType<typeof buildApp>>, accessToken: string, password: string) =>
  app.inject({ method: 'DELETE', url: '/api/users/me', headers: bearer(accessToken), payload: { password } })

/**
 * Every column that holds a user's id: those with a foreign key to users, and those named user_id
 * (with or without one), by table; users itself by its id.
 */
async function columnsWithUserIds (): Promise<Array<{ table: string, column: string }>> {
  const { rows } = await admin.query<{ table: string, column: string }>(`
    SELECT DISTINCT kcu.table_name AS table, kcu.column_name AS column FROM information_schema.referential_constraints rc
      JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name AND kcu.constraint_schema = rc.constraint_schema
      JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.unique_constraint_name AND ccu.constraint_schema = rc.unique_constraint_schema
     WHERE ccu.table_name = 'users' AND ccu.column_name = 'id' AND kcu.table_schema = 'public'
    UNION
    SELECT table_name, column_name FROM information_schema.columns WHERE column_name = 'user_id' AND table_schema = 'public'
    UNION SELECT 'users', 'id'`)
  return rows.sort((a, b) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`))
}

t.test('every table that refers to users is in the export: a new one must be added to src/accounts/export.ts (or, for teams, src/teams/export.ts)', async (t) => {
  const tables = [...new Set((await columnsWithUserIds()).map(({ table }) => table))]
  for (const expected of ['sessions', 'email_tokens', 'mail_outbox', 'team_members', 'team_invitations']) t.ok(tables.includes(expected), `the query finds ${expected}`)
  for (const table of tables) t.ok(table in exportedTables || TEAM_TABLES_EXPORTED.includes(table), `${table} is exported`)
})

t.test('the export holds the account and its sign-ins, and no password or token hash', async (t) => {
  const app = await buildApp(t, env())
  const user = await signedIn(app)
  const second = (await signIn(app, user.email, user.password)).json()
  const exported = await app.inject({ method: 'GET', url: '/api/users/me/export', headers: bearer(second.access_token) })
  t.equal(exported.statusCode, 200)
  t.equal(exported.headers['cache-control'], 'no-store')
  t.match(exported.headers['content-disposition'], /^attachment/)
  const { exported_at: exportedAt, data } = exported.json()
  t.ok(Date.parse(exportedAt) > 0)
  t.same(Object.keys(data).sort(), Object.keys(exportedTables).sort(), 'one entry per table')
  t.match(data.users, [{ id: user.id, email: user.email, full_name: user.full_name, email_verified_at: null }])
  t.equal(data.sessions.length, 2, 'both sign-ins')
  t.equal(data.refresh_tokens.length, 2)
  t.match(data.email_tokens, [{ purpose: 'verify-email' }], 'the verification link not yet used, without its token')
  const text = exported.body
  for (const secret of ['password_hash', 'token_hash', 'text_body', 'html_body', user.password, user.refresh_token]) t.notOk(text.includes(secret), 'no secret')
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me/export' })).statusCode, 401)
})

t.test('DELETE /api/users/me with the password removes the account and everything of it; a wrong password changes nothing', async (t) => {
  const app = await buildApp(t, env())
  const user = await signedIn(app)
  const other = await signedIn(app)

  const wrong = await deleteMe(app, user.access_token, 'not the password')
  t.equal(wrong.statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(user.access_token) })).statusCode, 200, 'a refused deletion deletes nothing')
  t.equal((await app.inject({ method: 'DELETE', url: '/api/users/me', headers: bearer(user.access_token), payload: {} })).statusCode, 400)

  t.ok(await countsOf(user.email) > 0, 'signing in made the account known counts (its device and address)')
  t.equal((await deleteMe(app, user.access_token, user.password)).statusCode, 204)
  t.equal(await countsOf(user.email), 0, 'its counts went with it')
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(user.access_token) })).statusCode, 401, 'its access token no longer works')
  t.equal((await refresh(app, user.refresh_token)).statusCode, 400, 'nor its refresh token')
  t.match((await signIn(app, user.email, user.password)).json(), { error: 'invalid_grant' }, 'nor its password')
  for (const { table, column } of await columnsWithUserIds()) {
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [user.id])
    t.equal(rows[0].n, 0, `nothing of it is left in ${table}.${column}`)
  }
  const { rows } = await admin.query('SELECT count(*)::int AS n FROM refresh_tokens')
  t.ok(rows[0].n >= 1, 'other accounts keep theirs')
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(other.access_token) })).statusCode, 200)

  // Its verification mail may have gone out before the deletion, or been deleted with the account.
  let goodbye = await smtp.nextMail(user.email)
  if (goodbye.subject === 'Confirm your email address for Spinta') goodbye = await smtp.nextMail(user.email)
  t.equal(goodbye.subject, 'Your Spinta account was deleted', 'a last mail says so')
  t.equal((await deleteMe(app, other.access_token, other.password)).statusCode, 204)
})

t.test('deletion takes the teams the account alone is in; the last coach of a team with other members gets 409', async (t) => {
  const app = await buildApp(t, env())
  const coach = await signedIn(app)
  const member = await signedIn(app)
  const createTeam = async (name: string) => (await app.inject({ method: 'POST', url: '/api/teams', headers: bearer(coach.access_token), payload: { name } })).json().id as string
  const alone = await createTeam('Alone FC')
  const player = await app.inject({ method: 'POST', url: `/api/teams/${alone}/players`, headers: bearer(coach.access_token), payload: { display_name: 'Mia', birth_year: 2014, position: 'midfielder' } })
  t.equal(player.statusCode, 201)
  const shared = await createTeam('Shared FC')
  // Test setup: a second member written directly (the invitation flow has its own tests).
  await admin.query("INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'staff')", [shared, member.id])

  const refused = await deleteMe(app, coach.access_token, coach.password)
  t.same([refused.statusCode, refused.json().detail], [409, 'You are the last coach of Shared FC: make another member coach, or delete the team, first'])
  await admin.query("UPDATE team_members SET role = 'coach' WHERE team_id = $1 AND user_id = $2", [shared, member.id])
  t.equal((await deleteMe(app, coach.access_token, coach.password)).statusCode, 204)
  const { rows } = await admin.query(
    'SELECT (SELECT count(*)::int FROM teams WHERE id = $1) AS alone, (SELECT count(*)::int FROM players WHERE team_id = $1) AS players, (SELECT count(*)::int FROM teams WHERE id = $2) AS shared',
    [alone, shared])
  t.same(rows[0], { alone: 0, players: 0, shared: 1 }, 'the team it alone was in went, with its player; the other stays with its members')
})

t.test('deletion attempts share the current-password limit with password changes', async (t) => {
  const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '2' }))
  const user = await signedIn(app, newAccount('limited'))
  t.equal((await deleteMe(app, user.access_token, 'guess 1')).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/api/users/me/password', headers: bearer(user.access_token), payload: { current_password: 'guess 2', new_password: 'a new long password' } })).statusCode, 403)
  const limited = await deleteMe(app, user.access_token, user.password)
  t.equal(limited.statusCode, 429)
  t.match(limited.json().detail, /^Too many attempts at the current password of this account/)
})
