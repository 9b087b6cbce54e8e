import { httpAdapterConformance } from '@afterward/core/conformance'
import { conformance } from './drivers.js'
import { fastifyAdapter } from './fastify-adapter.js'

httpAdapterConformance({ adapter: fastifyAdapter, ...conformance })
