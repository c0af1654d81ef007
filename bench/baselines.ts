/**
 * What the server's figures are compared with, measured in the same run on the same
 * machine: spawning the sandbox tool directly from Node (no gRPC, no server bookkeeping)
 * and spawning a plain shell. The spawn mirrors how a server spawns a command: pipes for
 * stdout/stderr, collected until the process closes them. Timed baselines are spawned from
 * a lean Node process (bareSpawnRunner.cjs), not from the bench process itself.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface SpawnResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user (the server runs sandboxes as an unprivileged uid when it is root). */
  uid?: number;
  gid?: number;
}

/** Spawns `argv` with piped output and resolves when it has exited and closed its pipes. */
export function spawnCollect(argv: readonly string[], opts: SpawnOptions = {}): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      uid: opts.uid,
      gid: opts.gid,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // the command may exit without reading it (EPIPE)
      child.stdin!.end(opts.input);
    }
  });
}

/** As spawnCollect, but rejects on a non-zero exit, so a broken baseline cannot look fast. */
export async function spawnChecked(argv: readonly string[], opts: SpawnOptions = {}): Promise<SpawnResult> {
  const r = await spawnCollect(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.slice(0, 3).join(' ')}… exited ${r.code}: ${r.stderr.slice(0, 500)}`);
  return r;
}

export const PLAIN_SHELL_TRUE = ['/bin/sh', '-c', 'true'] as const;

const RUNNER = join(__dirname, 'bareSpawnRunner.cjs');

/**
 * `n` sequential spawns of `argv` from a small, fresh Node process (see bareSpawnRunner.cjs):
 * ms of each successful one, and the error of each failed one.
 */
export async function spawnSamplesFromLeanNode(
  argv: readonly string[],
  options: SpawnOptions,
  n: number,
): Promise<{ samples: number[]; errors: string[] }> {
  const r = await spawnChecked([process.execPath, RUNNER, JSON.stringify({ argv, options, mode: 'sequential', n })]);
  return JSON.parse(r.stdout) as { samples: number[]; errors: string[] };
}

/** `concurrency` back-to-back spawners for `durationMs`, from a small, fresh Node process. */
export async function spawnThroughputFromLeanNode(
  argv: readonly string[],
  options: SpawnOptions,
  concurrency: number,
  durationMs: number,
): Promise<{ calls: number; elapsedMs: number; perSecond: number; errors: number }> {
  const r = await spawnChecked([
    process.execPath,
    RUNNER,
    JSON.stringify({ argv, options, mode: 'throughput', concurrency, durationMs }),
  ]);
  return JSON.parse(r.stdout);
}
