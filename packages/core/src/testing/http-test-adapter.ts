// What the shared HTTP suite needs from a framework: serve framework-neutral routes over real HTTP.
import type { Logger } from 'pino'
import type { Afterward, DeferFn, FlushMode, FlushStats, JobOptions } from '../index.js'

/** How a test route answers; each adapter maps it to its framework's idiom. */
export type TestReply =
  | { kind: 'json'; status?: number; body: unknown }
  | { kind: 'text'; body: string }
  /** Streamed: `reply.send(stream)` in Fastify, `stream.pipe(res)` (res.write) in Express. */
  | { kind: 'stream'; chunks: string[] }
  | { kind: 'redirect'; to: string }
  /** A file: `res.sendFile` in Express, a file stream in Fastify. */
  | { kind: 'file'; path: string }
  | { kind: 'empty'; status: number }

export interface TestRouteContext {
  defer: DeferFn
  /**
   * The id the adapter stores on jobs, as echoed in the response's `X-Request-Id` header (set by
   * the request's first defer).
   */
  readonly requestId: string | undefined
  body: unknown
  /** Settles when the response's connection closes (the client went away, or it was sent). */
  closed: Promise<void>
}

export interface TestRoute {
  /** POST route. */
  path: string
  /** Route-level job options (`config.defer` / `deferOptions()`). */
  options?: JobOptions
  /** Throwing makes the framework answer 500. */
  handle(ctx: TestRouteContext): Promise<TestReply> | TestReply
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  stats(): Readonly<FlushStats>
  /** Graceful: stops accepting, lets in-flight requests finish, then closes the Afterward instance. */
  close(): Promise<void>
}

export interface ServeOptions {
  flush?: FlushMode
  logger: Logger
}

export interface HttpAdapter {
  readonly name: string
  serve(
    afterward: Afterward,
    routes: readonly TestRoute[],
    options: ServeOptions,
  ): Promise<TestServer>
}
