import { Readable } from 'node:stream'
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import {
  AfterwardEnqueueError,
  AfterwardError,
  ErrorCode,
  type Afterward,
  type DeferFn,
  type DeferInFn,
  type DeferScope,
  type JobOptions,
} from '@afterward/core'
import {
  createHttpLifecycle,
  enqueueFailureBody,
  type FlushStats,
  type HttpAdapterOptions,
  type HttpResponse,
  type RequestLifecycle,
} from '@afterward/core/http'

/** Options of the Fastify plugin. */
export interface AfterwardPluginOptions extends HttpAdapterOptions {
  /**
   * Close the Afterward instance (`afterward.close()`) in Fastify's `onClose`. Set it to `false`
   * when something else owns the instance (a worker in the same process that closes it).
   * @defaultValue true
   */
  closeOnShutdown?: boolean
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Buffers a job for this request and returns its id at once. The job is stored after the
     * handler finished with a status below 400, before the response goes out; it is dropped on
     * 4xx, 5xx or a thrown error. Throws `AfterwardInputError` for bad input.
     */
    defer: DeferFn
    /**
     * Writes a job inside the database transaction `tx` (with this request's id, route options
     * and trace): it exists if and only if `tx` commits, whatever the response. Await it inside
     * the transaction. Needs a driver with an outbox (`prismaOutbox(prisma).driver(inner)`).
     */
    deferIn: DeferInFn
  }
  interface FastifyRequest {
    /** This request's defer scope, opened by its first `reply.defer` (null until then). */
    afterwardScope: DeferScope | null
  }
  interface FastifyContextConfig {
    /** Job options of every job deferred in this route: above the task's, below the call site's. */
    defer?: JobOptions
  }
  interface FastifyInstance {
    /** The Afterward instance given to the plugin. */
    afterward: Afterward
    /** Jobs stored and discarded, 503s answered, `after-response` failures. */
    afterwardStats: Readonly<FlushStats>
  }
}

/**
 * The response as the lifecycle sees it. Its `X-Request-Id` goes through `reply.header`: a header
 * set on `reply.raw` would make Node merge Fastify's headers into it one `setHeader` at a time,
 * which costs more per request than the rest of the defer path.
 */
class ReplyResponse implements HttpResponse {
  readonly #reply: FastifyReply
  constructor(reply: FastifyReply) {
    this.#reply = reply
  }
  get headersSent(): boolean {
    return this.#reply.raw.headersSent
  }
  get statusCode(): number {
    return this.#reply.raw.statusCode
  }
  setHeader(name: string, value: string): void {
    this.#reply.header(name, value)
  }
}

// Marks the routes registered after the plugin: only they run its hooks, so only they may defer.
const kArmed = Symbol('afterward.armed')
// The request's lifecycle, set by its first defer (null until then).
const kLifecycle = Symbol('afterward.lifecycle')
type Tracked = FastifyRequest & { [kLifecycle]: RequestLifecycle | null }

const plugin: FastifyPluginAsync<AfterwardPluginOptions> = async (app, options) => {
  const lifecycle = createHttpLifecycle(options, '@afterward/fastify')
  const { afterward, stats } = lifecycle
  app.decorate('afterward', afterward)
  app.decorate('afterwardStats', stats)
  app.decorateRequest('afterwardScope', null)
  app.decorateRequest(kLifecycle, null)
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, [kArmed]: true } as typeof route.config
  })

  // The lifecycle opens at the first defer: requests that defer nothing cost nothing.
  function open(reply: FastifyReply, task: { name: string }): RequestLifecycle {
    const request = reply.request as Tracked
    const config = request.routeOptions.config as { [kArmed]?: true; defer?: JobOptions }
    if (config[kArmed] !== true) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `reply.defer in ${request.method} ${request.url}: this route was registered before @afterward/fastify, so its jobs would never be stored. Register the plugin before the routes that defer.`,
        { retryable: false },
      )
    }
    const opened = lifecycle.open(
      {
        request: request.raw,
        response: new ReplyResponse(reply),
        options: config.defer,
        log: request.log,
      },
      task,
    )
    request[kLifecycle] = opened
    request.afterwardScope = opened.scope
    // After-response mode stores the jobs here, and so does a hijacked reply (it skips onSend).
    reply.raw.once('close', () => opened.responseClosed())
    return opened
  }

  app.decorateReply('defer', function defer(this: FastifyReply, task, ...args) {
    return ((this.request as Tracked)[kLifecycle] ?? open(this, task)).defer(task, ...args)
  } as DeferFn)

  app.decorateReply('deferIn', function deferIn(this: FastifyReply, tx, task, ...args) {
    return ((this.request as Tracked)[kLifecycle] ?? open(this, task)).deferIn(tx, task, ...args)
  } as DeferInFn)

  // A thrown handler (or hook) drops the jobs, whatever status an error handler then picks.
  app.addHook('onError', (request, _reply, _error, done) => {
    ;(request as Tracked)[kLifecycle]?.handlerErrored()
    done()
  })

  // onSend runs once the handler is done and before anything is written, for streams too.
  app.addHook('onSend', (request, reply, payload, done) => {
    const storing = (request as Tracked)[kLifecycle]?.handlerDone(reply.statusCode)
    if (storing === undefined) {
      done(null, payload)
      return
    }
    storing.then(
      () => done(null, payload),
      (err: unknown) => {
        if (payload instanceof Readable) payload.destroy()
        // Fastify's error handler turns this into a 503 in the app's error format.
        done(new AfterwardEnqueueError(enqueueFailureBody().message, { cause: err }))
      },
    )
  })

  if (options.closeOnShutdown ?? true) app.addHook('onClose', () => afterward.close())
}

/**
 * The Fastify plugin: adds `reply.defer(task, input, options?)`, whose jobs are stored after the
 * handler succeeded and before the response is sent. Route options go in `config.defer`.
 *
 * @example
 * await app.register(afterwardPlugin, { afterward })
 * app.post('/signup', { config: { defer: { retry: { attempts: 8 } } } }, async (req, reply) => {
 *   const user = await prisma.user.create({ data: req.body })
 *   const job = reply.defer(sendWelcomeEmail, { userId: user.id })
 *   return { id: user.id, jobId: job.id }
 * })
 */
export const afterwardPlugin = fp(plugin, { fastify: '5.x', name: '@afterward/fastify' })
