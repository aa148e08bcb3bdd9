import t from 'tap'
import { buildApp, startSharedDatabase } from '../helper.js'
import { startSmtpServer, tokenIn } from '../smtp.js'
import { keysetStatement } from '../../src/pagination/pagination.js'
import { rosterList } from '../../src/teams/players.js'
import { addPlayer, createTeam, invite as inviteBy, join, manySignIns, signUp, verifyEmail, type Account } from '../teams.js'

const smtp = await startSmtpServer(t)
const { admin, env } = await startSharedDatabase(t, { ...manySignIns, SMTP_URL: smtp.url, APP_URL: 'https://app.example.com/spinta', MAIL_RETRY_MIN_MS: '20', MAIL_RETRY_MAX_MS: '200' })
const app = await buildApp(t, env())

const as = (account: Account, headers: Record<string, string> = {}) => ({ authorization: account.authorization, ...headers })
const positions = ['goalkeeper', 'defender', 'midfielder', 'forward']

t.test('done when: 120 players paged 50 at a time while another coach inserts; 412, 428; 404 for outsiders; 403 for a guardian', async (t) => {
  const coach = await signUp(app, 'coach')
  const created = await app.inject({ method: 'POST', url: '/api/teams', headers: as(coach), payload: { name: 'U12 Falcons' } })
  t.equal(created.statusCode, 201)
  const teamId: string = created.json().id
  t.equal(created.headers.location, `/api/teams/${teamId}`)
  t.equal((await app.inject({ method: 'GET', url: created.headers.location, headers: as(coach) })).json().name, 'U12 Falcons')

  const players = `/api/teams/${teamId}/players`
  const original = new Set<string>()
  for (let batch = 0; batch < 12; batch++) {
    const ids = await Promise.all(Array.from({ length: 10 }, (_, index) => {
      const n = batch * 10 + index
      return addPlayer(app, coach, teamId, { display_name: `Player ${String(n).padStart(3, '0')}`, birth_year: 2013 + (n % 3), position: positions[n % 4], ...(n < 99 ? { shirt_number: n + 1 } : {}) })
    }))
    for (const id of ids) original.add(id)
  }
  t.equal(original.size, 120)

  const secondCoach = await signUp(app, 'second-coach')
  await join(app, smtp, coach, teamId, secondCoach, 'coach')

  const seen: string[] = []
  const inserted: string[] = []
  let url: string | undefined = `${players}?limit=50`
  let pages = 0
  while (url !== undefined) {
    const page = await app.inject({ method: 'GET', url, headers: as(coach) })
    t.equal(page.statusCode, 200)
    const { items, next_cursor: next } = page.json()
    pages += 1
    t.ok(items.length <= 50)
    seen.push(...items.map((item: { id: string }) => item.id))
    if (next === null) {
      t.notOk(page.headers.link, 'no Link on the last page')
      url = undefined
    } else {
      const link = /^<([^>]+)>; rel="next"$/.exec(String(page.headers.link))
      t.ok(link, 'Link: <...>; rel="next"')
      t.match(link?.[1], `cursor=${next}`)
      url = link?.[1]
      // Between pages the other coach adds a player before and one after the current position.
      for (const name of ['AAA early', 'zzz late']) {
        inserted.push(await addPlayer(app, secondCoach, teamId, { display_name: `${name} ${pages}`, birth_year: 2014, position: 'forward' }))
      }
    }
  }
  t.equal(new Set(seen).size, seen.length, 'no player is listed twice')
  t.same([...original].filter((id) => !seen.includes(id)), [], 'every player there from the start is listed')
  const late = inserted.filter((_, index) => index % 2 === 1)
  t.same(late.filter((id) => !seen.includes(id)), [], 'players inserted after the position are listed')
  t.ok(pages >= 3, `${pages} pages`)

  // Conditional changes.
  const [first] = [...original]
  const read = await app.inject({ method: 'GET', url: `${players}/${first}`, headers: as(coach) })
  const etag = String(read.headers.etag)
  t.match(etag, /^"[A-Za-z0-9_-]+"$/, 'a strong ETag')
  t.equal((await app.inject({ method: 'GET', url: `${players}/${first}`, headers: as(coach, { 'if-none-match': etag }) })).statusCode, 304)
  const missing = await app.inject({ method: 'PATCH', url: `${players}/${first}`, headers: as(coach), payload: { notes: 'fast' } })
  t.equal(missing.statusCode, 428)
  t.match(missing.headers['content-type'], /^application\/problem\+json/)
  const changed = await app.inject({ method: 'PATCH', url: `${players}/${first}`, headers: as(secondCoach, { 'if-match': etag, 'content-type': 'application/merge-patch+json' }), payload: JSON.stringify({ notes: 'fast' }) })
  t.equal(changed.statusCode, 200)
  t.equal(changed.json().notes, 'fast')
  t.not(changed.headers.etag, etag)
  const stale = await app.inject({ method: 'PATCH', url: `${players}/${first}`, headers: as(coach, { 'if-match': etag }), payload: { notes: 'slow' } })
  t.equal(stale.statusCode, 412, 'the first coach\'s stale change is refused: no lost update')
  t.equal((await app.inject({ method: 'DELETE', url: `${players}/${first}`, headers: as(coach, { 'if-match': etag }) })).statusCode, 412)
  t.equal((await app.inject({ method: 'DELETE', url: `${players}/${first}`, headers: as(coach) })).statusCode, 428)

  // Another team's user sees nothing of this team.
  const outsider = await signUp(app, 'outsider')
  await createTeam(app, outsider, 'Other team')
  for (const [method, path] of [['GET', `/api/teams/${teamId}`], ['GET', players], ['GET', `${players}/${first}`], ['PATCH', `${players}/${first}`], ['DELETE', `/api/teams/${teamId}`]] as const) {
    const answer = await app.inject({ method, url: path, headers: as(outsider, { 'if-match': '*' }), ...(method === 'PATCH' ? { payload: { notes: 'x' } } : {}) })
    t.equal(answer.statusCode, 404, `${method} ${path} as another team's user`)
    t.equal(answer.json().detail, 'There is no team with this id')
  }
  const unknown = await app.inject({ method: 'GET', url: '/api/teams/00000000-0000-4000-8000-000000000000', headers: as(outsider) })
  t.same([unknown.statusCode, unknown.json().detail], [404, 'There is no team with this id'], 'the same answer as for a team that does not exist')

  // A guardian cannot change the roster.
  const guardian = await signUp(app, 'guardian')
  await join(app, smtp, coach, teamId, guardian, 'guardian')
  const refused = await app.inject({ method: 'POST', url: players, headers: as(guardian), payload: { display_name: 'New', birth_year: 2014, position: 'defender' } })
  t.equal(refused.statusCode, 403)
  t.match(refused.headers['content-type'], /^application\/problem\+json/)
  t.equal((await app.inject({ method: 'GET', url: players, headers: as(guardian) })).statusCode, 200, 'but reads the roster')
})

