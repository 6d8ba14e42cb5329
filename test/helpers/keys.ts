import { commands } from '../../src/cli/commands.js'
import type { TestApp } from './backends.js'

/** Runs `rotate-key --signs-in 0` inside the app, as the CLI does through a running server; its printed lines. */
export async function rotateKeyNow(app: TestApp, algorithm?: string): Promise<string[]> {
  const printed: string[] = []
  await commands['rotate-key']?.run(
    { 'signs-in': '0', ...(algorithm && { algorithm }) },
    {
      config: app.config,
      repos: app.app.repos,
      revocations: app.app.revocations,
      hasher: app.app.hasher,
      store: app.store,
      where: 'test',
      inServer: true,
      keyring: app.app.keyring,
      print: (line) => printed.push(line),
    },
  )
  return printed
}
