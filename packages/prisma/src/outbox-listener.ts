// LISTEN afterward_outbox on a dedicated node-postgres connection (Prisma cannot LISTEN), so that
// a relay wakes as soon as a transaction that wrote outbox rows commits. If the connection drops,
// it reconnects; meanwhile the relay keeps polling.
import type { Logger } from 'pino'
import type pg from 'pg'
import { AfterwardError, ErrorCode } from '@afterward/core'
import { OUTBOX_TABLE } from './outbox-rows.js'

const RECONNECT_DELAY_MS = 1_000

export class OutboxListener {
  readonly #url: string
  readonly #log: Logger
  readonly #onNotify: () => void
  #client: pg.Client | undefined
  #closed = false
  #retry: NodeJS.Timeout | undefined

  constructor(url: string, log: Logger, onNotify: () => void) {
    this.#url = url
    this.#log = log
    this.#onNotify = onNotify
  }

  /** Connects and listens; rejects with `AFTERWARD_CONFIG_INVALID` if the first connection fails. */
  async start(): Promise<void> {
    this.#closed = false
    try {
      await this.#connect()
    } catch (err) {
      if (err instanceof AfterwardError) throw err
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `prismaOutbox: could not LISTEN on the database of \`listen\` (${hostOf(this.#url)}): ${err instanceof Error ? err.message : String(err)}. Check the connection string and that the database is reachable, or leave \`listen\` out to poll only.`,
        { cause: err },
      )
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }

  async #connect(): Promise<void> {
    const { Client } = await loadPg()
    const client = new Client({
      connectionString: this.#url,
      application_name: 'afterward-outbox-relay',
    })
    client.on('notification', () => this.#onNotify())
    client.on('error', (err) => {
      this.#log.warn({ err }, 'outbox relay: LISTEN connection lost; polling until it is back')
      this.#reconnectLater(client)
    })
    client.on('end', () => this.#reconnectLater(client))
    await client.connect()
    await client.query(`LISTEN "${OUTBOX_TABLE}"`)
    if (this.#closed) {
      await client.end()
      return
    }
    this.#client = client
    // Rows committed while no one listened would wait for the next poll: look now.
    this.#onNotify()
  }

  #reconnectLater(dead: pg.Client): void {
    if (this.#closed || this.#client !== dead) return
    this.#client = undefined
    void dead.end().catch(() => {})
    this.#scheduleRetry()
  }

  #scheduleRetry(): void {
    this.#retry = setTimeout(() => {
      if (this.#closed) return
      this.#connect().catch((err: unknown) => {
        this.#log.warn({ err }, 'outbox relay: could not LISTEN again; retrying')
        this.#scheduleRetry()
      })
    }, RECONNECT_DELAY_MS)
  }
}

/** host:port of a connection string, without credentials, for messages. */
function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'an unparsable connection string'
  }
}

async function loadPg(): Promise<typeof pg> {
  try {
    return (await import('pg')).default
  } catch (err) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      "prismaOutbox: `listen` needs the 'pg' package: pnpm add pg (or leave `listen` out to poll only).",
      { cause: err },
    )
  }
}
