/**
 * The trial sandbox: bwrap with the server's own namespace and mount options, as the sandbox
 * user, running `/bin/sh -c true`. It catches what no sysctl shows: a seccomp filter or an
 * AppArmor/SELinux rule, a container that masks /proc, a limit in an enclosing namespace.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bwrapMountArgs, envArgs } from '../sandbox/runtime/bwrapArgs';
import type { SandboxIdentity } from '../sandbox/sandboxIdentity';

export type TrialOutcome = { ok: true } | { ok: false; exitCode: number | null; output: string };

/** Generous: a loaded 2-core machine starts bwrap in well under a second. */
const TRIAL_TIMEOUT_MS = 20_000;
/** bwrap's message is one line; keep a little more in case a wrapper adds some. */
const OUTPUT_CAP = 4096;

export async function runTrialSandbox(
  bwrap: string,
  identity: SandboxIdentity,
  signal?: AbortSignal,
): Promise<TrialOutcome> {
  // The sandbox user must reach the view and tmp dirs, as for a real sandbox.
  const dir = fs.mkdtempSync(join(tmpdir(), 'agentfense-trial-'));
  try {
    fs.chmodSync(dir, 0o755);
    const view = join(dir, 'view');
    const tmp = join(dir, 'tmp');
    fs.mkdirSync(view, { mode: 0o755 });
    fs.mkdirSync(tmp, { mode: 0o755 });
    const args = [
      ...bwrapMountArgs({ viewDir: view, tmpDir: tmp, layers: [], readOnlyBinds: [] }),
      ...envArgs({}),
      '--chdir',
      '/workspace',
      '/bin/sh',
      '-c',
      'true',
    ];
    return await new Promise<TrialOutcome>((resolve) => {
      const child = spawn(bwrap, args, {
        cwd: '/',
        env: {},
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: TRIAL_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        signal,
        ...(identity.serverIsRoot ? { uid: identity.uid, gid: identity.gid } : {}),
      });
      let output = '';
      const collect = (d: Buffer) => {
        if (output.length < OUTPUT_CAP) output += d.toString('utf8').slice(0, OUTPUT_CAP - output.length);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('error', (e) =>
        resolve({ ok: false, exitCode: null, output: `could not run ${bwrap}: ${e.message}` }),
      );
      child.once('close', (code, sig) => {
        if (code === 0) resolve({ ok: true });
        else if (sig)
          resolve({
            ok: false,
            exitCode: null,
            output: output || `bwrap was killed by ${sig} (no answer within ${TRIAL_TIMEOUT_MS / 1000} s?)`,
          });
        else resolve({ ok: false, exitCode: code, output });
      });
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
