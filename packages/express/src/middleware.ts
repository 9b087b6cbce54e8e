import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import type { DeferFn, DeferInFn, JobOptions } from '@afterward/core'
import {
  createHttpLifecycle,
  enqueueFailureBody,
  type FlushStats,
  type HttpAdapterOptions,
  type RequestLifecycle,
} from '@afterward/core/http'
import { holdResponse } from './hold-response.js'

/** Options of `afterwardMiddleware`. */
export type AfterwardMiddlewareOptions = HttpAdapterOptions

declare module 'express-serve-static-core' {
  interface Response {
    /**
     * Buffers a job for this request and returns its id at once. The job is stored after the
     * handler finished with a status below 400, before anything reaches the client; it is
     * dropped on 4xx, 5xx or a thrown error. Throws `AfterwardInputError` for bad input.
     */
    defer: DeferFn
    /**
     * Writes a job inside the database transaction `tx` (with this request's id, route options
     * and trace): it exists if and only if `tx` commits, whatever the response. Await it inside
     * the transaction. Needs a driver with an outbox (`prismaOutbox(prisma).driver(inner)`).
     */
    deferIn: DeferInFn
  }
}

/** The middleware, with its counters (jobs stored and discarded, 503s, after-response failures). */
export type AfterwardMiddleware = RequestHandler & { readonly stats: Readonly<FlushStats> }

const routeOptions = new WeakMap<Response, JobOptions>()
const lifecycles = new WeakMap<Response, RequestLifecycle>()

/** Answers the 503 of a request whose jobs could not be stored. */
function sendEnqueueFailure(
  send: (status: number, headers: Record<string, string>, body: string) => void,
): void {
  const body = JSON.stringify(enqueueFailureBody())
  send(
    503,
    {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  )
}

/**
 * Adds `res.defer(task, input, options?)`. The request's jobs are stored after the handler
 * succeeded and before the first byte of the response; if that fails and nothing was sent yet,
 * the client gets a 503 with code `AFTERWARD_ENQUEUE_FAILED`. The request id comes from a valid
 * `X-Request-Id` header or is generated, and is echoed in the response of a request that defers.
 *
 * @example
 * app.use(afterwardMiddleware({ afterward }))
 * app.post('/signup', async (req, res) => {
 *   const job = res.defer(sendWelcomeEmail, { userId: 1 })
 *   res.status(201).json({ jobId: job.id })
 * })
 */
export function afterwardMiddleware(options: AfterwardMiddlewareOptions): AfterwardMiddleware {
  const lifecycle = createHttpLifecycle(options, '@afterward/express')

  function afterwardMiddleware(req: Request, res: Response, next: NextFunction): void {
    let opened: RequestLifecycle | undefined

    // Opened at the first defer (deferOptions() has run for the matched route by then), and only
    // then is the response held: requests that defer nothing pay for one closure.
    const open = (task: { name: string }): RequestLifecycle => {
      const request = { method: req.method, url: req.originalUrl, headers: req.headers }
      const options = routeOptions.get(res)
      const state = lifecycle.open({ request, response: res, options }, task)
      opened = state
      lifecycles.set(res, state)
      // The response's first output is the handler's answer: hold it while the jobs are stored.
      holdResponse(res, (status) => state.handlerDone(status), sendEnqueueFailure)
      res.once('close', () => state.responseClosed())
      return state
    }

    res.defer = function defer(task, ...args) {
      return (opened ?? open(task)).defer(task, ...args)
    } as DeferFn
    res.deferIn = function deferIn(tx, task, ...args) {
      return (opened ?? open(task)).deferIn(tx, task, ...args)
    } as DeferInFn
    next()
  }
  return Object.assign(afterwardMiddleware, { stats: lifecycle.stats })
}

/**
 * Route-level job options for every job the route defers: above the task's options, below the
 * call site's. Place it before the handler; several merge, the last one winning per field.
 *
 * @example
 * app.post('/signup', deferOptions({ retry: { attempts: 8 } }), async (req, res) => {
 *   res.defer(sendWelcomeEmail, { userId: 1 })
 *   res.status(201).json({ ok: true })
 * })
 */
export function deferOptions(options: JobOptions): RequestHandler {
  return function deferOptions(_req, res, next) {
    // The route's own object when it is the only one: options are resolved once per object.
    const previous = routeOptions.get(res)
    routeOptions.set(res, previous ? { ...previous, ...options } : options)
    next()
  }
}

/**
 * Error middleware that drops the request's jobs when its handler threw, whatever status the
 * app's own error handlers then answer. Without it a thrown handler's jobs are dropped only when
 * the response is 4xx/5xx (Express's default). Place it after the routes, before your handlers.
 *
 * @example
 * app.use(routes)
 * app.use(afterwardErrorHandler())
 * app.use((err, req, res, next) => res.redirect(303, '/oops')) // the jobs are gone already
 */
export function afterwardErrorHandler(): ErrorRequestHandler {
  return function afterwardErrorHandler(err, _req, res, next) {
    lifecycles.get(res)?.handlerErrored()
    next(err)
  }
}