t.test('shirt numbers are unique within a team, with a 409 naming the number', async (t) => {
  const coach = await signUp(app, 'coach')
  const teamId = await createTeam(app, coach)
  const otherTeam = await createTeam(app, coach, 'U14')
  const player = { display_name: 'Mia', birth_year: 2014, position: 'midfielder', shirt_number: 8 }
  const id = await addPlayer(app, coach, teamId, player)
  const taken = await app.inject({ method: 'POST', url: `/api/teams/${teamId}/players`, headers: as(coach), payload: { ...player, display_name: 'Zoe' } })
  t.equal(taken.statusCode, 409)
  t.equal(taken.json().detail, 'Shirt number 8 is already worn by another player of this team')
  await addPlayer(app, coach, otherTeam, player)
  const second = await addPlayer(app, coach, teamId, { ...player, display_name: 'Zoe', shirt_number: 9 })
  const etag = String((await app.inject({ method: 'GET', url: `/api/teams/${teamId}/players/${second}`, headers: as(coach) })).headers.etag)
  const clash = await app.inject({ method: 'PATCH', url: `/api/teams/${teamId}/players/${second}`, headers: as(coach, { 'if-match': etag }), payload: { shirt_number: 8 } })
  t.same([clash.statusCode, clash.json().detail], [409, 'Shirt number 8 is already worn by another player of this team'])
  // Merge patch: null removes an optional member, and frees the number.
  const freed = await app.inject({ method: 'PATCH', url: `/api/teams/${teamId}/players/${id}`, headers: as(coach, { 'if-match': '*', 'content-type': 'application/merge-patch+json' }), payload: JSON.stringify({ shirt_number: null }) })
  t.equal(freed.json().shirt_number, null)
  const taken8 = await app.inject({ method: 'PATCH', url: `/api/teams/${teamId}/players/${second}`, headers: as(coach, { 'if-match': etag }), payload: { shirt_number: 8 } })
  t.equal(taken8.json().shirt_number, 8)
  const invalid = await app.inject({ method: 'PATCH', url: `/api/teams/${teamId}/players/${second}`, headers: as(coach, { 'if-match': '*', 'content-type': 'application/merge-patch+json' }), payload: JSON.stringify({ display_name: null }) })
  t.equal(invalid.statusCode, 400, 'removing a required member is refused')
  const range = await app.inject({ method: 'PATCH', url: `/api/teams/${teamId}/players/${second}`, headers: as(coach, { 'if-match': '*' }), payload: { shirt_number: 100 } })
  t.equal(range.statusCode, 400)
  t.match(range.json().errors, [{ path: '/body/shirt_number' }])
})

