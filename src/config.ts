import { type Config, readConfig } from './config/index.js'
import type { Env } from './config/read.js'
import { withDevelopmentKeys } from './keys/development.js'

// What the entry points (server, CLI, benches) and the tests start from, in one import.
export type { Config } from './config/index.js'
export { ConfigError } from './config/read.js'

/**
 * The configuration an entry point runs on: the environment read and checked section by section
 * (src/config/, which writes nothing), then, outside production, the keys nobody configured,
 * generated once into DATA_DIR (src/keys/development.ts).
 */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  return withDevelopmentKeys(readConfig(env, overrides))
}
