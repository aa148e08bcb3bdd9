/** One plain line on stderr: a start-up failure must be readable without a log viewer. */
export function exitBeforeStart (reason: string): never {
  process.stderr.write(`spinta-backend failed to start: ${reason}\n`)
  process.exit(1)
}
