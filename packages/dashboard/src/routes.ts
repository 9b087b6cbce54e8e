// The dashboard's routes: each reads through `afterward.jobs` and renders a view or JSON.
// Paths are below the mount point; ids are single, decoded path segments.
import {
  ErrorCode,
  redactInput,
  type Afterward,
  type JobInfo,
  type QueueState,
  type Redact,
} from '@afterward/core'
import { json, page, redirect, type DashboardResponse } from './response.js'
import { homePage } from './views/home-page.js'
import { jobPage } from './views/job-page.js'
import { href, seg, type ViewContext } from './views/layout.js'
import { listPage, type ListFilters } from './views/list-page.js'
import { messagePage } from './views/message-page.js'
import { requestPage } from './views/request-page.js'

/** What a route gets: the request's parts and the dashboard's settings. */
export interface RouteContext {
  view: ViewContext
  /** Decoded path parameters (`:id`). */
  params: string[]
  query: URLSearchParams
  afterward: Afterward
  redact: Redact | undefined
  pageSize: number
}

type Route = (ctx: RouteContext) => Promise<DashboardResponse>

/** GET routes by pattern; `:id` matches one path segment. */
export const getRoutes: ReadonlyArray<[string, Route]> = [
  ['/', home],
  ['/search', search],
  ['/jobs', list],
  ['/jobs/:id', job],
  ['/requests/:id', request],
  ['/api/jobs', async (ctx) => json(200, await listJobs(ctx))],
  ['/api/jobs/:id', apiJob],
  ['/api/requests/:id', apiRequest],
  ['/api/counts', async (ctx) => json(200, await ctx.afterward.jobs.counts())],
]

/** Shows a job with the extra `redact` of the dashboard applied on top of the instance's. */
export function shown<J extends JobInfo>(ctx: RouteContext, job: J): J {
  return ctx.redact ? { ...job, input: redactInput(job.input, ctx.redact, job.task) } : job
}

async function home(ctx: RouteContext): Promise<DashboardResponse> {
  const [counts, failed] = await Promise.all([
    ctx.afterward.jobs.counts(),
    ctx.afterward.jobs.list({ state: 'failed', limit: 10 }),
  ])
  const removed = ctx.query.get('removed')
  const notice = removed ? `Job ${removed} removed.` : undefined
  return page(
    200,
    homePage(
      ctx.view,
      counts,
      failed.jobs.map((j) => shown(ctx, j)),
      notice,
    ),
  )
}

/** A job id goes to the job, a request id to the request; both are looked up at once. */
async function search(ctx: RouteContext): Promise<DashboardResponse> {
  const q = (ctx.query.get('q') ?? '').trim()
  if (q === '') return redirect(href(ctx.view, '/'))
  const [job, jobs] = await Promise.all([
    ctx.afterward.jobs.get(q),
    ctx.afterward.jobs.byRequest(q),
  ])
  if (job !== undefined) return redirect(href(ctx.view, `/jobs/${seg(q)}`))
  if (jobs.length > 0) return redirect(href(ctx.view, `/requests/${seg(q)}`))
  const message = `No job has the id ${q}, and no stored job was deferred by a request with that id. A request's jobs are dropped when it answers 4xx or 5xx, and finished jobs are removed after their retention time.`
  return page(404, messagePage(ctx.view, 'Nothing found', message, q))
}

async function request(ctx: RouteContext): Promise<DashboardResponse> {
  const requestId = ctx.params[0]!
  const jobs = (await ctx.afterward.jobs.byRequest(requestId)).map((j) => shown(ctx, j))
  if (jobs.length === 0) {
    const message = `No stored job was deferred by request ${requestId}: it deferred none, its jobs were dropped (it answered 4xx or 5xx), or they were removed.`
    return page(404, messagePage(ctx.view, 'No jobs for this request', message, requestId))
  }
  const removed = ctx.query.get('removed')
  const notice = removed ? `Job ${removed} removed.` : undefined
  return page(200, requestPage(ctx.view, requestId, jobs, new Date(), notice))
}

async function job(ctx: RouteContext): Promise<DashboardResponse> {
  const id = ctx.params[0]!
  const detail = await ctx.afterward.jobs.detail(id)
  if (detail === undefined) return jobNotFound(ctx, id)
  const notice =
    ctx.query.get('done') === 'retried' ? 'Retried: the job waits for a worker.' : undefined
  return page(200, jobPage(ctx.view, shown(ctx, detail), { notice }))
}

export function jobNotFound(ctx: RouteContext, id: string): DashboardResponse {
  const message = `No stored job has the id ${id}. Finished jobs are removed after their retention time.`
  return page(404, messagePage(ctx.view, 'Job not found', message, id))
}

function listFilters(query: URLSearchParams): ListFilters {
  const value = (name: string) => query.get(name)?.trim() || undefined
  return {
    // An unknown state is passed on: jobs.list refuses it with AFTERWARD_OPTIONS_INVALID.
    state: value('state') as QueueState | undefined,
    task: value('task'),
    queue: value('queue'),
    cursor: value('cursor'),
  }
}

async function listJobs(ctx: RouteContext) {
  const filters = listFilters(ctx.query)
  const page = await ctx.afterward.jobs.list({ ...filters, limit: ctx.pageSize })
  return { ...page, jobs: page.jobs.map((j) => shown(ctx, j)) }
}

async function list(ctx: RouteContext): Promise<DashboardResponse> {
  const tasks = [...ctx.afterward.tasks.keys()].sort()
  return page(200, listPage(ctx.view, listFilters(ctx.query), await listJobs(ctx), tasks))
}

async function apiJob(ctx: RouteContext): Promise<DashboardResponse> {
  const detail = await ctx.afterward.jobs.detail(ctx.params[0]!)
  if (detail === undefined)
    return json(404, { code: ErrorCode.JOB_NOT_FOUND, message: 'No stored job has this id.' })
  return json(200, shown(ctx, detail))
}

async function apiRequest(ctx: RouteContext): Promise<DashboardResponse> {
  const requestId = ctx.params[0]!
  const jobs = await ctx.afterward.jobs.byRequest(requestId)
  return json(200, { requestId, jobs: jobs.map((j) => shown(ctx, j)) })
}
