import { memory } from '@afterward/core'
import { driverConformance } from './conformance.js'
import { eventConformance } from './events.js'
import { limitConformance } from './limits.js'

driverConformance('memory', () => memory())
eventConformance('memory', () => memory())
limitConformance('memory', { kind: 'memory' })
