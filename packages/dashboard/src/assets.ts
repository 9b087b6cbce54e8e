import { readFileSync } from 'node:fs'

/** A file the pages load: the stylesheet and the small script. */
export interface Asset {
  type: string
  body: string
}

// Read once: assets/ sits beside src/ and dist/, so the same URL works from either.
const read = (name: string) => readFileSync(new URL(`../assets/${name}`, import.meta.url), 'utf8')

/** The assets by path below the mount point, loaded on first use. */
export function loadAssets(): ReadonlyMap<string, Asset> {
  return new Map([
    ['/assets/dashboard.css', { type: 'text/css; charset=utf-8', body: read('dashboard.css') }],
    [
      '/assets/dashboard.js',
      { type: 'text/javascript; charset=utf-8', body: read('dashboard.js') },
    ],
  ])
}
