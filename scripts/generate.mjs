// `pnpm generate`: generates every Prisma client in the repository (tests and examples), offline.
//
// Prisma 7's CLI downloads its schema engine from binaries.prisma.sh before any command, even
// `prisma generate`, which never runs it. When no engine has been downloaded and
// PRISMA_SCHEMA_ENGINE_BINARY is unset, point that variable at a stub so that generation works
// on machines that cannot reach that host.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const requireFromRoot = createRequire(join(root, 'package.json'))
const prismaPackageJson = requireFromRoot.resolve('prisma/package.json')

/** Schemas to generate: the test schema and one per example that has `prisma/schema.prisma`. */
function schemas() {
  const found = [join(root, 'test/prisma/schema.prisma')]
  const examples = join(root, 'examples')
  if (existsSync(examples)) {
    for (const name of readdirSync(examples).sort()) {
      found.push(join(examples, name, 'prisma/schema.prisma'))
    }
  }
  return found.filter((path) => existsSync(path))
}

/** True when @prisma/engines (as resolved from the prisma CLI) holds a downloaded schema engine. */
function hasSchemaEngine() {
  try {
    const enginesPackageJson = createRequire(prismaPackageJson).resolve(
      '@prisma/engines/package.json',
    )
    const enginesDir = dirname(enginesPackageJson)
    return readdirSync(enginesDir).some((file) => file.startsWith('schema-engine'))
  } catch {
    return false
  }
}

const env = { ...process.env, CHECKPOINT_DISABLE: '1' }
if (!env.PRISMA_SCHEMA_ENGINE_BINARY && !hasSchemaEngine()) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = join(root, 'scripts/no-schema-engine.sh')
}

const prismaCli = join(dirname(prismaPackageJson), 'build/index.js')
for (const schema of schemas()) {
  console.log(`prisma generate --schema ${relative(root, schema)}`)
  const result = spawnSync(process.execPath, [prismaCli, 'generate', '--schema', schema], {
    cwd: root,
    env,
    stdio: 'inherit',
  })
  if (result.status !== 0) {
    console.error(`prisma generate failed for ${relative(root, schema)}`)
    process.exit(result.status ?? 1)
  }
}
