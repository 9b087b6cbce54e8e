import { memory } from '@afterward/core'
import { driverConformance } from '@afterward/core/testing'

driverConformance({ name: 'memory', makeDriver: () => memory() })
