/**
 * Running things in the sandbox the ways a person would: a one-off command from the command
 * palette, the workspace's `agentfense` task, and the interactive sandbox terminal.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { useAsActivePreset, runInSandbox, exitLine } from './harness/agentfense';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';
import { AS_ROOT } from '../helpers/privileges';

let vs: Session;
before(async () => {
  vs = await startSession('run-command');
});
after(() => vs?.stop());
afterEach((t) => vs?.screenshotIfFailed(t));

test('Run Command in Sandbox under agent-safe: the listing lacks .env, cat .env fails, exit code shown', async () => {
  await useAsActivePreset(vs, 'agent-safe');
  await runInSandbox(vs, 'ls -a; cat .env');
  const text = await vs.waitForTerminalText(exitLine(1), 120_000);
  assert.match(
    text,
    /cat: \.?\/?(workspace\/)?\.env: No such file or directory/,
    'cat .env fails because .env is not there',
  );
  // The listing: every terminal word except the echoed command line and cat's error.
  const listing = text
    .split('\n')
    .filter((line) => !line.includes('cat .env') && !line.includes('cat: '))
    .flatMap((line) => line.trim().split(/\s+/));
  for (const name of ['.gitignore', 'package.json', 'src', 'test'])
    assert.ok(listing.includes(name), `ls -a shows ${name}: ${text}`);
  assert.ok(!listing.includes('.env'), `ls -a must not show .env: ${text}`);
  assert.doesNotMatch(text, /fake-secret-for-tests/);
  await vs.saveScreenshot('run-command');
});

test('the terminal header names the sandbox and the limits that hold in it', async () => {
  // A command with no output, so the header is still on screen when it ends.
  await runInSandbox(vs, 'true');
  const text = await vs.waitForTerminalText(exitLine(0), 120_000);
  // As root, the server's default limits; where cgroups are not delegated to the user, none
  // (the server logs that it could not apply them). Rows joined: a narrow terminal wraps.
  assert.match(
    text.replace(/\n/g, ''),
    AS_ROOT
      ? /\[agent-safe · sandbox \S+ · \/workspace · memory [\d.]+ GB · \d+ processes · [\d.]+ CPUs?\]/
      : /\[agent-safe · sandbox \S+ · \/workspace · no limits\]/,
  );
});

test('the agentfense task from tasks.json runs through Tasks: Run Task and reports its exit code', async () => {
  await vs.runCommand('Tasks: Run Task');
  await vs.pickQuickItem('AgentFense: test', 60_000);
  // npm test in the sample workspace has one passing and one failing test, so npm exits 1.
  // (Waiting for the test summary too: the previous test's terminal also ended with [exit 1].)
  const text = await vs.waitForTerminalText(new RegExp(`# fail 1[\\s\\S]*${exitLine(1).source}`), 180_000);
  assert.match(text, /# pass 1/);
  // A task that ran and failed reads as a failure, never as a launch error.
  const notes = await waitFor(
    'a notification that the task failed',
    () => vs.notifications(),
    (n) => n.some((t) => /Task "[^"]*test" failed \(exit 1\)/.test(t)),
    30_000,
  );
  assert.ok(!notes.some((t) => /failed to launch/.test(t)), `no launch error: ${notes.join(' | ')}`);
  await vs.saveScreenshot('task-run');
});

test('Run Tests: the failing test reaches the Problems panel and a notification says the tests failed', async () => {
  await vs.dismissNotifications();
  await vs.runCommand('AgentFense: Run Tests in Sandbox');
  await vs.waitForTerminalText(new RegExp(`# fail 1[\\s\\S]*${exitLine(1).source}`), 180_000);
  const notes = await waitFor(
    'a notification that the tests failed',
    () => vs.notifications(),
    (n) => n.some((t) => /Tests failed \(exit 1\)/.test(t)),
    30_000,
  );
  assert.ok(
    notes.some((t) => /math\.test\.js/.test(t)),
    `the notification names the file: ${notes.join(' | ')}`,
  );
  const problems = await waitFor(
    'the failing test in the Problems panel',
    () => vs.problems(),
    (t) => /divide refuses to divide by zero/.test(t),
    30_000,
  );
  assert.match(problems, /math\.test\.js/);
  await vs.dismissNotifications();
});

test('the interactive sandbox terminal keeps cd between commands', async () => {
  await vs.runCommand('AgentFense: Open Sandbox Terminal');
  await vs.typeInTerminal('cd src');
  // A computed marker, so the echo of what was typed cannot satisfy the wait.
  await vs.typeInTerminal('echo "cwd=$(pwd) n=$((20+22))"');
  const text = await vs.waitForTerminalText(/cwd=\S*\/src n=42/, 60_000);
  assert.match(text, /cwd=\S*\/src n=42/);
  // The prompt follows the session's directory, which the server reports after each command.
  await vs.waitForTerminalText(/:\/workspace\/src\$/, 30_000);
  await vs.typeInTerminal('ls');
  await vs.waitForTerminalText(/math\.js/, 30_000);
  await vs.saveScreenshot('sandbox-terminal');
});

test('Ctrl+C in the sandbox terminal stops the foreground loop and the session goes on', async () => {
  // The session of the previous test: its terminal still has the focus.
  await vs.typeInTerminal('for i in $(seq 1 100); do echo tick $i; sleep 1; done');
  await vs.waitForTerminalText(/tick 2/, 60_000);
  await vs.page.keyboard.press('Control+C');
  // Computed markers: the echo of the typed line cannot satisfy the waits.
  await vs.typeInTerminal('echo "after=$((6*7))"');
  await vs.waitForTerminalText(/after=42/, 30_000);
  await vs.typeInTerminal('echo "again=$((5*5))"');
  const text = await vs.waitForTerminalText(/again=25/, 30_000);
  assert.doesNotMatch(text, /session ended|is closed/i);
  // The loop really stopped: no tick printed after the interrupt.
  assert.doesNotMatch(text.slice(text.indexOf('after=42')), /tick \d+/);
});

test('the sandbox terminal is a real terminal: its size follows the panel, job control, a REPL, vim', async () => {
  // The session of the previous tests. `stty size` prints the pty's rows and columns.
  await vs.typeInTerminal('echo "size=$(stty size | tr " " x)"');
  const before = await vs.waitForTerminalText(/size=\d+x\d+/, 30_000);
  const sizeBefore = /size=(\d+x\d+)/.exec(before)![1];
  await vs.page.setViewportSize({ width: 1000, height: 700 });
  await vs.typeInTerminal('clear; echo "size=$(stty size | tr " " x)"');
  const after = await waitFor(
    'a new size after the window shrank',
    () => vs.terminalText(),
    (t) => /size=\d+x\d+/.test(t) && /size=(\d+x\d+)/.exec(t)![1] !== sizeBefore,
    30_000,
  );
  assert.notEqual(/size=(\d+x\d+)/.exec(after)![1], sizeBefore, 'stty size follows the terminal panel');

  await vs.typeInTerminal('clear; sleep 300 & jobs');
  await vs.waitForTerminalText(/\[1\]\+\s+Running\s+sleep 300 &/, 30_000);
  await vs.typeInTerminal('kill %1');

  await vs.typeInTerminal('clear; python3 -q');
  await vs.waitForTerminalText(/>>>/, 30_000);
  await vs.typeInTerminal('print("repl", 6 * 7)');
  await vs.waitForTerminalText(/repl 42/, 30_000);
  await vs.typeInTerminal('exit()');

  // A full-screen editor writes a file (under agent-safe, /workspace is read-only; /tmp is not).
  // (A visible notification toast would take the Escape key.)
  await vs.dismissNotifications();
  await vs.typeInTerminal('clear; vim -u NONE -N /tmp/from-vim.txt');
  await vs.waitForTerminalText(/from-vim\.txt/, 30_000);
  await vs.page.keyboard.type('ihello from vim', { delay: 10 });
  await vs.page.keyboard.press('Escape');
  // vim waits a moment to tell a lone Escape from the start of a key code.
  await waitFor(
    'vim to leave insert mode',
    () => vs.terminalText(),
    (t) => !t.includes('-- INSERT --'),
    10_000,
  );
  await vs.page.keyboard.type(':wq', { delay: 10 });
  await vs.page.keyboard.press('Enter');
  await vs.typeInTerminal('clear; echo "content=$(cat /tmp/from-vim.txt)"');
  await vs.waitForTerminalText(/content=hello from vim/, 30_000);
  await vs.saveScreenshot('sandbox-terminal-pty');
});
