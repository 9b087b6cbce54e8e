// Retry and Remove: POSTs whose CSRF token the dispatcher has checked already.
import { AfterwardError, ErrorCode } from '@afterward/core'
import { page, redirect, type DashboardResponse } from './response.js'
import { jobNotFound, shown, type RouteContext } from './routes.js'
import { jobPage } from './views/job-page.js'
import { href, seg } from './views/layout.js'

type Action = (ctx: RouteContext) => Promise<DashboardResponse>

/** POST routes by pattern. */
export const postRoutes: ReadonlyArray<[string, Action]> = [
  ['/jobs/:id/retry', retry],
  ['/jobs/:id/remove', remove],
]

async function retry(ctx: RouteContext): Promise<DashboardResponse> {
  const id = ctx.params[0]!
  return refused(ctx, id, async () => {
    await ctx.afterward.jobs.retry(id)
    return redirect(href(ctx.view, `/jobs/${seg(id)}`, { done: 'retried' }))
  })
}

async function remove(ctx: RouteContext): Promise<DashboardResponse> {
  const id = ctx.params[0]!
  return refused(ctx, id, async () => {
    const job = await ctx.afterward.jobs.get(id)
    await ctx.afterward.jobs.remove(id)
    const back = job?.requestId === undefined ? '/' : `/requests/${seg(job.requestId)}`
    return redirect(href(ctx.view, back, { removed: id }))
  })
}

/**
 * Runs the change; a job that is gone answers 404, one whose state does not allow the change
 * (retrying a job that is not failed, removing a running one) shows the job again with the
 * reason and a 409. Anything else goes on to the dispatcher's error handling.
 */
async function refused(
  ctx: RouteContext,
  id: string,
  change: () => Promise<DashboardResponse>,
): Promise<DashboardResponse> {
  try {
    return await change()
  } catch (err) {
    if (!(err instanceof AfterwardError)) throw err
    if (err.code === ErrorCode.JOB_NOT_FOUND) return jobNotFound(ctx, id)
    if (err.code !== ErrorCode.JOB_STATE_INVALID) throw err
    const detail = await ctx.afterward.jobs.detail(id)
    if (detail === undefined) return jobNotFound(ctx, id)
    return page(409, jobPage(ctx.view, shown(ctx, detail), { error: err.message }))
  }
}
