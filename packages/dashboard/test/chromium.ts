// The system's Chromium for the browser tests (Debian's `chromium` package; `.ci/run` installs
// it). Playwright never downloads a browser here: it drives this one.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

const candidates = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
].filter((path): path is string => path !== undefined && path !== '')

/** The browser's path, or undefined when none is installed. */
export const chromiumPath = candidates.find((path) => existsSync(path))

/** Why browser tests are skipped on this machine, or undefined when they run. */
export const skipReason =
  chromiumPath === undefined
    ? `no Chromium found at ${candidates.join(', ')}: install it (apt-get install chromium) or set CHROMIUM_PATH`
    : undefined

// Without the networking flags Chromium keeps calling home, which a closed network floods with
// failures.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: FLAGS })
}
