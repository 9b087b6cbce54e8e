import { dashboardPlugin } from './fastify.js'

export { createDashboard } from './dashboard.js'
export type { Dashboard } from './dashboard.js'
export type { DashboardRequest } from './request.js'
export type { DashboardResponse } from './response.js'
export type { DashboardAuth, DashboardOptions } from './options.js'
export { dashboardPlugin }
export type { DashboardPluginOptions } from './fastify.js'
export { dashboardMiddleware } from './express.js'
export type { DashboardMiddleware, DashboardMiddlewareOptions } from './express.js'
export { startDashboard } from './standalone.js'
export type { RunningDashboard, StartDashboardOptions } from './standalone.js'
export default dashboardPlugin
