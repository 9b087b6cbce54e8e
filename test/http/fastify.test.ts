import { httpAdapterConformance } from '@afterward/core/testing'
import { conformance } from './drivers.js'
import { fastifyAdapter } from './fastify-adapter.js'

httpAdapterConformance({ adapter: fastifyAdapter, ...conformance })
