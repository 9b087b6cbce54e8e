import { memory } from '@afterward/core'
import { driverConformance, scheduleConformance } from '@afterward/core/conformance'
import { limitConformance } from './limits.js'

driverConformance({ name: 'memory', makeDriver: () => memory() })
limitConformance('memory', { kind: 'memory' })
scheduleConformance({
  name: 'memory',
  makeNamespace: () => {
    const driver = memory()
    return () => driver
  },
})
