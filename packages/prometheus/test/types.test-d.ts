import express, { type RequestHandler } from 'express'
import Fastify from 'fastify'
import { Registry, type OpenMetricsContentType } from 'prom-client'
import { describe, expectTypeOf, it } from 'vitest'
import type { Afterward } from '@afterward/core'
import {
  afterwardMetrics,
  metricsHandler,
  metricsPlugin,
  type AfterwardMetrics,
  type MetricsRegistry,
} from '@afterward/prometheus'

declare const afterward: Afterward

describe('@afterward/prometheus types', () => {
  it('makes metrics from an instance, with an optional registry', () => {
    expectTypeOf(afterwardMetrics({ afterward })).toEqualTypeOf<AfterwardMetrics>()
    expectTypeOf(afterwardMetrics({ afterward }).registry).toEqualTypeOf<MetricsRegistry>()
    // An OpenMetrics registry is one too.
    afterwardMetrics({ afterward, registry: new Registry<OpenMetricsContentType>() })
    // @ts-expect-error the instance is required
    afterwardMetrics({ registry: new Registry() })
    // @ts-expect-error buckets are arrays of seconds
    afterwardMetrics({ afterward, buckets: { runDuration: 5 } })
  })

  it('gives Express a request handler and Fastify a plugin with typed options', async () => {
    expectTypeOf(metricsHandler()).toExtend<RequestHandler>()
    express().get('/metrics', metricsHandler({ registry: new Registry() }))
    const app = Fastify()
    await app.register(metricsPlugin, { registry: new Registry(), url: '/metrics' })
    // @ts-expect-error url is a string
    await app.register(metricsPlugin, { url: 9090 })
  })
})
