import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url))

/**
 * Tests run against the TypeScript sources, never a stale dist/ build: every entry of a package's
 * exports map (`@afterward/core`, `@afterward/core/bullmq`, ...) resolves to its `source` file.
 * The root package does not depend on the workspace packages, so node_modules cannot resolve them.
 */
function sourceAliases(...packages: string[]): { find: RegExp; replacement: string }[] {
  return packages.flatMap((name) => {
    const manifest = JSON.parse(readFileSync(`${packagesDir}${name}/package.json`, 'utf8')) as {
      exports: Record<string, string | { source?: string }>
    }
    return Object.entries(manifest.exports).flatMap(([subpath, target]) => {
      if (typeof target === 'string' || target.source === undefined) return []
      const specifier = `@afterward/${name}${subpath.slice(1)}`
      return [
        {
          find: new RegExp(`^${specifier.replaceAll('/', '\\/')}$`),
          replacement: `${packagesDir}${name}/${target.source.slice(2)}`,
        },
      ]
    })
  })
}

export default defineConfig({
  resolve: {
    alias: sourceAliases('core', 'fastify', 'express', 'prisma', 'otel', 'prometheus'),
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Type tests (`expectTypeOf`) for the public API, checked by tsc against the root tsconfig.
    typecheck: {
      enabled: true,
      include: ['packages/*/{src,test}/**/*.test-d.ts', 'test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    // Starts Redis and PostgreSQL if they are down and generates the test Prisma client.
    globalSetup: ['test/support/global-setup.ts'],
    // Files run in parallel: each test uses its own queue name (uniqueQueueName) and database
    // (createTestDatabase), and tests that stop Redis use a private server (startRedisServer).
    pool: 'forks',
    fileParallelism: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
