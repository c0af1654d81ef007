/**
 * bwrap's command line carries nothing secret (issue 18, L2: "keep bwrap command lines free
 * of anything secret"). /proc/<pid>/cmdline is readable by every local user; at ac72d74 it
 * held the request's environment values (`--setenv NAME VALUE`) and the command text
 * (`/bin/sh -c <command>`), in bwrap and in the sandbox's shell. They now reach bwrap through
 * pipes. As root, what `nobody` reads is checked too.
 *
 *   node scripts/build.mjs && node --import tsx --test test/security/bwrap-cmdline-secrets.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  agentSafeRules,
  bwrapProcesses,
  descendants,
  startServer,
  uploadSecretFixture,
  waitFor,
  type ServerHandle,
} from './lib/harness';
import { isRoot, NOBODY, runAs } from './lib/hostAccess';
import type { Session } from '../../src/generated/sandbox';

const canary = (what: string) => `AFSECRET-${what}-${randomBytes(8).toString('hex')}`;

/** Command lines of the server's bwraps and every process below them, as this process and (as root) as nobody reads them. */
function visibleCommandLines(dataDir: string): string[] {
  const pids = bwrapProcesses()
    .filter((p) => p.cmd.includes(dataDir + '/'))
    .flatMap((p) => [p.pid, ...descendants(p.pid)]);
  const lines = pids.map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      return '';
    }
  });
  if (isRoot)
    lines.push(
      ...runAs(
        NOBODY,
        NOBODY,
        'while read -r p; do tr "\\0" " " < /proc/$p/cmdline; echo; done; exit 0',
        pids.map(String),
      ),
    );
  return lines;
}

describe("bwrap's command line carries no env value and no command text", () => {
  let srv: ServerHandle;
  let sandboxId: string;

  before(async () => {
    srv = await startServer({ extraArgs: ['--cow', 'copy'] });
    const fx = await uploadSecretFixture(srv);
    sandboxId = (await srv.createSandbox(fx.codebaseId, agentSafeRules())).id;
  });

  after(async () => {
    await srv?.stop();
  });

  it('Exec: env values and the command are not in any command line', async () => {
    const env = canary('env');
    const text = canary('cmd');
    // Waits for /tmp/go, so that it is running while the command lines are read.
    const running = srv.exec(sandboxId, `while [ ! -e /tmp/go ]; do sleep 0.05; done; echo "$API_KEY" # ${text}`, {
      env: { API_KEY: env },
    });
    try {
      const lines = await waitFor(
        () => visibleCommandLines(srv.dataDir),
        (l) => l.some((c) => c.includes('sleep')),
      );
      assert.deepEqual(
        lines.filter((c) => c.includes(env) || c.includes(text)),
        [],
      );
    } finally {
      await srv.exec(sandboxId, 'touch /tmp/go');
    }
    const r = await running;
    assert.equal(r.stdout, `${env}\n`, 'the command still got its env');
  });

  it('Session: env values are not in any command line', async () => {
    const env = canary('session');
    const session = await srv.unary<Session>('sandbox', 'createSession', {
      sandboxId,
      shell: '/bin/sh',
      env: { SESSION_KEY: env },
    });
    try {
      const lines = await waitFor(
        () => visibleCommandLines(srv.dataDir),
        (l) => l.length > 0,
      );
      assert.deepEqual(
        lines.filter((c) => c.includes(env)),
        [],
      );
      const r = await srv.sessionExec(session.id, 'echo "$SESSION_KEY"');
      assert.equal(r.stdout.trim(), env);
    } finally {
      await srv.destroySession(session.id);
    }
  });
});
