import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

export default neostandard({
  ts: true,
  // Whatever git ignores (build output, test artifacts, data) plus the vendored ReDoc bundle.
  ignores: [...resolveIgnoresFromGitignore(), 'vendor/**']
})
