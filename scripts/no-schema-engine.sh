#!/bin/sh
# Stand-in for Prisma's schema engine, used when the real one could not be downloaded.
# Prisma 7's CLI insists on the engine file existing even for `prisma generate`, which never
# runs it; commands that do need it (migrate, db push, introspection) end up here.
echo "Prisma's schema engine is not installed (binaries.prisma.sh is unreachable here)." >&2
echo "Only 'prisma generate' works; apply test/prisma/migrations/*.sql by hand instead." >&2
exit 1
