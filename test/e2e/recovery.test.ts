/**
 * The embedded AgentFense server dying mid-session (crash, OOM kill) must not strand the user:
 * the extension notices, starts a new one, and the next run works.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { runInSandbox } from './harness/agentfense';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';
import { isAlive } from './harness/processes';

let vs: Session;
before(async () => {
  vs = await startSession('recovery');
});
after(() => vs?.stop());
afterEach((t) => vs?.screenshotIfFailed(t));

async function runAndExpect(command: string, expected: RegExp): Promise<void> {
  await runInSandbox(vs, command);
  await vs.waitForTerminalText(expected, 120_000);
}

test('after the server is SIGKILLed, the extension restarts it and the next run works', async () => {
  await runAndExpect('echo "before=$((40+2))"', /before=42/);
  const [server] = await waitFor(
    'the embedded server process',
    async () => vs.embeddedServers(),
    (s) => s.length === 1,
    10_000,
  );
  process.kill(server.pid, 'SIGKILL');
  await waitFor(
    `pid ${server.pid} to die`,
    async () => isAlive(server.pid),
    (alive) => !alive,
    10_000,
  );

  await runAndExpect('echo "after=$((50+8))"', /after=58/);
  const restarted = vs.embeddedServers();
  assert.equal(restarted.length, 1, 'exactly one server runs again');
  assert.notEqual(restarted[0].pid, server.pid, 'it is a new process');
});