t.test('lists: limit bounds, bad cursors, sort and filter, and EXPLAIN shows the index', async (t) => {
  const coach = await signUp(app, 'coach')
  const teamId = await createTeam(app, coach)
  for (let n = 0; n < 7; n++) await addPlayer(app, coach, teamId, { display_name: `P${n}`, birth_year: 2014, position: positions[n % 2] })
  const list = (query: string) => app.inject({ method: 'GET', url: `/api/teams/${teamId}/players?${query}`, headers: as(coach) })
  for (const limit of ['0', '101', 'x']) t.equal((await list(`limit=${limit}`)).statusCode, 400, `limit=${limit}`)
  t.equal((await list('limit=100')).json().items.length, 7)
  t.equal((await list('')).json().next_cursor, null, 'default limit 50 holds all 7')
  t.equal((await list('cursor=bm90IGEgY3Vyc29y')).statusCode, 400, 'a cursor the list did not give')
  const byName = (await list('limit=3&sort=display_name')).json()
  t.equal((await list(`sort=-display_name&cursor=${byName.next_cursor}`)).statusCode, 400, 'a cursor of another order')
  t.same((await list('sort=-display_name')).json().items.map((item: { display_name: string }) => item.display_name), ['P6', 'P5', 'P4', 'P3', 'P2', 'P1', 'P0'])
  const descending: string[] = []
  for (let cursor = ''; ;) {
    const page = (await list(`limit=2&sort=-display_name${cursor}`)).json()
    descending.push(...page.items.map((item: { display_name: string }) => item.display_name))
    if (page.next_cursor === null) break
    cursor = `&cursor=${page.next_cursor}`
  }
  t.same(descending, ['P6', 'P5', 'P4', 'P3', 'P2', 'P1', 'P0'], 'descending pages')
  t.same((await list('position=goalkeeper')).json().items.map((item: { display_name: string }) => item.display_name), ['P0', 'P2', 'P4', 'P6'])
  t.equal((await list('position=keeper')).statusCode, 400)
  t.equal((await list('unknown=1')).statusCode, 400)

  // With many teams' rows and fresh statistics the planner can choose freely; it must use the keyset index.
  await admin.query(`INSERT INTO players (team_id, display_name, birth_year, position, created_at)
    SELECT t.id, 'Bulk ' || n, 2014, 'defender', now() - make_interval(mins => n) FROM teams t, generate_series(1, 2000) n`)
  await admin.query('ANALYZE players')
  // The very statement the roster's second page runs, for each sort, up and down.
  for (const [sort, index] of [['display_name', 'players_team_display_name_idx'], ['-display_name', 'players_team_display_name_idx'], ['created_at', 'players_team_created_at_idx'], ['-created_at', 'players_team_created_at_idx']]) {
    const { next_cursor: cursor } = (await list(`limit=50&sort=${sort}`)).json()
    const { text, values } = keysetStatement(rosterList(teamId, {}), { limit: 50, sort, cursor })
    const { rows } = await admin.query(`EXPLAIN ${text}`, values)
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n')
    t.match(plan, new RegExp(`Index Scan( Backward)? using ${index}`), `${sort}: read by its index`)
    t.notMatch(plan, /Sort|Seq Scan|Bitmap/, `${sort}: no sort, no sequential or bitmap scan`)
  }
})

