/**
 * Loads `.env` from the working directory into process.env, without replacing variables the
 * environment already has. Imported first by each entry point, so every module sees the file's
 * values, including the logger and Fastify's own options (LOG_LEVEL, TRUST_PROXY), which are read
 * before the config.
 */
try {
  process.loadEnvFile()
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
}
