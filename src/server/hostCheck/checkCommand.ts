/**
 * `node dist/server.js --check [--json]`: the host check for a person (✓/✗ per check, each
 * failure with its cause and fix) or for a program (the Readiness as JSON, which the
 * extension's "Check Environment" shows). Exit code 0 when sandboxes can run, 1 when not.
 */
import { assessHost, dockerEngineCheck, type DockerEngineFact, type Readiness } from '../../shared/hostReadiness';
import { DockerEngine, dockerSocketPath } from '../sandbox/docker/dockerEngine';
import type { Fix } from '../../shared/hostFixes';
import { sandboxIdentity } from '../sandbox/sandboxIdentity';
import { UsageError } from '../serverOptions';
import { gatherHostFacts } from './hostFacts';

export interface CheckOptions {
  json: boolean;
  sandboxUid?: number;
  dockerHost?: string;
}

/**
 * The flags --check accepts: --json, --sandbox-uid to check as the uid a root server would use,
 * and --docker-host for the engine of Docker sandboxes.
 */
export function parseCheckOptions(argv: readonly string[]): CheckOptions {
  const o: CheckOptions = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') continue;
    if (arg === '--json') o.json = true;
    else if (arg === '--sandbox-uid' || arg.startsWith('--sandbox-uid=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const uid = Number(value);
      if (value === undefined || !Number.isInteger(uid) || uid <= 0 || uid >= 2 ** 32 - 1)
        throw new UsageError('--sandbox-uid must be a positive integer');
      o.sandboxUid = uid;
    } else if (arg === '--docker-host' || arg.startsWith('--docker-host=')) {
      o.dockerHost = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!o.dockerHost) throw new UsageError('--docker-host needs a value');
    } else throw new UsageError(`--check takes only --json, --sandbox-uid and --docker-host; got ${arg}`);
  }
  return o;
}

const MARK = { pass: '✓', fail: '✗', skip: '-' } as const;

function fixText(fix: Fix, indent: string): string[] {
  const lines = [`${indent}Fix: ${fix.summary}`];
  for (const s of fix.steps) {
    lines.push(`${indent}  ${s.say}`);
    if (s.file && !s.run)
      lines.push(
        ...s.file.content
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `${indent}      ${l}`),
      );
    if (s.run) lines.push(`${indent}    ${s.run}`);
  }
  return lines;
}

export function formatReadinessText(r: Readiness): string {
  const lines: string[] = [];
  for (const c of r.checks) {
    lines.push(`${MARK[c.status]} ${c.title}: ${c.detail}`);
    if (c.status !== 'fail') continue;
    if (c.cause) lines.push(`    ${c.cause}`);
    const same = c.sameFixAs && r.checks.find((o) => o.id === c.sameFixAs);
    if (same) lines.push(`    Fix: the fix of "${same.title}" above.`);
    else if (c.fix) lines.push(...fixText(c.fix, '    '));
  }
  lines.push(
    r.ready
      ? 'This host can run sandboxes.'
      : 'This host cannot run sandboxes: fix the ✗ checks above, then run --check again.',
  );
  return lines.join('\n') + '\n';
}

async function dockerEngineFact(host: string | undefined): Promise<DockerEngineFact> {
  let socket = host ?? '';
  try {
    socket = dockerSocketPath(host);
    const facts = await new DockerEngine(socket).facts();
    return { socket, version: facts.version, storageDriver: facts.storageDriver };
  } catch (err) {
    return { socket, error: err instanceof Error ? err.message.split('. ')[0]! : String(err) };
  }
}

export async function runCheckCommand(o: CheckOptions): Promise<number> {
  const [facts, docker] = await Promise.all([
    gatherHostFacts(sandboxIdentity(o.sandboxUid)),
    dockerEngineFact(o.dockerHost ?? process.env.DOCKER_HOST),
  ]);
  const host = assessHost(facts);
  const r: Readiness = { ...host, checks: [...host.checks, dockerEngineCheck(docker)] };
  const text = o.json ? JSON.stringify(r, null, 2) + '\n' : formatReadinessText(r);
  await new Promise<void>((done) => process.stdout.write(text, () => done()));
  return r.ready ? 0 : 1;
}
