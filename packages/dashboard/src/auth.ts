import { createHash, timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import type { DashboardAuth } from './options.js'

/** What the auth check decided; `challenge` is the `WWW-Authenticate` header to send on a 401. */
export type AuthResult = { ok: true } | { ok: false; challenge: string | undefined }

const BASIC_CHALLENGE = 'Basic realm="Afterward dashboard", charset="UTF-8"'

/**
 * Turns the `auth` option into one check per request. Basic-auth credentials are compared in
 * constant time (as SHA-256 digests, so that their lengths leak nothing either). A function
 * that throws or rejects denies the request and is logged: a broken check never lets anyone in.
 */
export function compileAuth<Req>(
  auth: DashboardAuth<Req>,
  log: Logger,
): (raw: Req, authorization: string | undefined) => Promise<AuthResult> {
  if (auth === false) return async () => ({ ok: true })
  if (typeof auth === 'function') {
    return async (raw) => {
      try {
        if ((await auth(raw)) === true) return { ok: true }
      } catch (err) {
        log.error({ err }, 'dashboard auth function failed; the request is denied')
      }
      return { ok: false, challenge: undefined }
    }
  }
  const expected = digest(`${auth.username}:${auth.password}`)
  return async (_raw, authorization) => {
    const given = basicCredentials(authorization)
    const ok = given !== undefined && timingSafeEqual(digest(given), expected)
    return ok ? { ok: true } : { ok: false, challenge: BASIC_CHALLENGE }
  }
}

/** `user:password` from an `Authorization: Basic …` header (RFC 7617), or undefined. */
function basicCredentials(header: string | undefined): string | undefined {
  const match = /^basic +([A-Za-z0-9+/]+=*) *$/i.exec(header ?? '')
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  return decoded.includes(':') ? decoded : undefined
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
