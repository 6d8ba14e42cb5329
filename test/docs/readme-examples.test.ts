import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { generatePrivateKey } from '../../src/keys/material.js'
import type { RedisRevocationStore } from '../../src/revocation/redis-store.js'
import { makeApp, probeRealServers, REDIS_URL } from '../helpers/backends.js'
import { childEnv, root, startServer } from '../helpers/server-process.js'
import { linkToken, startInbox } from '../helpers/smtp.js'
import { codeAt } from '../../src/mfa/totp.js'

t.setTimeout(240_000)

/** The README's examples, by the name in the `<!-- example: name -->` line before each. */
async function examples(): Promise<Record<string, string>> {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const found: Record<string, string> = {}
  for (const [, name, code] of readme.matchAll(/<!-- example: ([\w-]+) -->\n```\w+\n([\s\S]*?)```/g)) {
    found[name as string] = code as string
  }
  return found
}

function run(command: string, args: string[], options: { cwd: string; env: Record<string, string> }) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { ...options, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) || 1 : 0, stdout, stderr }),
    )
  })
}

/** A TypeScript example as a file inside the package (so `authjwt/...` resolves to this package). */
async function exampleFile(t: Test, name: string, code: string): Promise<string> {
  const dir = await mkdtemp(join(root, 'test', '.example-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, `${name}.mts`)
  await writeFile(file, code)
  return file
}

/** Node running an example from source: the `authjwt-source` condition maps the package's exports to src/. */
const fromSource = (file: string) => ['--conditions=authjwt-source', '--import', 'tsx', file]

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

t.test('README: keys, rotation and the client, as an operator and an app would run them', async (t) => {
  const code = await examples()
  t.ok(code.keys && code.rotate && code.client && code.kit, 'the README has each example')
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-readme-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))

  // keys: every line up to `npm start` in a shell, then the server started as `npm start` starts it.
  const lines = (code.keys ?? '').trim().split('\n')
  t.equal(lines.at(-1), 'npm start', 'the example ends by starting the service')
  const shell = await run('bash', ['-c', `set -e\n${lines.slice(0, -1).join('\n')}\nenv`], {
    cwd: dir,
    env: childEnv({}),
  })
  t.equal(shell.code, 0, `the key is made ${shell.stderr}`)
  const exported = Object.fromEntries(
    shell.stdout.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  )
  const keyEnv = {
    JWT_ALGORITHM: exported.JWT_ALGORITHM ?? '',
    JWT_PRIVATE_KEY_FILE: exported.JWT_PRIVATE_KEY_FILE ?? '',
  }
  t.same(keyEnv.JWT_ALGORITHM, 'EdDSA')
  const server = await startServer(t, {
    ...keyEnv,
    DATA_DIR: join(dir, 'data'),
    ADMIN_USERNAME: 'alice',
    ADMIN_PASSWORD: 'alice-password',
  })

  // rotate: the same shell lines against the running server (its port instead of 8000).
  const rotate = (code.rotate ?? '').replaceAll('http://127.0.0.1:8000', server.base)
  const rotated = await run('bash', ['-c', `set -e\n${rotate}`], {
    cwd: root,
    env: childEnv({ ...keyEnv, DATA_DIR: join(dir, 'data') }),
  })
  t.equal(rotated.code, 0, `rotate example runs ${rotated.stderr}`)
  const jwks = JSON.parse(rotated.stdout.slice(0, rotated.stdout.indexOf('\n')))
  t.match(
    jwks.keys,
    [{ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: String }],
    'curl shows the public key',
  )
  t.match(
    rotated.stdout,
    /New EdDSA key \S+ \(embedded PGlite, through the running server\): in this server's key set \(JWKS\) now, in every other instance's within 10 s \(KEYS_POLL_SECONDS\); signs from/,
  )
  const after = await fetch(`${server.base}/.well-known/jwks.json`).then((r) => r.json())
  t.equal(after.keys.length, 2, 'the new key is published at once, beside the old one')

  // client: the TypeScript example, importing `authjwt/client`.
  const file = await exampleFile(t, 'client', code.client ?? '')
  const client = await run(process.execPath, fromSource(file), {
    cwd: root,
    env: childEnv({ AUTH_URL: server.base }),
  })
  t.equal(client.code, 0, `client example runs ${client.stderr}`)
  t.same(client.stdout.trim().split('\n'), ['new tokens', 'logged in as alice, 1 session(s)', 'logged out'])
})

