// The routes that bench/http.ts compares, each served by bench/http-server.ts.
export const VARIANTS = [
  'fastify bare',
  'fastify queue.add',
  'fastify defer bullmq',
  // The same route with @afterward/prometheus counting every job (and serving /metrics).
  'fastify defer bullmq metrics',
  'fastify defer memory',
  'express bare',
  'express queue.add',
  'express defer bullmq',
  'express defer memory',
] as const
export type Variant = (typeof VARIANTS)[number]

/** What the parent asks and what the server answers, over the IPC channel. */
export type ServerMessage =
  { type: 'ready'; port: number } | { type: 'usage'; cpuMicros: number; heapBytes: number }
