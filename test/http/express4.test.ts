import express4 from 'express4'
import { httpAdapterConformance } from '@afterward/core/conformance'
import { conformance } from './drivers.js'
import { expressAdapter } from './express-adapter.js'

httpAdapterConformance({ adapter: expressAdapter('express 4', express4), ...conformance })
