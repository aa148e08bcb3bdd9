import { AjvCompiler, type ValidatorCompiler, type ValidatorFactory } from '@fastify/ajv-compiler'

/** One pool of Ajv instances, by external schemas and options, as Fastify's default keeps. */
const compilerFromPool = AjvCompiler()

type Validate = ReturnType<ValidatorCompiler>

/**
 * Fastify's own validator compiler (Ajv), compiling a route's validator the first time a request
 * needs it rather than every route's as the server starts: start-up is what an autoscaler waits
 * for, and a route pays its compilation once, on its first request. The tests send every
 * route a request, so a schema Ajv cannot compile fails the suite rather than a client.
 */
export const buildValidatorOnFirstUse: ValidatorFactory = (externalSchemas, options) => {
  // The Ajv instance too is made when the first validator is compiled.
  let compile: ReturnType<typeof compilerFromPool> | undefined
  return (route) => {
    let validate: Validate | undefined
    const validateOnFirstUse = Object.assign((data: unknown) => {
      compile ??= compilerFromPool(externalSchemas, options)
      validate ??= compile(route)
      const result = validate(data)
      // Fastify reads a failed validation's errors from the function it called.
      validateOnFirstUse.errors = (validate as { errors?: unknown }).errors
      return result
    }, { errors: undefined as unknown })
    return validateOnFirstUse as Validate
  }
}
