import express from 'express'
import { httpAdapterConformance } from '@afterward/core/conformance'
import { conformance } from './drivers.js'
import { expressAdapter } from './express-adapter.js'

httpAdapterConformance({ adapter: expressAdapter('express 5', express), ...conformance })
