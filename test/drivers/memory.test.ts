import { memory } from '@afterward/core'
import { driverConformance } from './conformance.js'
import { eventConformance } from './events.js'

driverConformance('memory', () => memory())
eventConformance('memory', () => memory())