t.test('README: the Quick start logs in, calls a protected route, lists sessions, logs out', async (t) => {
  const code = await examples()
  t.ok(code.quickstart, 'the README has the Quick start example')
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-readme-quickstart-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const server = await startServer(t, {
    DATA_DIR: dir,
    ADMIN_USERNAME: 'admin',
    ADMIN_PASSWORD: 'a quick start password',
  })
  const script = (code.quickstart ?? '')
    .replaceAll('localhost:8000', server.base.replace(/^http:\/\//, ''))
    .replaceAll('<password>', 'a quick start password')
  const out = await run('bash', ['-c', `set -e\n${script}`], { cwd: dir, env: childEnv({}) })
  t.equal(out.code, 0, `the example runs ${out.stderr}`)
  const [me, sessions, logout, after] = out.stdout
    .replace(/}(?=[[{])/g, '}\n')
    .replace(/](?=[[{])/g, ']\n')
    .split('\n')
    .map((line) => JSON.parse(line))
  t.match(me, { username: 'admin', is_superuser: true }, 'the protected call answers who is logged in')
  t.match(sessions, [{ client_type: 'website', device_name: 'my laptop', is_current: true }], 'one session')
  t.match(logout, { message: 'Logout successful' })
  t.match(after, { code: 'token_revoked' }, 'after the logout the access token is refused')
})

t.test('README: the resource-server kit honours a logout on ours at the next request', async (t) => {
  const { pg, redis } = await probeRealServers()
  if (pg || redis) {
    t.fail(`the kit example needs PostgreSQL and Redis: ${[pg, redis].filter(Boolean).join('; ')}`)
    return
  }
  const code = await examples()
  const ours = await makeApp(t, 'real', {
    jwtAlgorithm: 'ES256',
    privateKey: generatePrivateKey('ES256'),
    signingKey: '',
  })
  const base = await ours.app.listen({ port: 0, host: '127.0.0.1' })
  const port = await freePort()
  const file = await exampleFile(t, 'kit', code.kit ?? '')
  const child: ChildProcess = spawn(process.execPath, fromSource(file), {
    cwd: root,
    env: childEnv({
      AUTH_URL: base,
      REDIS_URL,
      REDIS_PREFIX: (ours.store as RedisRevocationStore).prefix,
      PORT: String(port),
    }),
    stdio: 'inherit',
  })
  t.teardown(() => child.kill('SIGKILL'))
  const orders = (access: string) =>
    fetch(`http://localhost:${port}/orders`, { headers: { authorization: `Bearer ${access}` } })
  const user = await ours.createUser()
  const { access, refresh } = await ours.login(user.username, user.password)
  let first: Response | undefined
  for (let i = 0; i < 150 && !first; i++) {
    first = await orders(access).catch(() => new Promise<undefined>((r) => setTimeout(r, 200)))
  }
  t.equal(first?.status, 200, 'their route opens with our token')
  t.same(await first?.json(), { user: user.id })
  const logout = await ours.request({
    method: 'POST',
    url: '/api/v1/auth/logout/',
    headers: ours.bearer(access),
    payload: { refresh },
  })
  t.equal(logout.statusCode, 200)
  const refused = await orders(access)
  t.equal(refused.status, 401, 'refused there at the next request')
  t.equal((await refused.json()).code, 'token_revoked')
})

t.test(
  'README: two-factor enrolment and login, then a password reset, with curl against a live server',
  async (t) => {
    const code = await examples()
    const inbox = await startInbox(t)
    const dir = await mkdtemp(join(tmpdir(), 'authjwt-readme-mail-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const server = await startServer(t, {
      DATA_DIR: dir,
      ADMIN_USERNAME: 'alice',
      ADMIN_PASSWORD: 'alice-password',
      ADMIN_EMAIL: 'alice@example.com',
      SMTP_URL: inbox.url,
      PUBLIC_URL: 'https://auth.example.com',
      MAIL_RETRY_SECONDS: '1',
    })
    /** A README block as a shell script, against this server, with the variables it names. */
    const curl = async (name: string, vars: Record<string, string> = {}) => {
      const script = (code[name] ?? '').replaceAll('http://127.0.0.1:8000', server.base)
      t.ok(script.includes('curl'), `the README has the ${name} example`)
      const out = await run('bash', ['-c', `set -e\n${script}`], { cwd: dir, env: childEnv(vars) })
      t.equal(out.code, 0, `${name} runs ${out.stderr}`)
      return JSON.parse(out.stdout)
    }
    const login = await fetch(`${server.base}/api/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    }).then((r) => r.json())
    const ACCESS = login.access as string

    const setup = await curl('mfa-setup', { ACCESS })
    t.match(setup, { secret: String, otpauth_url: /^otpauth:\/\/totp\//, qr_code: /^data:image\/svg\+xml/ })
    const CODE = codeAt(setup.secret)
    const confirm = await curl('mfa-confirm', { ACCESS, CODE })
    t.equal(confirm.recovery_codes.length, 10)
    const challenge = await curl('mfa-login')
    t.match(challenge, { code: 'mfa_required', mfa_token: String })
    // What a newcomer tries first: the code that just confirmed enrolment.
    const reused = await curl('mfa-complete', { MFA_TOKEN: challenge.mfa_token, NEXT_CODE: CODE })
    t.match(
      reused,
      { code: 'mfa_code_used', detail: /^The code was already used\./ },
      'the confirming code again is refused as already used, as the README says',
    )
    const pair = await curl('mfa-complete', {
      MFA_TOKEN: challenge.mfa_token,
      NEXT_CODE: codeAt(setup.secret, Date.now() + 30_000),
    })
    t.match(pair, { access: String, refresh: String, username: 'alice' }, 'the usual login answer')

    // The audit trail has both logins within a flush period or two.
    let logins: { type: string; user_id: number; details: { method: string } }[] = []
    for (let i = 0; i < 50 && logins.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100))
      logins = (await curl('audit', { STAFF_ACCESS: ACCESS })).results
    }
    t.same(
      logins.map((e) => [e.type, e.user_id, e.details.method]),
      [
        ['login.succeeded', pair.user_id, 'mfa'],
        ['login.succeeded', pair.user_id, 'password'],
      ],
      'the audit example lists the two logins, newest first',
    )

    const asked = await curl('reset')
    t.match(asked.detail, /If an account uses this address/)
    const { token } = linkToken(await inbox.next('alice@example.com'))
    const reset = await curl('reset-confirm', { TOKEN: token })
    t.match(reset, { revoked_sessions: Number })
    const old = await fetch(`${server.base}/api/user/`, {
      headers: { authorization: `Bearer ${pair.access}` },
    })
    t.equal(old.status, 401, 'the sessions from before the reset are refused')
  },
)
