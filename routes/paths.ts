/**
 * The canonical prefix and the seeds' aliases: the same handlers at every path a client knows.
 * Aliases are in the OpenAPI document too, so every seed's clients find their paths there.
 */
export const V1 = '/api/v1/auth'

export const paths = {
  login: [
    `${V1}/token/`,
    '/api/token/',
    '/api/auth/token/',
    '/api/login/',
    '/api/users/auth/login/',
    '/auth/login/',
  ],
  refresh: [
    `${V1}/token/refresh/`,
    '/api/token/refresh/',
    '/api/auth/token/refresh/',
    '/api/users/auth/refresh/',
    '/auth/refresh/',
  ],
  verify: [`${V1}/token/verify/`, '/api/token/verify/', '/api/auth/token/verify/'],
  blacklist: [`${V1}/token/blacklist/`, '/api/token/blacklist/', '/api/auth/token/blacklist/'],
  logout: [`${V1}/logout/`, '/api/logout/', '/api/users/auth/logout/', '/auth/logout/'],
  logoutAll: [`${V1}/logout/all/`],
  me: [`${V1}/users/me/`, '/api/user/', '/api/users/auth/me/'],
  testAuth: ['/api/test-auth/'],
} as const

/**
 * The document's marks for one path of an operation answered at several (`all`, canonical first):
 * an alias is marked deprecated and names its canonical path, so the reference shows the operation
 * once and lists its aliases apart (plugins/external/docs.ts), instead of six identical "Log in" entries.
 */
export function aliasMarks(
  url: string,
  all: readonly string[],
): { deprecated?: true; 'x-alias-of'?: string } {
  return url === all[0] ? {} : { deprecated: true, 'x-alias-of': all[0] }
}
