import express from 'express'
import { httpAdapterSuite } from './adapter-suite.js'
import { drivers } from './drivers.js'
import { expressAdapter } from './express-adapter.js'

httpAdapterSuite(expressAdapter('express 5', express), drivers)
