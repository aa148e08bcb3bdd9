/** A Content-Security-Policy header as directive → sources, whatever its spacing. */
export function cspDirectives (header: unknown): Record<string, string[]> {
  return Object.fromEntries(String(header).split(';').map((part) => part.trim().split(/\s+/)).filter(([name]) => name)
    .map(([name, ...sources]) => [name, sources]))
}
