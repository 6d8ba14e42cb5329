import { http, type ServerProcess } from './server-process.js'

/** Requests the failover tests (Sentinel, Cluster) make against a server process. */
export interface Tokens {
  access: string
  refresh: string
}

export async function login(
  server: ServerProcess,
  who: { username: string; password: string },
): Promise<Tokens> {
  const res = await http(server.base, 'POST', '/api/v1/auth/token/', { body: who })
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`)
  return res.body as unknown as Tokens
}

/** The status of a protected route for this access token. */
export const testAuth = async (server: ServerProcess, access: string) =>
  (await http(server.base, 'GET', '/api/test-auth/', { headers: { authorization: `Bearer ${access}` } }))
    .status

export const logout = async (server: ServerProcess, tokens: Tokens) =>
  (await http(server.base, 'POST', '/api/v1/auth/logout/', { body: { refresh: tokens.refresh } })).status
