import express from 'express'
import { httpAdapterConformance } from '@afterward/core/testing'
import { conformance } from './drivers.js'
import { expressAdapter } from './express-adapter.js'

httpAdapterConformance({ adapter: expressAdapter('express 5', express), ...conformance })
