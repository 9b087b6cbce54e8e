import { memory } from '@afterward/core'
import { driverConformance } from './conformance.js'

driverConformance('memory', () => memory())
