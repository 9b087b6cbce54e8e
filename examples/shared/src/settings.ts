// Which services the examples use, read once from the environment. Nothing set means the
// embedded defaults: memory() queue, PGlite database, local mailbox, all under one data folder.
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'

/** What the examples run on. */
export interface Settings {
  /** BullMQ on this Redis instead of the memory() driver. */
  redisUrl: string | undefined
  /** PostgreSQL instead of PGlite. */
  databaseUrl: string | undefined
  /** Real SMTP instead of the local mailbox. */
  smtpUrl: string | undefined
  /** Where PGlite and the mailbox live when they are used. @defaultValue `.demo/dev` */
  dataDir: string
  /** Run the worker in the app process (`WORKER=separate` to use the `worker` script). */
  inProcessWorker: boolean
  /** Sends of each message that fail before one gets through (mailbox only). @defaultValue 2 */
  mailFailures: number
  /** HTTP port. @defaultValue 3000 */
  port: number
  /**
   * Basic-auth credentials of the dashboard at `/afterward/`. @defaultValue user `admin`, a
   * random password per start (printed in the banner) unless `DASHBOARD_PASSWORD` is set
   */
  dashboard: { username: string; password: string }
  /** Run the daily digest every this many ms instead of at 07:00 Berlin time. @defaultValue unset */
  digestEvery: number | undefined
}

/**
 * Reads the settings from `env` (`process.env` by default); `overrides` win.
 *
 * @example
 * const settings = loadSettings(process.env, { port: 0 })
 */
export function loadSettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Settings> = {},
): Settings {
  const blank = (value: string | undefined) =>
    value === undefined || value === '' ? undefined : value
  return {
    redisUrl: blank(env['REDIS_URL']),
    databaseUrl: blank(env['DATABASE_URL']),
    smtpUrl: blank(env['SMTP_URL']),
    dataDir: resolve(blank(env['DATA_DIR']) ?? '.demo/dev'),
    inProcessWorker: env['WORKER'] !== 'separate',
    mailFailures: Number(blank(env['MAIL_FAILURES']) ?? 2),
    port: Number(blank(env['PORT']) ?? 3000),
    dashboard: {
      username: blank(env['DASHBOARD_USER']) ?? 'admin',
      password: blank(env['DASHBOARD_PASSWORD']) ?? randomBytes(12).toString('base64url'),
    },
    digestEvery: blank(env['DIGEST_EVERY']) === undefined ? undefined : Number(env['DIGEST_EVERY']),
    ...overrides,
  }
}