t.test('guardians read and correct only the players linked to them; every such read and change is audited', async (t) => {
  const coach = await signUp(app, 'coach')
  const staff = await signUp(app, 'staff')
  const guardian = await signUp(app, 'guardian')
  const teamId = await createTeam(app, coach)
  await join(app, smtp, coach, teamId, staff, 'staff')
  await join(app, smtp, coach, teamId, guardian, 'guardian')
  const mine = await addPlayer(app, staff, teamId, { display_name: 'Mine', birth_year: 2014, position: 'defender' })
  const other = await addPlayer(app, coach, teamId, { display_name: 'Other', birth_year: 2014, position: 'defender' })
  const player = (id: string) => `/api/teams/${teamId}/players/${id}`

  t.equal((await app.inject({ method: 'GET', url: player(mine), headers: as(guardian) })).statusCode, 403, 'not linked yet')
  t.equal((await app.inject({ method: 'PUT', url: `${player(mine)}/guardians/${staff.id}`, headers: as(coach) })).statusCode, 409, 'only guardians are linked')
  t.equal((await app.inject({ method: 'PUT', url: `${player(mine)}/guardians/${guardian.id}`, headers: as(staff) })).statusCode, 403, 'staff do not link')
  t.equal((await app.inject({ method: 'PUT', url: `${player(mine)}/guardians/${guardian.id}`, headers: as(coach) })).statusCode, 204)
  const read = await app.inject({ method: 'GET', url: player(mine), headers: as(guardian) })
  t.equal(read.statusCode, 200)
  const corrected = await app.inject({ method: 'PATCH', url: player(mine), headers: as(guardian, { 'if-match': String(read.headers.etag) }), payload: { birth_year: 2015 } })
  t.equal(corrected.json().birth_year, 2015)
  t.equal((await app.inject({ method: 'GET', url: player(other), headers: as(guardian) })).statusCode, 403)
  t.equal((await app.inject({ method: 'PATCH', url: player(other), headers: as(guardian, { 'if-match': '*' }), payload: { notes: 'x' } })).statusCode, 403)
  t.equal((await app.inject({ method: 'DELETE', url: player(mine), headers: as(guardian, { 'if-match': '*' }) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: player(other), headers: as(staff) })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: player(other), headers: as(coach) })).statusCode, 200, 'a coach\'s read is not audited')

  const members = (await app.inject({ method: 'GET', url: `/api/teams/${teamId}/members`, headers: as(coach) })).json().items
  t.same(members.map((member: { role: string, player_ids: string[] }) => [member.role, member.player_ids]), [['coach', []], ['staff', []], ['guardian', [mine]]])
  t.equal((await app.inject({ method: 'GET', url: `/api/teams/${teamId}/members`, headers: as(guardian) })).statusCode, 403)

  const audit = await app.inject({ method: 'GET', url: `/api/teams/${teamId}/audit?sort=at`, headers: as(coach) })
  t.equal(audit.statusCode, 200)
  t.match(audit.json().items, [
    { actor_id: staff.id, action: 'player.create', subject_id: mine, fields: ['birth_year', 'display_name', 'position'] },
    { actor_id: coach.id, action: 'player.create', subject_id: other },
    { actor_id: guardian.id, action: 'player.read', subject_id: mine, fields: [] },
    { actor_id: guardian.id, action: 'player.update', subject_id: mine, fields: ['birth_year'] },
    { actor_id: staff.id, action: 'player.read', subject_id: other }
  ])
  t.equal(audit.json().items.length, 5)
  t.equal((await app.inject({ method: 'GET', url: `/api/teams/${teamId}/audit`, headers: as(staff) })).statusCode, 403)
  const newest = (await app.inject({ method: 'GET', url: `/api/teams/${teamId}/audit?limit=1`, headers: as(coach) })).json()
  t.equal(newest.items[0].action, 'player.read', 'newest first by default')

  await t.rejects(admin.query('UPDATE team_audit SET action = $1', ['nothing']), /append-only/)
  await t.rejects(admin.query('DELETE FROM team_audit'), /append-only/)
  await t.rejects(admin.query('TRUNCATE team_audit'), /append-only/)

  const { teamDataOfUser } = await import('../../src/teams/export.js')
  const exported = await teamDataOfUser((text, values) => admin.query(text, values), guardian.id)
  t.match(exported.memberships, [{ team_id: teamId, role: 'guardian', player_ids: [mine] }])
  t.same(exported.audit.map((entry) => entry.action), ['player.read', 'player.update'])
})

