/**
 * W2 (issue 18): a unary Exec or SessionExec whose client gave up (deadline passed, call
 * cancelled) kills the command's process tree, as ExecStream does. Before, `sleep 777` ran on
 * for minutes after the client's 2 s deadline, holding the sandbox busy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { ExecResult, Session } from '../../src/generated/sandbox';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';
import { serverProcessesWith } from '../helpers/hostProcesses';
import { waitFor } from './lib/harness';

let server: TestServer;
let sandboxId: string;

before(async () => {
  server = await startServer();
  const codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
});
after(async () => {
  await server.stop();
});

const running = (cmdline: string) => serverProcessesWith(server.proc.pid!, cmdline);

/** Resolves with the call's error; the call must fail. */
function failure(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(
    () => assert.fail('the call succeeded'),
    (e: ServiceError) => e,
  );
}

describe('a unary call the client gave up on kills its command', () => {
  it('Exec: a 2 s client deadline on `sleep 777` leaves no sleep behind', async () => {
    const err = await failure(
      new Promise<ExecResult>((resolve, reject) =>
        server.sandboxes.exec(
          { sandboxId, command: 'sleep 7771 & sleep 777', stdin: '', env: {}, workdir: '', timeout: undefined },
          new Metadata(),
          { deadline: Date.now() + 2000 },
          (e, r) => (e ? reject(e) : resolve(r)),
        ),
      ),
    );
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    const left = await waitFor(
      () => [...running('sleep 777'), ...running('sleep 7771')],
      (v) => v.length === 0,
    );
    assert.deepEqual(left, [], 'the command outlived its cancelled call');
    // The sandbox is free again: a new command runs at once.
    assert.equal((await server.exec(sandboxId, 'echo next')).stdout, 'next\n');
  });

  it('Exec: an explicit cancel kills the command too', async () => {
    const c = server.sandboxes.exec(
      { sandboxId, command: 'sleep 779', stdin: '', env: {}, workdir: '', timeout: undefined },
      () => {},
    );
    const started = await waitFor(
      () => running('sleep 779'),
      (v) => v.length > 0,
    );
    assert.ok(started.length > 0, 'the command started');
    c.cancel();
    assert.deepEqual(
      await waitFor(
        () => running('sleep 779'),
        (v) => v.length === 0,
      ),
      [],
    );
  });

  it('SessionExec: a 2 s client deadline kills the command but keeps the session', async () => {
    const s = await call<Session>(server.sandboxes, server.sandboxes.createSession, { sandboxId, shell: '', env: {} });
    await call(server.sandboxes, server.sandboxes.sessionExec, {
      sessionId: s.id,
      command: 'cd /tmp; export KEPT=yes',
      timeout: undefined,
    });
    const err = await failure(
      new Promise<ExecResult>((resolve, reject) =>
        server.sandboxes.sessionExec(
          { sessionId: s.id, command: 'sleep 778', timeout: undefined },
          new Metadata(),
          { deadline: Date.now() + 2000 },
          (e, r) => (e ? reject(e) : resolve(r)),
        ),
      ),
    );
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.deepEqual(
      await waitFor(
        () => running('sleep 778'),
        (v) => v.length === 0,
      ),
      [],
      'the session command outlived its call',
    );
    const r = await call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, {
      sessionId: s.id,
      command: 'pwd; echo $KEPT',
      timeout: undefined,
    });
    assert.equal(r.stdout, '/tmp\nyes\n');
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });
});
