import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'

/** Cookies, signed with SECRET_KEY: only the sign-in device cookie uses them. */
export default fp(async function cookies (fastify) {
  const secret = fastify.config.SECRET_KEY
  // The config plugin sets a random key when SECRET_KEY is unset outside production, and refuses to start without one in production.
  if (secret === undefined) throw new Error('SECRET_KEY is not set')
  // Parsed where read (fastify.parseCookie), not by a hook on every request: one route reads one.
  await fastify.register(cookie, { secret, hook: false })
}, { name: 'cookie', dependencies: ['config'] })
