/**
 * SessionExecStream as the extension's interactive terminal uses it: several streamed
 * commands in a row share one shell, and a cancelled command (Ctrl+C) is interrupted
 * without closing the session.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/sandbox-session-stream.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { ExecOutput, ExecResult, Session } from '../../src/generated/sandbox';
import { SessionStatus } from '../../src/generated/common';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';
import { serverProcessesWith } from '../helpers/hostProcesses';
import { EXIT_CODE_TRAILER } from '../../src/shared/streamTrailers';

let server: TestServer;
let sandboxId: string;

before(async () => {
  server = await startServer();
  const codebaseId = await server.createCodebase({ 'src/a.txt': 'a\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
});
after(async () => {
  await server.stop();
});

const createSession = () =>
  call<Session>(server.sandboxes, server.sandboxes.createSession, { sandboxId, shell: '', env: {} });
const getSession = (sessionId: string) => call<Session>(server.sandboxes, server.sandboxes.getSession, { sessionId });
const sessionExec = (sessionId: string, command: string) =>
  call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, { sessionId, command, timeout: undefined });

/** A streamed session command read to its end: stdout and the exit code trailer. */
function streamed(sessionId: string, command: string): Promise<{ stdout: string; exitCode?: number }> {
  return new Promise((resolve, reject) => {
    const out = { stdout: '', exitCode: undefined as number | undefined };
    const s = server.sandboxes.sessionExecStream({ sessionId, command, timeout: undefined });
    s.on('data', (o: ExecOutput) => {
      if (o.type === 1) out.stdout += o.data.toString();
    });
    s.on('status', (st: { metadata: Metadata }) => {
      const code = st.metadata.get(EXIT_CODE_TRAILER)[0];
      if (code !== undefined) out.exitCode = Number(code);
    });
    s.on('error', reject);
    s.on('end', () => setImmediate(() => resolve(out)));
  });
}

/** This file's server's processes running exactly `cmdline`; other suites run beside it (see serverProcessesWith). */
const processesWith = (cmdline: string) => serverProcessesWith(server.proc.pid!, cmdline);

const until = async (cond: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 25));
};

describe('SessionExecStream', () => {
  it('two streamed commands in a row share the shell (cd persists)', async () => {
    const s = await createSession();
    const first = await streamed(s.id, 'cd src');
    assert.equal(first.exitCode, 0);
    const second = await streamed(s.id, 'echo "cwd=$(pwd)"');
    assert.equal(second.stdout, 'cwd=/workspace/src\n');
    assert.equal(second.exitCode, 0);
    assert.equal((await getSession(s.id)).status, SessionStatus.SESSION_STATUS_ACTIVE);
  });

  it('a cancelled streamed command is interrupted; the session stays usable with its cwd', async () => {
    const s = await createSession();
    await sessionExec(s.id, 'cd src && export KEPT=yes');
    const stream = server.sandboxes.sessionExecStream({
      sessionId: s.id,
      command: 'echo started; sleep 301',
      timeout: undefined,
    });
    const error = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    await until(() => processesWith('sleep 301').length > 0);
    assert.equal(processesWith('sleep 301').length, 1, 'the command runs');
    stream.cancel();
    assert.equal((await error).code, status.CANCELLED);
    await until(() => processesWith('sleep 301').length === 0);
    assert.deepEqual(processesWith('sleep 301'), [], 'the cancelled command was killed');
    assert.equal((await getSession(s.id)).status, SessionStatus.SESSION_STATUS_ACTIVE);
    const r = await sessionExec(s.id, 'echo "cwd=$(pwd) kept=$KEPT"');
    assert.equal(r.stdout, 'cwd=/workspace/src kept=yes\n');
    // And streaming still works after the cancel.
    assert.equal((await streamed(s.id, 'pwd')).stdout, '/workspace/src\n');
  });
});
