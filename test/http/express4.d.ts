// `express4` is Express 4 under an npm alias, tested at run time with Express 5's types.
declare module 'express4' {
  export { default } from 'express'
}
