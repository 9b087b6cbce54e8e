import { httpAdapterSuite } from './adapter-suite.js'
import { drivers } from './drivers.js'
import { fastifyAdapter } from './fastify-adapter.js'

httpAdapterSuite(fastifyAdapter, drivers)
