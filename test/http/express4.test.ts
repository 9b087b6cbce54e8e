import express4 from 'express4'
import { httpAdapterSuite } from './adapter-suite.js'
import { drivers } from './drivers.js'
import { expressAdapter } from './express-adapter.js'

// `express4` is Express 4 under an npm alias; its types are Express 5's, its runtime is 4's.
httpAdapterSuite(expressAdapter('express 4', express4 as unknown as Parameters<typeof expressAdapter>[1]), drivers)
