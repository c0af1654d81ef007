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

test('the server SIGKILLed mid-run: the run says what happened, the status bar follows, the next run works', async () => {
  await runAndExpect('echo "before=$((40+2))"', /before=42/);
  await runInSandbox(vs, 'echo "long=$((3*3))"; sleep 300');
  await vs.waitForTerminalText(/long=9/, 120_000);
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

  // The interrupted run names the cause (not "cannot reach … clear agentfense.endpoint").
  const text = await waitFor(
    'the run to say the server stopped',
    async () => (await vs.terminalText()).replace(/\n/g, ''),
    (t) => /server stopped \(killed by SIGKILL\)/.test(t),
    30_000,
  );
  assert.match(text, /Your command was interrupted/);
  assert.doesNotMatch(text, /agentfense\.endpoint/);
  const notes = await waitFor(
    'a notification about it',
    () => vs.notifications(),
    (n) => n.some((t) => /killed by SIGKILL/.test(t)),
    30_000,
  );
  assert.ok(notes.some((t) => /interrupted/.test(t)));
  // The status bar comes back to "connected" once the new server answers (and says so then only).
  await waitFor(
    'the status bar to say connected',
    () => vs.statusBarText(),
    (t) => /AgentFense: connected/.test(t),
    60_000,
  );
  await vs.dismissNotifications();

  await runAndExpect('echo "after=$((50+8))"', /after=58/);
  const restarted = vs.embeddedServers();
  assert.equal(restarted.length, 1, 'exactly one server runs again');
  assert.notEqual(restarted[0].pid, server.pid, 'it is a new process');
});
