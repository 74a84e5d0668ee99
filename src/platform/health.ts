import { type TEnum, Type } from 'typebox';
import { Problem, sendProblem } from './errors.ts';
import type { App } from './http.ts';
import { Component, Ref } from './schemas.ts';

/**
 * What a process needs to do its job, in the order a failure is named. Each check applies only where it means
 * something: the data directory where the embedded database lives in it, the job queue where this process
 * works jobs.
 */
const CHECKS = {
  database: { code: 'database_unavailable', failure: 'the database is not reachable' },
  data_dir: {
    code: 'data_dir_not_writable',
    failure: 'the data directory is not writable (disk full or read-only)',
  },
  file_storage: {
    code: 'file_storage_not_writable',
    failure: 'file storage is not writable (disk full or read-only)',
  },
  job_queue: {
    code: 'job_queue_not_running',
    failure: 'this process works background jobs and its job queue is not running',
  },
} as const;

export type CheckName = keyof typeof CHECKS;
/** A check passes when its probe resolves within the time limit. */
export type ReadinessProbes = Partial<Record<CheckName, () => Promise<unknown>>>;

/** A probe that hangs (a database that stopped answering) fails rather than holding the probe request. */
const PROBE_TIMEOUT_MS = 2_000;

const CHECK_NAMES = Object.keys(CHECKS) as CheckName[];
const CHECK_STATES: ['ok', 'failed'] = ['ok', 'failed'];
const checkStates = {} as Record<CheckName, TEnum<typeof CHECK_STATES>>;
for (const name of CHECK_NAMES) {
  checkStates[name] = Type.Enum(CHECK_STATES, { description: CHECKS[name].failure });
}
const Checks = Component(
  'ReadinessChecks',
  Type.Partial(Type.Object(checkStates), {
    description: 'Each check that applies to this process; a check’s description says what its failure means',
  }),
);

const Ready = Component('Ready', Type.Object({ status: Type.Literal('ok'), checks: Ref(Checks) }));
const NOT_READY =
  'Not ready: `code` names the first failed check (' +
  CHECK_NAMES.map((name) => `${name}: \`${CHECKS[name].code}\``).join(', ') +
  '), `detail` lists every failure, `checks` gives each state';
const NotReady = Component(
  'NotReady',
  Type.Object({ ...Problem.properties, checks: Ref(Checks) }, { description: NOT_READY }),
);

async function passes(probe: () => Promise<unknown>): Promise<{ ok: true } | { ok: false; err: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { ok: true };
  } catch (err) {
    return { ok: false, err };
  } finally {
    clearTimeout(timer);
  }
}

const Live = Component('Live', Type.Object({ status: Type.Literal('ok') }));

export function registerHealth(app: App, probes: ReadinessProbes) {
  app.get(
    '/health/live',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        operationId: 'getLiveness',
        summary: 'Whether the process runs',
        description:
          'Answers while the process runs, without looking at the database or anything else: for a liveness probe.',
        response: { 200: Ref(Live) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/health/ready',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        operationId: 'getReadiness',
        summary: 'Whether the process can serve: its database, storage and job queue',
        description:
          'Whether this process can do its job: the database answers, the data directory and file storage ' +
          'take writes, and the job queue runs where this process works jobs. 503 names what failed.',
        response: {
          200: Ref(Ready),
          503: {
            description: NOT_READY,
            content: { 'application/problem+json': { schema: Ref(NotReady) } },
          },
        },
      },
    },
    async (request, reply) => {
      const names = CHECK_NAMES.filter((name) => probes[name]);
      const results = await Promise.all(names.map((name) => passes(probes[name]!)));
      const checks: Partial<Record<CheckName, (typeof CHECK_STATES)[number]>> = {};
      const failed: CheckName[] = [];
      names.forEach((name, i) => {
        const result = results[i]!;
        checks[name] = result.ok ? 'ok' : 'failed';
        if (!result.ok) {
          failed.push(name);
          request.log.warn({ err: result.err, check: name }, 'readiness check failed');
        }
      });
      if (failed.length === 0) return { status: 'ok' as const, checks };
      return sendProblem(
        request,
        reply,
        {
          status: 503,
          code: CHECKS[failed[0]!].code,
          detail: `not ready: ${failed.map((name) => CHECKS[name].failure).join('; ')}`,
        },
        { checks },
      );
    },
  );
}
