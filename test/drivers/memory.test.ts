import { memory } from '@afterward/core'
import { driverConformance } from './conformance.js'
import { eventConformance } from './events.js'
import { operationsConformance } from './operations.js'

driverConformance('memory', () => memory())
eventConformance('memory', () => memory())
operationsConformance('memory', () => memory())
