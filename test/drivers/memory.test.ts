import { memory } from '@afterward/core'
import { driverConformance, scheduleConformance } from '@afterward/core/testing'

driverConformance({ name: 'memory', makeDriver: () => memory() })
scheduleConformance({
  name: 'memory',
  makeNamespace: () => {
    const driver = memory()
    return () => driver
  },
})
