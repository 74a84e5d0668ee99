/**
 * `npm run api:breaking`: fails when `openapi.json` breaks what the previous version of main promised and
 * CHANGELOG.md does not declare it (README.md, "Versioning and deprecation").
 *
 * The previous version is `openapi.json` at the base commit: `HEAD~1` on main (or on a detached HEAD, as a
 * clone of main checks out), the merge-base with main on any other branch; with no such file there is
 * nothing to break. `--before`, `--after` and `--changelog` name the files to compare instead.
 *
 * api-smart-diff classifies each change to an `/api` route. Two kinds it calls safe are breaking here: a
 * removed property of any schema (a request with it is refused, as bodies take no unknown property; an app
 * reading it from an answer finds nothing), and a request body that becomes required where there was none.
 *
 * A breaking change is declared by a bullet under `## Unreleased` → `### Breaking` in CHANGELOG.md that starts
 * with the operation in a code span (`` `DELETE /api/v1/me` ``) and says `Deprecated since YYYY-MM-DD`, a day
 * at least six months back: the bullet declares every breaking change of that operation.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dereference } from '@apidevtools/json-schema-ref-parser';
import { apiCompare, type Diff } from 'api-smart-diff';

const SIX_MONTHS_MS = 182 * 86_400_000;
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

interface Change {
  /** `METHOD /path` for an operation's change, else the document's top-level key. */
  subject: string;
  description: string;
}

type Document = { paths?: Record<string, Record<string, { parameters?: unknown[] }>> };

/** git's output; it throws when git fails. The document is over a megabyte, execFileSync's default buffer. */
const gitOutput = (...args: string[]) =>
  execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 });

/** git's output, or undefined when git says no (no such commit, no such file). */
function git(...args: string[]): string | undefined {
  try {
    return gitOutput(...args).trim();
  } catch {
    return undefined;
  }
}

/** The commit whose `openapi.json` this one must not break, or undefined when there is none. */
function baseCommit(): string | undefined {
  const branch = git('rev-parse', '--abbrev-ref', 'HEAD');
  if (branch === 'main' || branch === 'HEAD') return git('rev-parse', '--verify', '--quiet', 'HEAD~1');
  return git('merge-base', 'HEAD', 'main');
}

/**
 * Every operation with its `parameters`, empty where it has none: api-smart-diff reports a parameter added to
 * an existing list one by one, but a list that appears whole as a mere addition, a required one in it too.
 */
function withParameterLists(document: Document): Document {
  const copy = structuredClone(document);
  for (const item of Object.values(copy.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (METHODS.has(method)) operation.parameters ??= [];
    }
  }
  return copy;
}

/**
 * Under an error response (4xx, 5xx): what the document says of problems. An app handles a problem by its
 * status and treats a `code` it does not know as that status (README, "Versioning and deprecation"), so a
 * listed code more or less, or a problem response the server never sent taken out, breaks no app.
 */
const isProblemAnswer = (path: Diff['path']) => {
  const at = path.indexOf('responses');
  return at !== -1 && /^[45]\d\d$/.test(String(path[at + 1]));
};

function isBreaking(diff: Diff): boolean {
  if (isProblemAnswer(diff.path)) return false;
  if (diff.type === 'breaking') return true;
  const [last, parent] = [diff.path.at(-1), diff.path.at(-2)];
  if (diff.action === 'remove' && parent === 'properties') return true;
  return (
    diff.action === 'add' &&
    last === 'requestBody' &&
    (diff.after as { required?: boolean }).required === true
  );
}

function subjectOf(path: Diff['path']): string {
  const [root, route, method] = path;
  if (root === 'paths' && typeof method === 'string' && METHODS.has(method)) {
    return `${method.toUpperCase()} ${route}`;
  }
  return root === 'paths' ? `${route}` : String(root);
}

/**
 * The document with every `$ref` replaced by what it names. api-smart-diff resolves a `$ref` into an `allOf`
 * of one, so a shape moved into a named schema, the same shape, read as its type definition removed.
 */
const resolved = async (document: object) =>
  (await dereference(structuredClone(document), {
    resolve: { external: false },
    dereference: { circular: 'ignore' },
  })) as Document;

/**
 * Every schema that may be null written one way: `{ type: ['object', 'null'], ... }` as
 * `{ anyOf: [{ type: 'object', ... }, { type: 'null' }] }`, the form a named schema takes when it may be null.
 * The two mean the same; api-smart-diff would read the change from one to the other as a type replaced.
 */
function nullableAsAnyOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableAsAnyOf);
  if (typeof node !== 'object' || node === null) return node;
  const entries = Object.entries(node).map(([key, value]) => [key, nullableAsAnyOf(value)] as const);
  const schema = Object.fromEntries(entries) as Record<string, unknown>;
  const { type, ...rest } = schema;
  if (!Array.isArray(type) || type.length !== 2 || !type.includes('null')) return schema;
  return { anyOf: [{ ...rest, type: type.find((t) => t !== 'null') }, { type: 'null' }] };
}

/**
 * The breaking changes from `before` to `after` to what `/api` promises, one per change; the operators'
 * routes (`/health`, `/metrics`) are not part of it. Schemas under `components` are compared where they are
 * used, so their own entries would only repeat those.
 */
async function breakingChanges(before: object, after: object): Promise<Change[]> {
  const [from, to] = await Promise.all([resolved(before), resolved(after)]);
  const normal = (document: Document) => withParameterLists(nullableAsAnyOf(document) as Document);
  const { diffs } = apiCompare(normal(from), normal(to));
  return diffs
    .filter(
      (diff) => diff.path[0] === 'paths' && String(diff.path[1]).startsWith('/api/') && isBreaking(diff),
    )
    .map((diff) => ({
      subject: subjectOf(diff.path),
      description: diff.description ?? `${diff.action} ${diff.path.join('.')}`,
    }));
}

/** The bullets of `## Unreleased` → `### Breaking`, each with the subject its first code span names. */
function declarations(changelog: string) {
  // An example in a fenced block declares nothing.
  const prose = changelog.replace(/^```[\s\S]*?^```/gm, '');
  const unreleased = prose.split(/^## /m).find((section) => /^Unreleased\s*$/m.test(section.split('\n')[0]!));
  const breaking = unreleased?.split(/^### /m).find((part) => /^Breaking\s*$/.test(part.split('\n')[0]!));
  if (!breaking) return [];
  return breaking
    .split(/^- /m)
    .slice(1)
    .map((bullet) => ({
      subject: /^`([^`]+)`/.exec(bullet)?.[1],
      deprecatedSince: /Deprecated since (\d{4}-\d{2}-\d{2})/.exec(bullet)?.[1],
    }));
}

/** Why the changelog does not declare the changes of `subject`, or undefined when it does. */
function undeclaredReason(subject: string, changelog: string, now: Date): string | undefined {
  const declared = declarations(changelog).filter((d) => d.subject === subject);
  if (declared.length === 0) return 'not declared under "## Unreleased" → "### Breaking" in CHANGELOG.md';
  const since = declared.map((d) => d.deprecatedSince).find(Boolean);
  if (!since) return 'declared without "Deprecated since YYYY-MM-DD"';
  if (now.getTime() - Date.parse(since) < SIX_MONTHS_MS) {
    return `deprecated since ${since}, less than six months ago`;
  }
  return undefined;
}

function readBefore(path: string | undefined): object | undefined {
  if (path) return JSON.parse(readFileSync(path, 'utf8'));
  const base = baseCommit();
  if (!base || git('cat-file', '-e', `${base}:openapi.json`) === undefined) return undefined;
  // There is a previous document: failing to read it is an error, never a pass.
  return JSON.parse(gitOutput('show', `${base}:openapi.json`));
}

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: 'openapi.json' },
    changelog: { type: 'string', default: 'CHANGELOG.md' },
  },
});
const before = readBefore(values.before);
if (!before) {
  console.log('no previous openapi.json to compare with: nothing can break');
} else {
  const after = JSON.parse(readFileSync(values.after, 'utf8'));
  let changelog = '';
  try {
    changelog = readFileSync(values.changelog, 'utf8');
  } catch {
    changelog = '';
  }
  const changes = await breakingChanges(before, after);
  const undeclared = changes.flatMap((change) => {
    const reason = undeclaredReason(change.subject, changelog, new Date());
    return reason ? [{ ...change, reason }] : [];
  });
  for (const { subject, description, reason } of undeclared) {
    console.error(`breaking: ${subject}: ${description} (${reason})`);
  }
  if (undeclared.length > 0) {
    console.error(
      `${undeclared.length} breaking change(s) not declared; README.md, "Versioning and deprecation", says how`,
    );
    process.exit(1);
  }
  console.log(`no undeclared breaking change (${changes.length} declared)`);
}
