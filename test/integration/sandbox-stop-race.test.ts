/**
 * Kills racing bwrap's start-up. CreateSession racing StopSandbox / DestroySandbox: each
 * session is either refused (FAILED_PRECONDITION / NOT_FOUND) or closed by the stop; no shell
 * outlives its sandbox. ExecStream cancelled as it starts: a kill that lands while bwrap is
 * still cloning its namespace init must not leave that init (and the command) running as an
 * orphan, which would also hold the command's pipes open and so hang the call's end and any
 * stop waiting for it.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/sandbox-stop-race.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parentOf, processesMatching, stateOf } from '../helpers/hostProcesses';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Session } from '../../src/generated/sandbox';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';
import { settle } from '../helpers/waitFor';

let server: TestServer;
let codebaseId: string;

before(async () => {
  server = await startServer();
  codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
});
after(async () => {
  await server.stop();
});

/** Host processes whose command line mentions the sandbox (its mounts live under its dir). */
function processesOf(sandboxId: string): string[] {
  return processesMatching(sandboxId).map(
    (p) => `${p.pid} (state ${stateOf(p.pid)}, parent ${parentOf(p.pid)}): ${p.cmd.slice(0, 100)}`,
  );
}

describe('sessions racing a stop', () => {
  for (const op of ['stopSandbox', 'destroySandbox'] as const) {
    it(`CreateSession concurrent with ${op} leaves no shell behind`, async () => {
      for (let round = 0; round < 6; round++) {
        const sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
        // A codebase change makes the first session remount the sandbox first: that keeps
        // CreateSession busy long enough for the stop to begin meanwhile.
        await server.upload(codebaseId, 'a.txt', `round ${round} of ${op}\n`);
        const sessions = Array.from({ length: 4 }, () =>
          call<Session>(server.sandboxes, server.sandboxes.createSession, { sandboxId, shell: '', env: {} }),
        );
        const stopped = call(server.sandboxes, server.sandboxes[op], { sandboxId });
        const results = await Promise.allSettled([...sessions, stopped]);
        assert.equal(results[4]!.status, 'fulfilled', `${op} succeeded`);
        for (const r of results.slice(0, 4)) {
          if (r.status === 'rejected') {
            const e = r.reason as ServiceError;
            assert.ok(
              [status.FAILED_PRECONDITION, status.NOT_FOUND].includes(e.code),
              `refused session: ${e.code} ${e.details}`,
            );
          }
        }
        const left = await settle(
          () => processesOf(sandboxId),
          (ps) => ps.length === 0,
        );
        assert.deepEqual(left, [], `round ${round}: processes of ${sandboxId} survived ${op}`);
        if (op === 'stopSandbox') await call(server.sandboxes, server.sandboxes.destroySandbox, { sandboxId });
      }
    });
  }
});

describe('ExecStream cancelled as it starts', () => {
  it('no orphan survives, and the sandbox still stops at once', async () => {
    const sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
    for (let round = 0; round < 60; round++) {
      const stream = server.sandboxes.execStream({
        sandboxId,
        command: 'sleep 300',
        stdin: '',
        env: {},
        workdir: '',
        timeout: undefined,
      });
      stream.on('error', () => {});
      // Cancel after a varying few milliseconds: somewhere around bwrap's clone.
      await new Promise((r) => setTimeout(r, round % 6));
      stream.cancel();
    }
    const orphans = () => processesOf(sandboxId).filter((p) => p.includes(', parent 1)'));
    assert.deepEqual(await settle(orphans, (ps) => ps.length === 0), [], 'orphaned sandbox processes');
    const started = Date.now();
    await call(server.sandboxes, server.sandboxes.stopSandbox, { sandboxId });
    // "At once": not held up by a leftover from the cancelled starts (that hung for minutes); the
    // bound is loose because a loaded CI machine makes even a clean stop take seconds.
    assert.ok(Date.now() - started < 20_000, `stop took ${Date.now() - started} ms`);
  });
});
