import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, never a stale dist/ build.
    alias: [
      { find: /^@afterward\/core\/http$/, replacement: `${packagesDir}core/src/http/index.ts` },
      {
        find: /^@afterward\/(core|fastify|express|prisma|otel|prometheus)$/,
        replacement: `${packagesDir}$1/src/index.ts`,
      },
    ],
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
