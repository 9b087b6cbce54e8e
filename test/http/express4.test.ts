import express4 from 'express4'
import { httpAdapterSuite } from './adapter-suite.js'
import { drivers } from './drivers.js'
import { expressAdapter } from './express-adapter.js'

httpAdapterSuite(expressAdapter('express 4', express4), drivers)
