import { Readable } from 'node:stream'
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import {
  AfterwardEnqueueError,
  AfterwardError,
  ErrorCode,
  checkAdapterOptions,
  createFlushStats,
  enqueueFailureBody,
  settleAfterResponse,
  settleScope,
  traceFrom,
  type Afterward,
  type DeferFn,
  type DeferInFn,
  type DeferScope,
  type FlushStats,
  type HttpAdapterOptions,
  type JobOptions,
} from '@afterward/core'

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

// Marks the routes registered after the plugin: only they run its hooks, so only they may defer.
const kArmed = Symbol('afterward.armed')

const plugin: FastifyPluginAsync<AfterwardPluginOptions> = async (app, options) => {
  const {
    afterward,
    flush,
    closeOnShutdown = true,
  } = checkAdapterOptions(options, '@afterward/fastify')
  const stats = createFlushStats()
  app.decorate('afterward', afterward)
  app.decorate('afterwardStats', stats)
  app.decorateRequest('afterwardScope', null)
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, [kArmed]: true } as typeof route.config
  })

  let warnedAboutIds = false
  // The scope opens at the first defer: requests that defer nothing cost nothing.
  function openScope(reply: FastifyReply): DeferScope {
    const { request } = reply
    const config = request.routeOptions.config as { [kArmed]?: true; defer?: JobOptions }
    if (config[kArmed] !== true) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `reply.defer in ${request.method} ${request.url}: this route was registered before @afterward/fastify, so its jobs would never be stored. Register the plugin before the routes that defer.`,
        { retryable: false },
      )
    }
    // Fastify's default ids (req-1, req-2...) restart with every process: jobs.byRequest(id)
    // would mix requests from different processes. Say so once.
    if (!warnedAboutIds && /^req-\d+$/.test(request.id)) {
      warnedAboutIds = true
      request.log.warn(
        'Fastify request ids like "req-1" repeat across processes, so jobs.byRequest(request.id) can mix requests: pass genReqId: () => randomUUID() to Fastify()',
      )
    }
    const scope = afterward.scope({
      requestId: request.id,
      options: config.defer,
      trace: traceFrom(request.headers),
    })
    request.afterwardScope = scope
    // A hijacked reply skips onSend (and after-response mode waits for the response): settle
    // what is left once the response is over, so that no deferred job is silently forgotten.
    reply.raw.once('close', () => {
      if (scope.state === 'open') {
        void settleAfterResponse(scope, reply.statusCode, stats, request.log)
      }
    })
    return scope
  }

  app.decorateReply('defer', function defer(this: FastifyReply, task, ...args) {
    const scope = this.request.afterwardScope ?? openScope(this)
    return scope.defer(task, ...args)
  } as DeferFn)

  app.decorateReply('deferIn', function deferIn(this: FastifyReply, tx, task, ...args) {
    const scope = this.request.afterwardScope ?? openScope(this)
    return scope.deferIn(tx, task, ...args)
  } as DeferInFn)

  // A thrown handler (or hook) drops the jobs, whatever status an error handler then picks.
  app.addHook('onError', (request, _reply, _error, done) => {
    const scope = request.afterwardScope
    if (scope?.state === 'open') stats.discarded += scope.discard()
    done()
  })

  // onSend runs once the handler is done and before anything is written, for streams too.
  if (flush === 'before-response') {
    app.addHook('onSend', (request, reply, payload, done) => {
      const scope = request.afterwardScope
      if (scope === null || scope.state !== 'open') {
        done(null, payload)
        return
      }
      settleScope(scope, reply.statusCode, stats).then(
        () => done(null, payload),
        (err: unknown) => {
          if (payload instanceof Readable) payload.destroy()
          // Fastify's error handler turns this into a 503 in the app's error format.
          done(new AfterwardEnqueueError(enqueueFailureBody().message, { cause: err }))
        },
      )
    })
  } else {
    // after-response: a failed request's jobs still go before the response (nothing to wait
    // for); the others are stored once it is out, by the 'close' listener of openScope.
    app.addHook('onSend', (request, reply, payload, done) => {
      const scope = request.afterwardScope
      if (scope?.state === 'open' && reply.statusCode >= 400) stats.discarded += scope.discard()
      done(null, payload)
    })
  }

  if (closeOnShutdown) app.addHook('onClose', () => afterward.close())
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
