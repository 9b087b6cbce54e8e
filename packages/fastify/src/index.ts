import { afterwardPlugin } from './plugin.js'

export { afterwardPlugin }
export type { AfterwardPluginOptions } from './plugin.js'
export default afterwardPlugin
