import {
  AfterwardError,
  ErrorCode,
  redactInput,
  type Afterward,
  type Redact,
} from '@afterward/core'

/**
 * Who may open the dashboard: a function of the framework's request (your session check), the
 * credentials of HTTP basic auth, or `false` to let anyone who can reach it in.
 */
export type DashboardAuth<Req> =
  ((request: Req) => boolean | Promise<boolean>) | { username: string; password: string } | false

/** Options of the dashboard, whichever way it is served. */
export interface DashboardOptions<Req = unknown> {
  /** The Afterward instance whose jobs it shows and changes (through `afterward.jobs`). */
  afterward: Afterward
  /**
   * Required. A function `(request) => boolean | Promise<boolean>` given the framework's own
   * request (Fastify's `FastifyRequest`, Express's `Request`, Node's `IncomingMessage`
   * standalone), or basic-auth credentials `{ username, password }`. `false` serves the
   * dashboard without auth and logs a warning at start-up.
   */
  auth: DashboardAuth<Req>
  /**
   * Input fields hidden on every page and in the JSON, on top of `createAfterward({ redact })`:
   * paths such as `['password', 'card.number', 'users[*].token']`, or a function
   * `(input, task) => shown`. @defaultValue nothing more hidden
   */
  redact?: Redact
  /** Jobs per page in lists, 1 to 1000. @defaultValue 50 */
  pageSize?: number
  /** Shown in every page's header and title. @defaultValue 'Afterward' */
  title?: string
}

/** The options with their defaults applied, checked once at mount. */
export interface ResolvedOptions<Req> {
  afterward: Afterward
  auth: DashboardAuth<Req>
  redact: Redact | undefined
  pageSize: number
  title: string
}

/**
 * Checks the options up front, with messages that say how to fix them; `where` names the entry
 * point (`@afterward/dashboard (Fastify)`). Refuses to go on without an explicit `auth`.
 */
export function resolveOptions<Req>(
  options: DashboardOptions<Req>,
  where: string,
): ResolvedOptions<Req> {
  const fail = (message: string) =>
    new AfterwardError(ErrorCode.CONFIG_INVALID, `${where}: ${message}`)
  if (typeof options !== 'object' || options === null)
    throw fail('pass an options object: { afterward, auth }.')
  const { afterward, auth, redact, pageSize = 50, title = 'Afterward' } = options
  if (typeof afterward?.jobs?.get !== 'function')
    throw fail('`afterward` is required: pass the instance createAfterward() returned.')
  if (auth === undefined || auth === null) {
    throw fail(
      '`auth` is required: pass a function (request) => boolean | Promise<boolean>, basic-auth credentials { username, password }, or `auth: false` to let anyone who can reach the dashboard read job inputs and retry or remove jobs.',
    )
  }
  if (auth !== false && typeof auth !== 'function') {
    const { username, password } = auth as { username?: unknown; password?: unknown }
    if (typeof username !== 'string' || typeof password !== 'string' || !username || !password)
      throw fail('`auth` credentials need a non-empty `username` and `password` (strings).')
    if (username.includes(':'))
      throw fail('the basic-auth `username` cannot contain ":"; choose another name.')
  }
  redactInput(undefined, redact) // refuses a malformed `redact` now, not at the first page
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
    throw fail('`pageSize` must be an integer from 1 to 1000.')
  if (typeof title !== 'string') throw fail('`title` must be a string.')
  if (auth === false) {
    afterward.log.warn(
      `${where} is served with auth: false: anyone who can reach it can read job inputs and retry or remove jobs. Pass auth unless something in front of it (a VPN, a proxy with auth) keeps others out.`,
    )
  }
  return { afterward, auth, redact, pageSize, title }
}
