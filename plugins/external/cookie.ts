import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'

/** Cookies, signed with SECRET_KEY: only the sign-in device cookie uses them. */
export default fp(async function cookies (fastify) {
  const secret = fastify.config.SECRET_KEY
  // The config plugin sets a random key when SECRET_KEY is unset outside production, and refuses to start without one in production.
  if (secret === undefined) throw new Error('SECRET_KEY is not set')
  await fastify.register(cookie, { secret })
}, { name: 'cookie', dependencies: ['config'] })
