import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/** `npm run api:breaking` as CI runs it, fed two small documents and a changelog. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kg-breaking-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const order = (properties: Record<string, object>) => ({
  type: 'object',
  required: ['id', 'status'],
  properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string' }, ...properties },
});

/** One read and one create of an order; `change` edits the copy. */
function document(change: (doc: ReturnType<typeof base>) => void = () => {}) {
  const doc = base();
  change(doc);
  return doc;
}
function base() {
  return {
    openapi: '3.1.0',
    info: { title: 'orders', version: '1.0.0' },
    paths: {
      '/api/v1/orders/{id}': {
        get: {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'the order',
              content: {
                'application/json': {
                  schema: order({ legacy_status: { type: 'string', deprecated: true } }),
                },
              },
            },
          },
        },
      },
      '/api/v1/orders': {
        post: {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['title'],
                  properties: { title: { type: 'string' } } as Record<string, object>,
                },
              },
            },
          },
          responses: {
            '201': { description: 'created', content: { 'application/json': { schema: order({}) } } },
          },
        },
      },
    },
  };
}

/** The script run in `cwd` (a repository of its own for the tests of the base commit), with `args`. */
async function run(cwd: string, args: string[]) {
  // tsx by its path: a test's repository has no node_modules.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  try {
    const script = join(ROOT, 'scripts', 'api-breaking.ts');
    const { stdout, stderr } = await promisify(execFile)('node', ['--import', tsx, script, ...args], { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

let files = 0;
function check(before: object, after: object, changelog: string) {
  const name = (suffix: string) => join(dir, `${files}-${suffix}`);
  files++;
  writeFileSync(name('before.json'), JSON.stringify(before));
  writeFileSync(name('after.json'), JSON.stringify(after));
  writeFileSync(name('CHANGELOG.md'), changelog);
  return run(ROOT, [
    '--before',
    name('before.json'),
    '--after',
    name('after.json'),
    '--changelog',
    name('CHANGELOG.md'),
  ]);
}

const withoutLegacyStatus = document((doc) => {
  delete (
    doc.paths['/api/v1/orders/{id}'].get.responses['200'].content['application/json'].schema.properties as {
      legacy_status?: object;
    }
  ).legacy_status;
});

const changelog = (breaking: string) =>
  `# Changelog\n\n## Unreleased\n\n### Added\n\n- Nothing.\n\n### Breaking\n\n${breaking}\n\n## 1.0.0\n`;

describe('npm run api:breaking', () => {
  it('fails on a removed field that CHANGELOG.md does not declare, naming the operation and the field', async () => {
    const result = await check(document(), withoutLegacyStatus, changelog('None.'));
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain('breaking: GET /api/v1/orders/{id}:');
    expect(result.output).toContain('`legacy_status`');
    expect(result.output).toContain('1 breaking change(s) not declared');
  }, 60_000);

  it('passes an added optional input', async () => {
    const after = document((doc) => {
      doc.paths['/api/v1/orders'].post.requestBody.content['application/json'].schema.properties.note = {
        type: 'string',
      };
    });
    const result = await check(document(), after, changelog('None.'));
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('no undeclared breaking change');
  }, 60_000);

  it('fails on a new required input and a narrowed type', async () => {
    const after = document((doc) => {
      const body = doc.paths['/api/v1/orders'].post.requestBody.content['application/json'].schema;
      body.properties.note = { type: 'string' };
      body.required.push('note');
      body.properties.title = { type: 'string', maxLength: 10 };
    });
    const result = await check(document(), after, changelog('None.'));
    expect(result.code, result.output).toBe(1);
    expect(result.output).toMatch(/breaking: POST \/api\/v1\/orders: .*required.*`note`/);
    expect(result.output).toMatch(/breaking: POST \/api\/v1\/orders: .*maxLength.*`title`/);
  }, 60_000);

  it('passes the same shapes named: inline schemas moved under components, a nullable type written as anyOf', async () => {
    const nullable = document((doc) => {
      doc.paths['/api/v1/orders'].post.requestBody.content['application/json'].schema.properties.note = {
        type: ['object', 'null'],
        properties: { text: { type: 'string' } },
      };
    });
    const named = structuredClone(nullable) as ReturnType<typeof base> & { components?: object };
    const create = named.paths['/api/v1/orders'].post;
    const read = named.paths['/api/v1/orders/{id}'].get.responses['200'].content['application/json'];
    named.components = {
      schemas: {
        Order: read.schema,
        CreateOrderBody: create.requestBody.content['application/json'].schema,
        Note: { type: 'object', properties: { text: { type: 'string' } } },
      },
    };
    (
      named.components as { schemas: { CreateOrderBody: { properties: object } } }
    ).schemas.CreateOrderBody.properties = {
      title: { type: 'string' },
      note: { anyOf: [{ $ref: '#/components/schemas/Note' }, { type: 'null' }] },
    };
    Object.assign(read, { schema: { $ref: '#/components/schemas/Order' } });
    Object.assign(create.requestBody.content['application/json'], {
      schema: { $ref: '#/components/schemas/CreateOrderBody' },
    });
    const result = await check(nullable, named, changelog('None.'));
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('no undeclared breaking change (0 declared)');
    const narrowed = structuredClone(named);
    (
      narrowed.components as { schemas: { CreateOrderBody: { properties: object } } }
    ).schemas.CreateOrderBody.properties = {
      title: { type: 'string' },
      note: { $ref: '#/components/schemas/Note' },
    };
    const refused = await check(nullable, narrowed, changelog('None.'));
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toContain('breaking: POST /api/v1/orders:');
  }, 60_000);

  it('passes a removal declared with a deprecation at least six months old', async () => {
    const declared = changelog(
      '- `GET /api/v1/orders/{id}`: `legacy_status` removed; read `status`. Deprecated since 2026-01-15.',
    );
    const result = await check(document(), withoutLegacyStatus, declared);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('no undeclared breaking change (1 declared)');
  }, 60_000);

  it('does not take a declaration without a deprecation note, or a deprecation younger than six months', async () => {
    const noNote = await check(
      document(),
      withoutLegacyStatus,
      changelog('- `GET /api/v1/orders/{id}`: `legacy_status` removed.'),
    );
    expect(noNote.code, noNote.output).toBe(1);
    expect(noNote.output).toContain('declared without "Deprecated since YYYY-MM-DD"');
    const today = new Date().toISOString().slice(0, 10);
    const young = await check(
      document(),
      withoutLegacyStatus,
      changelog(`- \`GET /api/v1/orders/{id}\`: \`legacy_status\` removed. Deprecated since ${today}.`),
    );
    expect(young.code, young.output).toBe(1);
    expect(young.output).toContain(`deprecated since ${today}, less than six months ago`);
  }, 60_000);

  describe('the previous openapi.json, from git', () => {
    const repo = join(dir, 'repo');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=ci', '-c', 'user.email=ci@example.kg', ...args], { cwd: repo });
    // As large as the real document (1.3 MB), which once outgrew the buffer git's output was read into.
    const large = (doc: ReturnType<typeof base>) => ({
      ...doc,
      info: { ...doc.info, description: 'x'.repeat(2 ** 21) },
    });
    const commit = (doc: ReturnType<typeof base>, message: string) => {
      writeFileSync(join(repo, 'openapi.json'), JSON.stringify(large(doc)));
      git('add', 'openapi.json');
      git('commit', '-qm', message);
    };

    it('passes when the base commit has none, then compares main with HEAD~1 and a branch with its merge-base', async () => {
      mkdirSync(repo);
      git('init', '-qb', 'main');
      writeFileSync(join(repo, 'README.md'), 'before the contract\n');
      git('add', 'README.md');
      git('commit', '-qm', 'no contract yet');
      commit(document(), 'the contract');
      const first = await run(repo, []);
      expect(first.code, first.output).toBe(0);
      expect(first.output).toContain('no previous openapi.json to compare with');

      git('checkout', '-qb', 'feature');
      writeFileSync(join(repo, 'openapi.json'), JSON.stringify(large(withoutLegacyStatus)));
      const branch = await run(repo, []);
      expect(branch.code, branch.output).toBe(1);
      expect(branch.output).toContain('breaking: GET /api/v1/orders/{id}:');

      git('checkout', '-q', 'main');
      commit(withoutLegacyStatus, 'legacy_status removed');
      const main = await run(repo, []);
      expect(main.code, main.output).toBe(1);
      expect(main.output).toContain('breaking: GET /api/v1/orders/{id}:');
    }, 120_000);
  });
});
