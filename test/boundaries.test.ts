import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Who may import whom (ARCHITECTURE.md, "Read models" and "What the platform knows"): a module's tables are
 * its own, so no module imports another's schema.ts except a schema.ts, for a foreign key's `.references()`;
 * and the platform knows no module, so nothing under src/platform imports from src/modules or the
 * list of every table, src/db-schema.ts. Tests and fixtures included: they are the module's code too.
 */
const SRC = resolve('src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every file a source imports or re-exports, statically or by `import()`, that a relative path names. */
function importsOf(file: string, source: string): string[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name));
}

/** `core` for src/modules/core/…; undefined outside the modules. */
const moduleOf = (path: string) => {
  const [top, name] = relative(SRC, path).split(sep);
  return top === 'modules' ? name : undefined;
};

const at = (path: string) => relative(process.cwd(), path);

/** Each import of another module's schema.ts from a file that is not a schema.ts. */
function crossModuleSchemaImports(files: { path: string; source: string }[]) {
  return files.flatMap(({ path, source }) =>
    importsOf(path, source)
      .filter((target) => target.endsWith(`${sep}schema.ts`) && moduleOf(target) !== undefined)
      .filter((target) => moduleOf(target) !== moduleOf(path) && !path.endsWith(`${sep}schema.ts`))
      .map((target) => `${at(path)} imports ${at(target)}`),
  );
}

/** Each import of a module or of src/db-schema.ts from the platform. */
function platformImportsOfModules(files: { path: string; source: string }[]) {
  return files.flatMap(({ path, source }) =>
    importsOf(path, source)
      .filter((target) => moduleOf(target) !== undefined || target === join(SRC, 'db-schema.ts'))
      .map((target) => `${at(path)} imports ${at(target)}`),
  );
}

const read = (paths: string[]) => paths.map((path) => ({ path, source: readFileSync(path, 'utf8') }));

describe('module boundaries', () => {
  it('no module imports another module’s schema.ts, but a schema.ts for a foreign key', () => {
    expect(crossModuleSchemaImports(read(filesUnder(join(SRC, 'modules'))))).toEqual([]);
  });

  it('the check finds a service, a test or a re-export that imports another module’s tables', () => {
    const orders = join(SRC, 'modules', 'orders');
    expect(
      crossModuleSchemaImports([
        {
          path: join(orders, 'feed-service.ts'),
          source: "import { providerProfiles } from '../users/schema.ts';",
        },
        { path: join(orders, 'feed.test.ts'), source: "const s = await import('../core/schema.ts');" },
        { path: join(orders, 'index.ts'), source: "export { users } from '../users/schema.ts';" },
        // A foreign key, its own tables, and another module's published read models are allowed.
        { path: join(orders, 'schema.ts'), source: "import { users } from '../users/schema.ts';" },
        { path: join(orders, 'bid-service.ts'), source: "import { bids } from './schema.ts';" },
        {
          path: join(orders, 'feed-service.ts'),
          source: "import { providerReach } from '../users/queries.ts';",
        },
      ]),
    ).toEqual([
      'src/modules/orders/feed-service.ts imports src/modules/users/schema.ts',
      'src/modules/orders/feed.test.ts imports src/modules/core/schema.ts',
      'src/modules/orders/index.ts imports src/modules/users/schema.ts',
    ]);
  });
});

describe('the platform', () => {
  it('imports nothing from src/modules or src/db-schema.ts', () => {
    expect(platformImportsOfModules(read(filesUnder(join(SRC, 'platform'))))).toEqual([]);
  });

  it('the check finds an import of a module or of the list of every table', () => {
    const db = join(SRC, 'platform', 'db.ts');
    expect(
      platformImportsOfModules([
        { path: db, source: "import * as schema from '../db-schema.ts';" },
        { path: db, source: "import type { CatalogService } from '../modules/core/service.ts';" },
        {
          path: join(SRC, 'platform', 'audit', 'routes.ts'),
          source: "import { users } from '../../modules/users/schema.ts';",
        },
        { path: db, source: "import { newId } from './columns.ts';" },
      ]),
    ).toEqual([
      'src/platform/db.ts imports src/db-schema.ts',
      'src/platform/db.ts imports src/modules/core/service.ts',
      'src/platform/audit/routes.ts imports src/modules/users/schema.ts',
    ]);
  });
});

/** Each source under src, not a test, that imports vitest: test code, which belongs under test/. */
function testCodeInSource(files: { path: string; source: string }[]) {
  return files
    .filter(({ path }) => !path.endsWith('.test.ts'))
    .filter(({ source }) =>
      ts.preProcessFile(source, true, true).importedFiles.some((f) => f.fileName === 'vitest'),
    )
    .map(({ path }) => at(path));
}

describe('test code', () => {
  it('under src is only tests: fixtures that import vitest live under test/', () => {
    expect(testCodeInSource(read(filesUnder(SRC)))).toEqual([]);
  });

  it('the check finds a fixture under src that imports vitest, and not a test or a plain fixture', () => {
    const orders = join(SRC, 'modules', 'orders');
    expect(
      testCodeInSource([
        { path: join(orders, 'order-fixtures.ts'), source: "import { expect } from 'vitest';" },
        { path: join(orders, 'orders.test.ts'), source: "import { it } from 'vitest';" },
        {
          path: join(SRC, 'modules', 'core', 'catalog-fixtures.ts'),
          source: "import { eq } from 'drizzle-orm';",
        },
      ]),
    ).toEqual(['src/modules/orders/order-fixtures.ts']);
  });
});
