import Tokens from '@fastify/csrf'
import { parseCookie, stringifySetCookie } from 'cookie'

const COOKIE = 'afterward_csrf'
const tokens = Tokens()

/** The token for this page's forms, and the cookie to set when the browser had no secret yet. */
export interface IssuedToken {
  token: string
  setCookie: string | undefined
}

/**
 * CSRF protection for Retry and Remove (the double-submit pattern with a signed token,
 * `@fastify/csrf`'s): each browser gets a random secret in an HttpOnly, SameSite=Strict cookie
 * scoped to the dashboard's path, and every form carries a token derived from it. A page on
 * another site that gets the browser to post a form (SameSite keeps the cookie out of that in
 * current browsers) can neither read the secret nor compute a token from it.
 */
export function issueToken(cookieHeader: string | undefined, path: string): IssuedToken {
  const existing = secretFrom(cookieHeader)
  const secret = existing ?? tokens.secretSync()
  const setCookie =
    existing === undefined
      ? stringifySetCookie(COOKIE, secret, {
          path: path || '/',
          httpOnly: true,
          sameSite: 'strict',
        })
      : undefined
  return { token: tokens.create(secret), setCookie }
}

/** Whether `token` (from the form) was issued for the secret in this browser's cookie. */
export function verifyToken(cookieHeader: string | undefined, token: unknown): boolean {
  const secret = secretFrom(cookieHeader)
  if (secret === undefined || typeof token !== 'string' || token === '') return false
  return tokens.verify(secret, token)
}

function secretFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined
  const secret = parseCookie(cookieHeader)[COOKIE]
  // @fastify/csrf secrets are 18 random bytes in base64url: anything else was not issued here.
  return secret !== undefined && /^[A-Za-z0-9_-]{24}$/.test(secret) ? secret : undefined
}
