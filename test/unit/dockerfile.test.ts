import { readFile } from 'node:fs/promises'
import { validate } from 'dockerfile-utils'
import t from 'tap'

// The image cannot be built here (no container daemon): a linter checks what a build would refuse.
// test/integration/container.test.ts runs what its runtime stage holds.
t.test('the Dockerfile lints clean', async (t) => {
  const content = await readFile(new URL('../../Dockerfile', import.meta.url), 'utf8')
  const problems = validate(content).map(({ range, message }) => `line ${range.start.line + 1}: ${message}`)
  t.same(problems, [])
})