t.test('invitations: 202 for any address, a token that works once for its address, and the last coach stays', async (t) => {
  const coach = await signUp(app, 'coach')
  const teamId = await createTeam(app, coach)
  const invite = (email: string, role = 'staff') => app.inject({ method: 'POST', url: `/api/teams/${teamId}/invitations`, headers: as(coach), payload: { email, role } })
  t.equal((await invite('nobody.yet@example.com')).statusCode, 202, 'an address without an account')

  const invitee = await signUp(app, 'invitee')
  const inviteeVerification = tokenIn(await smtp.nextMail(invitee.email))
  const stranger = await signUp(app, 'stranger')
  await verifyEmail(app, smtp, stranger)
  t.equal((await invite(invitee.email)).statusCode, 202)
  const mail = await smtp.nextMail(invitee.email)
  t.match(mail.subject, /invites you to U12 Falcons/)
  t.match(mail.html, /U12 Falcons/)
  const token = tokenIn(mail)
  t.match(mail.text, `https://app.example.com/spinta/accept-invitation?token=${token}`, 'a link to the front end')
  t.equal(Buffer.from(token, 'base64url').length, 32, '256 random bits')
  const { rows } = await admin.query('SELECT encode(token_hash, \'hex\') AS hash FROM team_invitations WHERE email = $1', [invitee.email])
  t.not(rows[0].hash, Buffer.from(token).toString('hex'), 'stored as a hash')

  const accept = (account: Account, value = token) => app.inject({ method: 'POST', url: '/api/invitations/accept', headers: as(account), payload: { token: value } })
  t.equal((await accept(stranger)).statusCode, 403, 'another account cannot use it')
  const unverified = await accept(invitee)
  t.same([unverified.statusCode, unverified.json().detail], [403, 'Verify your email address first (POST /api/auth/verify-email with the token from its mail), then accept the invitation'],
    'its own account cannot either, before verifying its address')
  t.equal((await app.inject({ method: 'GET', url: `/api/teams/${teamId}`, headers: as(invitee) })).statusCode, 404, 'and is not a member')
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: { token: inviteeVerification } })).statusCode, 204, 'the link of its verification mail')
  const accepted = await accept(invitee)
  t.equal(accepted.statusCode, 200)
  t.match(accepted.json(), { id: teamId, role: 'staff' })
  t.equal((await accept(invitee)).statusCode, 400, 'single use')
  t.equal((await accept(invitee, await inviteBy(app, smtp, coach, teamId, invitee.email, 'staff'))).statusCode, 409, 'already a member')

  const expiredToken = await inviteBy(app, smtp, coach, teamId, stranger.email, 'guardian')
  await admin.query('UPDATE team_invitations SET expires_at = now() - interval \'1 second\' WHERE email = $1', [stranger.email])
  t.equal((await accept(stranger, expiredToken)).statusCode, 400, 'expired')

  const lastCoach = await app.inject({ method: 'DELETE', url: `/api/teams/${teamId}/members/${coach.id}`, headers: as(coach) })
  t.same([lastCoach.statusCode, lastCoach.json().detail], [409, 'The last coach cannot leave the team: invite another coach first, or delete the team'])
  t.equal((await app.inject({ method: 'DELETE', url: `/api/teams/${teamId}/members/${coach.id}`, headers: as(invitee) })).statusCode, 403, 'staff cannot remove the coach')
  t.equal((await app.inject({ method: 'DELETE', url: `/api/teams/${teamId}/members/${invitee.id}`, headers: as(invitee) })).statusCode, 204, 'a member may leave')
  t.equal((await app.inject({ method: 'GET', url: `/api/teams/${teamId}`, headers: as(invitee) })).statusCode, 404, 'and is then an outsider')
})

t.test('teams: the caller\'s own, paged; rename and delete need the current ETag', async (t) => {
  const coach = await signUp(app, 'coach')
  const ids = []
  for (const name of ['C', 'A', 'B']) ids.push(await createTeam(app, coach, name))
  const other = await signUp(app, 'other')
  await createTeam(app, other, 'Not mine')
  const page = await app.inject({ method: 'GET', url: '/api/teams?limit=2', headers: as(coach) })
  t.same(page.json().items.map((team: { name: string, role: string }) => [team.name, team.role]), [['A', 'coach'], ['B', 'coach']])
  const rest = await app.inject({ method: 'GET', url: `/api/teams?limit=2&cursor=${page.json().next_cursor}`, headers: as(coach) })
  t.same(rest.json(), { items: [{ ...rest.json().items[0], name: 'C' }], next_cursor: null })

  const team = `/api/teams/${ids[0]}`
  const etag = String((await app.inject({ method: 'GET', url: team, headers: as(coach) })).headers.etag)
  const renamed = await app.inject({ method: 'PATCH', url: team, headers: as(coach, { 'if-match': etag, 'content-type': 'application/merge-patch+json' }), payload: '{"name":"C2"}' })
  t.same([renamed.statusCode, renamed.json().name], [200, 'C2'])
  t.equal((await app.inject({ method: 'DELETE', url: team, headers: as(coach, { 'if-match': etag }) })).statusCode, 412)
  t.equal((await app.inject({ method: 'DELETE', url: team, headers: as(coach, { 'if-match': String(renamed.headers.etag) }) })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: team, headers: as(coach) })).statusCode, 404)
})
