import { memory } from '@afterward/core'
import { driverConformance } from './conformance.js'
import { eventConformance } from './events.js'
import { scheduleConformance } from './schedules.js'

driverConformance('memory', () => memory())
eventConformance('memory', () => memory())
scheduleConformance('memory', () => {
  const driver = memory()
  return () => driver
})
