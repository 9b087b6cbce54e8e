import { memory } from '@afterward/core'
import { driverConformance } from '@afterward/core/conformance'
import { limitConformance } from './limits.js'

driverConformance({ name: 'memory', makeDriver: () => memory() })
limitConformance('memory', { kind: 'memory' })
